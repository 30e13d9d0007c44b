export * from './types';
export * from './load';
export * from './duration';
export * from './ticket';
export * from './evaluate';

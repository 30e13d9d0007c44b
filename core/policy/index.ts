export * from './types';
export * from './validate';
export * from './duration';
export * from './ticket';
export * from './evaluate';

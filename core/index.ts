export * from './model';
export * from './errors';
export * from './ports';
export * from './api';
export * from './policy/types';
export * from './services/types';
export * from './kpi';

export * from './descent.js';
export * from './experiments.js';
export * from './model.js';
export * from './numeric.js';
export * from './run.js';
export * from './sampled.js';
export * from './vec.js';

export * from './binary.js';
export * from './bits.js';
export * from './float.js';
export * from './run.js';
export * from './tensor.js';
export * from './transform.js';

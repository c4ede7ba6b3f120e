export * from './augment.js';
export * from './batches.js';
export * from './dataset.js';
export * from './fashion-mnist.js';
export * from './idx.js';
export * from './mnist.js';
export * from './registry.js';
export * from './tensors.js';

/**
 * lowbit: binarized and low-bit quantized neural networks for TensorFlow.js.
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import * as lq from 'lowbit';
 * ```
 */
export * as constraints from './constraints/index.js';
export * as context from './context/index.js';
export * from './errors.js';
export * as layers from './layers/index.js';
export * as math from './math/index.js';
export * as quantizers from './quantizers/index.js';
export { setWarningHandler, type WarnFn } from './util/log.js';

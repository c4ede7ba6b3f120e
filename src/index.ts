/**
 * lowbit: binarized and low-bit quantized neural networks for TensorFlow.js.
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import * as lq from 'lowbit';
 * ```
 */
export * from './errors.js';

/**
 * lowbit: binarized and low-bit quantized neural networks for TensorFlow.js.
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import * as lq from 'lowbit';
 * ```
 *
 * Importing lowbit registers, on the user's own tfjs-core instance: the wasm backend's missing
 * training kernels and speed fixes, constraint enforcement during `model.fit`, file:// model
 * routers in Node, and every quantizer and quantized layer class for model loading.
 */
import { convert } from './engine/convert/index.js';
import * as engineRuntime from './engine/index.js';

export * as activations from './activations/index.js';
export * as backend from './backend/index.js';
export * as callbacks from './callbacks/index.js';
export * as constraints from './constraints/index.js';
export * as context from './context/index.js';
export * as data from './data/index.js';
export {
  ConfigError,
  type ConfigErrorArgs,
  FormatError,
  type FormatErrorArgs,
  LowbitError,
  ShapeError,
  type ShapeErrorArgs,
  UnsupportedError,
} from './errors.js';
/**
 * The bitpacked inference engine (`lowbit/engine`, no tfjs at run time) plus its converter from
 * trained tfjs models: `const { bytes } = lq.engine.convert(model); const net = await lq.engine.load(bytes);`
 */
export const engine = { ...engineRuntime, convert };
export * as io from './io/index.js';
export * as layers from './layers/index.js';
export * as math from './math/index.js';
export * as metrics from './metrics/index.js';
export * as optimizers from './optimizers/index.js';
export * as plot from './plot/index.js';
export * as quantizers from './quantizers/index.js';
export * as study from './study/index.js';
export * as models from './summary/index.js';
export * as train from './train/index.js';
export { setWarningHandler, type WarnFn } from './util/log.js';
export * as zoo from './zoo/index.js';

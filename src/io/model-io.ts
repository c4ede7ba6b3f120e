/**
 * One-call helpers to save a layers model to a directory and load it back (Node).
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type FileSystemSaveResult, fileSystem } from './file-system.js';

/**
 * Saves a layers model to `dir` as model.json + weights.bin (TensorFlow.js's format), atomically.
 * Same as `model.save(lq.io.fileSystem(dir), config)`.
 *
 * @param model The model to save (Sequential or functional, with any registered layers).
 * @param dir The directory; created if missing. Existing model files in it are replaced atomically.
 * @param config tfjs's save options, e.g. `{ includeOptimizer: true }` for a training checkpoint.
 * @example
 * ```ts
 * const { weightsSha256 } = await lq.io.saveModel(model, 'out/mnist');
 * ```
 */
export async function saveModel(
  model: tfl.LayersModel,
  dir: string,
  config?: tf.io.SaveConfig,
): Promise<FileSystemSaveResult> {
  return (await model.save(fileSystem(dir), config)) as FileSystemSaveResult;
}

/**
 * Loads a layers model saved with {@link saveModel} (or by tfjs-node, or converted by
 * `tensorflowjs_converter` into a directory). Files are validated before allocation; a corrupt one
 * gets a FormatError naming it. Layers registered with tfjs serialization (lowbit's included) resolve
 * by class name.
 *
 * @param path The model directory, or the path of its model.json.
 * @param options tfjs's load options, e.g. `{ strict: false }`.
 * @example
 * ```ts
 * const model = await lq.io.loadModel('out/mnist');
 * ```
 */
export function loadModel(path: string, options?: tf.io.LoadOptions): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(fileSystem(path), options);
}

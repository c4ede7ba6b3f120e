/**
 * Conversion of typed-array data to tfjs tensors for `model.fit` / `model.evaluate`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { type Batch, type BatchOptions, batches } from './batches.js';
import type { DataSplit } from './dataset.js';

/** Options of {@link toTensors}. */
export interface ToTensorsOptions {
  /**
   * Label encoding: `'sparse'` (default) gives class indices of shape [n], for
   * `sparseCategoricalCrossentropy`; `'onehot'` gives shape [n, numClasses], for
   * `categoricalCrossentropy`. Both are float32: tfjs-layers 4.22's sparse cross-entropy floors
   * its labels, which rejects int32 tensors.
   */
  labels?: 'sparse' | 'onehot';
  /** Number of classes for `'onehot'` (default 10). */
  numClasses?: number;
}

/**
 * Turns a split or a batch into tensors: `x` float32 `[n, height, width, channels]` and `y` as
 * chosen by `options.labels`. The caller owns (and disposes) the tensors.
 *
 * @example
 * ```ts
 * const ds = await lq.data.mnist();
 * const { x, y } = lq.data.toTensors(ds.train);
 * await model.fit(x, y, { batchSize: 64, epochs: 6 });
 * tf.dispose([x, y]);
 * ```
 */
export function toTensors(
  data: DataSplit | Batch,
  options: ToTensorsOptions = {},
): { x: tf.Tensor4D; y: tf.Tensor1D | tf.Tensor2D } {
  const { labels = 'sparse', numClasses = 10 } = options;
  if (labels !== 'sparse' && labels !== 'onehot') {
    throw new ConfigError({
      where: 'toTensors option labels',
      received: labels,
      expected: ['sparse', 'onehot'],
    });
  }
  const x = tf.tensor4d(data.x, data.xShape, 'float32');
  if (labels === 'sparse') return { x, y: tf.tensor1d(Float32Array.from(data.y), 'float32') };
  const y = tf.tidy(
    () =>
      tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(data.y), 'int32'), numClasses), 'float32') as tf.Tensor2D,
  );
  return { x, y };
}

/**
 * Seeded batches of a split as tensors, for custom training loops: each step yields `{x, y}` as
 * {@link toTensors} makes them; the caller disposes them (e.g. inside `tf.tidy` or with `tf.dispose`).
 *
 * @example
 * ```ts
 * for (const { x, y } of lq.data.tensorBatches(ds.train, { batchSize: 64, seed: epoch })) {
 *   optimizer.minimize(() => loss(model.apply(x), y));
 *   tf.dispose([x, y]);
 * }
 * ```
 */
export function* tensorBatches(
  split: DataSplit,
  options: BatchOptions & ToTensorsOptions,
): Generator<{ x: tf.Tensor4D; y: tf.Tensor1D | tf.Tensor2D }, void, undefined> {
  for (const batch of batches(split, options)) yield toTensors(batch, options);
}

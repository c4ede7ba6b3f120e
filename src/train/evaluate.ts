/**
 * Evaluation of a classifier on a split, computed from the model's predictions.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { batches, type DataSplit, toTensors } from '../data/index.js';
import { ConfigError } from '../errors.js';

/** What {@link evaluateModel} returns. */
export interface Evaluation {
  /** Mean sparse categorical cross-entropy: -1/n sum_i log(clip(p_i[y_i], 1e-7, 1 - 1e-7)) (Keras's clipping). */
  loss: number;
  /** Fraction of examples whose most probable class (first on ties) is the label. */
  accuracy: number;
  /** Number of examples evaluated. */
  count: number;
  /**
   * Per class (indexed by label, one entry per model output): its examples in the split and how many
   * of them were predicted as that class.
   */
  perClass: { count: number; correct: number }[];
}

/** Keras's epsilon: probabilities are clipped to [eps, 1 - eps] before the log. */
const EPSILON = 1e-7;

/**
 * Evaluates a classifier (softmax output) on a split in inference mode (BatchNorm uses its
 * moving statistics): mean sparse categorical cross-entropy, accuracy and per-class counts, summed
 * in float64.
 *
 * @example
 * ```ts
 * const { loss, accuracy } = lq.train.evaluateModel(model, ds.test);
 * ```
 * @throws ConfigError for a bad batchSize or an empty split.
 */
export function evaluateModel(
  model: tfl.LayersModel,
  data: DataSplit,
  options: { batchSize?: number } = {},
): Evaluation {
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError({
      where: 'evaluateModel option batchSize',
      received: batchSize,
      expected: 'a positive integer',
    });
  }
  if (data.count < 1) {
    throw new ConfigError({
      where: 'evaluateModel data',
      received: 'an empty split',
      expected: 'at least one example',
    });
  }
  const inputShape = model.inputs[0].shape;
  const perClass: Evaluation['perClass'] = [];
  let lossSum = 0;
  let correct = 0;
  for (const batch of batches(data, { batchSize, shuffle: false })) {
    const probs = tf.tidy(() => {
      const { x, y } = toTensors(batch);
      y.dispose();
      const xs =
        inputShape.length === 4 ? x : tf.reshape(x, [batch.size, ...(inputShape.slice(1) as number[])]);
      return model.predict(xs) as tf.Tensor;
    });
    const p = probs.dataSync();
    const classes = probs.shape[probs.shape.length - 1] as number;
    probs.dispose();
    while (perClass.length < classes) perClass.push({ count: 0, correct: 0 });
    for (let i = 0; i < batch.size; i++) {
      const label = batch.y[i];
      if (!(label < classes)) {
        throw new ConfigError({
          where: 'evaluateModel data',
          received: `label ${label}`,
          expected: `labels 0 to ${classes - 1} (the model has ${classes} outputs)`,
        });
      }
      const row = p.subarray(i * classes, (i + 1) * classes);
      lossSum -= Math.log(Math.min(Math.max(row[label], EPSILON), 1 - EPSILON));
      let best = 0;
      for (let c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
      perClass[label].count++;
      if (best === label) {
        correct++;
        perClass[label].correct++;
      }
    }
  }
  return { loss: lossSum / data.count, accuracy: correct / data.count, count: data.count, perClass };
}

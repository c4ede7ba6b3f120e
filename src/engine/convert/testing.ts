/**
 * Helpers for the converter's tests and benchmark: non-trivial BatchNorm statistics, and tfjs vs
 * engine comparisons. Not part of the public API.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Random } from '../../util/random.js';

/**
 * Gives every BatchNormalization layer statistics a trained network could have, in model order:
 * mean = the batch mean of the layer's actual input on `x` plus 0.3 standard deviations of noise,
 * variance = the batch variance times U(0.5, 2), gamma = U(0.5, 1.5) with a random sign (about one
 * channel in five negative, which flips the bit-output threshold), beta = N(0, 0.3). Deterministic for
 * a seed.
 */
export function randomizeBatchNorm(model: tfl.LayersModel, x: tf.Tensor, seed: number): void {
  const rng = new Random(seed);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const probe = tfl.model({ inputs: model.inputs, outputs: layer.input as tfl.SymbolicTensor });
    const { mean, variance } = tf.tidy(() => {
      const a = probe.predict(x) as tf.Tensor;
      const axes = a.shape.slice(0, -1).map((_, i) => i);
      const m = tf.moments(a, axes);
      return { mean: m.mean.dataSync() as Float32Array, variance: m.variance.dataSync() as Float32Array };
    });
    const config = layer.getConfig();
    const c = mean.length;
    const sd = (i: number) => Math.sqrt(variance[i] + 1e-6);
    const weights: tf.Tensor[] = [];
    if (config.scale !== false)
      weights.push(
        tf.tensor1d(Array.from({ length: c }, () => (0.5 + rng.next()) * (rng.next() < 0.2 ? -1 : 1))),
      );
    if (config.center !== false)
      weights.push(tf.tensor1d(Array.from({ length: c }, () => 0.3 * rng.normal())));
    weights.push(tf.tensor1d(Array.from({ length: c }, (_, i) => mean[i] + 0.3 * sd(i) * rng.normal())));
    weights.push(
      tf.tensor1d(Array.from({ length: c }, (_, i) => variance[i] * (0.5 + 1.5 * rng.next()) + 1e-3)),
    );
    layer.setWeights(weights);
    tf.dispose(weights);
  }
}

/** Seeded inputs: N(0, 1) values of the given shape. */
export function randomInput(shape: number[], seed: number): Float32Array {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Row-wise argmax of a [rows, cols] array. */
export function argmaxRows(data: ArrayLike<number>, cols: number): Int32Array {
  const rows = data.length / cols;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c] > data[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

/**
 * The largest relative difference between two outputs, per row relative to the row's largest
 * magnitude (at least 1): max over rows of max |a - b| / max(1, max |b|).
 */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, cols: number): number {
  let worst = 0;
  for (let r = 0; r < b.length / cols; r++) {
    let scale = 1;
    for (let c = 0; c < cols; c++) scale = Math.max(scale, Math.abs(b[r * cols + c]));
    for (let c = 0; c < cols; c++)
      worst = Math.max(worst, Math.abs(a[r * cols + c] - b[r * cols + c]) / scale);
  }
  return worst;
}

/** The model without its final softmax Activation layer (so tests compare logits), or the model itself. */
export function logitsModel(model: tfl.LayersModel): tfl.LayersModel {
  const last = model.layers[model.layers.length - 1];
  if (last.getClassName() !== 'Activation' || last.getConfig().activation !== 'softmax') return model;
  return tfl.model({ inputs: model.inputs, outputs: last.input as tfl.SymbolicTensor, name: model.name });
}

/** How the engine's outputs compare with tfjs's on a set of inputs. */
export interface Agreement {
  count: number;
  /** Inputs whose argmax differs. */
  differingArgmax: number;
  /** {@link maxRelativeError} of the outputs. */
  maxRelativeError: number;
  /** Distinct classes tfjs predicted (a degenerate network predicts one). */
  classes: number;
  /** Indices of the rows whose relative error (as in {@link maxRelativeError}) exceeds 1e-4. */
  rowsAbove1e4: number[];
}

/**
 * Runs `predict` (the engine) on all of `x` and the tfjs model in batches of 500 on the current
 * backend, and compares their [count, classes] outputs.
 */
export function agreement(
  model: tfl.LayersModel,
  predict: (x: Float32Array, shape: number[]) => Float32Array,
  x: Float32Array,
  shape: [number, number, number, number],
): Agreement {
  const [count, h, w, c] = shape;
  const pixels = h * w * c;
  const got = predict(x, shape);
  const cols = got.length / count;
  const want = new Float32Array(got.length);
  for (let i = 0; i < count; i += 500) {
    const n = Math.min(500, count - i);
    const out = tf.tidy(() => {
      const xs = tf.tensor4d(x.subarray(i * pixels, (i + n) * pixels), [n, h, w, c]);
      return (model.predict(xs) as tf.Tensor).dataSync() as Float32Array;
    });
    want.set(out, i * cols);
  }
  const a = argmaxRows(got, cols);
  const b = argmaxRows(want, cols);
  let differing = 0;
  for (let i = 0; i < count; i++) if (a[i] !== b[i]) differing++;
  const rowsAbove1e4: number[] = [];
  for (let r = 0; r < count; r++)
    if (
      maxRelativeError(
        got.subarray(r * cols, (r + 1) * cols),
        want.subarray(r * cols, (r + 1) * cols),
        cols,
      ) > 1e-4
    )
      rowsAbove1e4.push(r);
  return {
    count,
    rowsAbove1e4,
    differingArgmax: differing,
    maxRelativeError: maxRelativeError(got, want, cols),
    classes: new Set(b).size,
  };
}

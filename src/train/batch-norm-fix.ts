/**
 * Makes tfjs-layers' BatchNormalization train with `scale: false` or `center: false`.
 *
 * tfjs-layers 4.22's BatchNormalization.call reads `this.gamma.read()` and `this.beta.read()`
 * unconditionally on its training path (dist/layers/normalization.js), although `build()` leaves
 * them null when `scale` or `center` is false: every Larq network (BatchNormalization(scale=False)
 * after each binary layer) fails in `fit` with "Cannot read properties of undefined (reading
 * 'read')". A null offset is fine for tf.batchNorm and its gradient, a null scale is not (the
 * FusedBatchNorm gradient saves `scale` for backprop), so for the duration of call() only the fix
 * substitutes a constant gamma = 1 (not a weight: nothing trains it, nothing saves it) and a beta
 * whose read() gives null: y = (x - mean) / sqrt(var + epsilon) (+ beta).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';

interface BatchNormFields {
  gamma: { read(): tf.Tensor | null } | null;
  movingMean: { read(): tf.Tensor };
  beta: { read(): tf.Tensor | null } | null;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[];
}

const ORIGINAL = Symbol.for('lowbit.originalBatchNormalizationCall');
const ABSENT = Object.freeze({ read: () => null });

function batchNormPrototype(): BatchNormFields & { [ORIGINAL]?: BatchNormFields['call'] } {
  return Object.getPrototypeOf(tfl.layers.batchNormalization({})) as BatchNormFields & {
    [ORIGINAL]?: BatchNormFields['call'];
  };
}

/**
 * Installs the fix (idempotent; done when lowbit's zoo or train module is imported).
 * @returns true if this call installed it, false if it was already installed.
 */
export function fixBatchNormWithoutScale(): boolean {
  const proto = batchNormPrototype();
  if (proto[ORIGINAL] != null) return false;
  const original = proto.call;
  proto[ORIGINAL] = original;
  proto.call = function (this: BatchNormFields, inputs, kwargs) {
    const { gamma, beta } = this;
    if (gamma != null && beta != null) return original.call(this, inputs, kwargs);
    const movingMean = this.movingMean;
    this.gamma = gamma ?? { read: () => tf.onesLike(movingMean.read()) };
    this.beta = beta ?? ABSENT;
    try {
      return original.call(this, inputs, kwargs);
    } finally {
      this.gamma = gamma;
      this.beta = beta;
    }
  };
  return true;
}

fixBatchNormWithoutScale();

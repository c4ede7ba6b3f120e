import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import { tfjsLayerClass } from './float-options.js';

/**
 * tfjs-layers 4.22's BatchNormalization cannot train without its scale or its shift: in training
 * mode it calls `this.gamma.read()` and `this.beta.read()` unconditionally, and they are null for
 * `scale: false` or `center: false` (TypeError: Cannot read properties of null). Larq's networks
 * put `BatchNormalization(scale=False)` after every binary layer, so lowbit makes that work: in
 * training mode a missing gamma reads as ones and a missing beta as zeros, which is exactly what
 * "no scale" and "no shift" mean. Installed once per tfjs-layers instance when lowbit is imported.
 */
interface BatchNormInternals {
  gamma: { read(): tf.Tensor } | null | undefined;
  beta: { read(): tf.Tensor } | null | undefined;
  movingMean: tfl.LayerVariable;
}

type Call = (
  this: tfl.layers.Layer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Kwargs,
) => tf.Tensor | tf.Tensor[];
const PATCHED = Symbol.for('lowbit.batchNormTrainsWithoutScale');

export function installBatchNormFix(): void {
  const BatchNormalization = tfjsLayerClass<{ prototype: tfl.layers.Layer & { [PATCHED]?: boolean } }>(
    'BatchNormalization',
  );
  const proto = BatchNormalization.prototype;
  if (proto[PATCHED]) return;
  const original = proto.call as Call;
  proto.call = function (this: tfl.layers.Layer & BatchNormInternals, inputs, kwargs) {
    if (!kwargs?.training || (this.gamma != null && this.beta != null))
      return original.call(this, inputs, kwargs);
    const { gamma, beta } = this;
    const shape = this.movingMean.shape as number[];
    this.gamma ??= { read: () => tf.ones(shape) };
    this.beta ??= { read: () => tf.zeros(shape) };
    try {
      return original.call(this, inputs, kwargs);
    } finally {
      this.gamma = gamma;
      this.beta = beta;
    }
  } as Call;
  proto[PATCHED] = true;
}

installBatchNormFix();

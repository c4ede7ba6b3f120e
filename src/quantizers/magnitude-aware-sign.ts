import * as tf from '@tensorflow/tfjs-core';
import { sign } from '../math/index.js';
import { nullable, positiveNumber } from '../util/options.js';
import { clippedGradient, Quantizer, type QuantizerArgs, withPseudoGradient } from './base.js';
import { registerQuantizer } from './registry.js';

export interface MagnitudeAwareSignArgs extends QuantizerArgs {
  /** Gradient is passed where |x| <= clipValue. Default 1. */
  clipValue?: number | null;
}

/** s = mean(|x|) over every axis but the last (per output channel); elementwise |x| for rank 1. */
function channelScale(x: tf.Tensor): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  return axes.length === 0 ? tf.abs(x) : tf.mean(tf.abs(x), axes);
}

/**
 * Magnitude-aware sign of Bi-Real Net (Larq's `magnitude_aware_sign`), for kernels.
 *
 * q(x) = s * sign(x), s = mean(|x|) over all axes but the last, treated as a constant in backprop;
 * dq/dx = s * 1{|x| <= clipValue}.
 *
 * Paper: Liu et al., "Bi-Real Net", ECCV 2018 (arXiv 1808.00278).
 */
export class MagnitudeAwareSign extends Quantizer {
  static readonly className = 'MagnitudeAwareSign';
  readonly precision = 1;
  readonly clipValue: number | null;
  private readonly fn: (x: tf.Tensor) => tf.Tensor;

  constructor(args: MagnitudeAwareSignArgs = {}) {
    super(args, { clipValue: nullable(positiveNumber) });
    this.clipValue = args.clipValue === undefined ? 1.0 : args.clipValue;
    const clip = this.clipValue;
    this.fn = withPseudoGradient(
      (x) => tf.mul(channelScale(x), sign(x)),
      (x, dy) => tf.mul(channelScale(x), clippedGradient(x, dy, clip)),
    );
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), clipValue: this.clipValue };
  }
}
registerQuantizer(MagnitudeAwareSign, 'magnitude_aware_sign');

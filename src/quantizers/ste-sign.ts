import type * as tf from '@tensorflow/tfjs-core';
import { sign } from '../math/index.js';
import { nullable, positiveNumber } from '../util/options.js';
import { clippedGradient, Quantizer, type QuantizerArgs, withPseudoGradient } from './base.js';
import { registerQuantizer } from './registry.js';

export interface SteSignArgs extends QuantizerArgs {
  /** Gradient is passed where |x| <= clipValue. null: passed everywhere. Default 1. */
  clipValue?: number | null;
}

/**
 * Sign binarization with the straight-through estimator (Larq's `ste_sign`).
 *
 * q(x) = -1 if x < 0, +1 if x >= 0;  dq/dx = 1 if |x| <= clipValue, else 0.
 *
 * Paper: Courbariaux et al., "Binarized Neural Networks", 2016 (arXiv 1602.02830).
 *
 * @example new lq.quantizers.SteSign({ clipValue: 1 }).quantize(tf.tensor([-0.5, 0, 2])) // [-1, 1, 1]
 */
export class SteSign extends Quantizer {
  static readonly className = 'SteSign';
  readonly precision = 1;
  readonly clipValue: number | null;
  private readonly fn: (x: tf.Tensor) => tf.Tensor;

  constructor(args: SteSignArgs = {}) {
    super(args, { clipValue: nullable(positiveNumber) });
    this.clipValue = args.clipValue === undefined ? 1.0 : args.clipValue;
    const clip = this.clipValue;
    this.fn = withPseudoGradient(sign, (x, dy) => clippedGradient(x, dy, clip));
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), clipValue: this.clipValue };
  }
}
registerQuantizer(SteSign, 'ste_sign');

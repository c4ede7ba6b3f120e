import type * as tf from '@tensorflow/tfjs-core';
import { heaviside } from '../math/index.js';
import { nullable, positiveNumber } from '../util/options.js';
import { clippedGradient, Quantizer, type QuantizerArgs, withPseudoGradient } from './base.js';
import { registerQuantizer } from './registry.js';

export interface SteHeavisideArgs extends QuantizerArgs {
  /** Gradient is passed where |x| <= clipValue. null: passed everywhere. Default 1. */
  clipValue?: number | null;
}

/**
 * Binarization to {0, 1} with the straight-through estimator (Larq's `ste_heaviside`).
 *
 * q(x) = 1 if x > 0, else 0;  dq/dx = 1 if |x| <= clipValue, else 0.
 */
export class SteHeaviside extends Quantizer {
  static readonly className = 'SteHeaviside';
  readonly precision = 1;
  readonly clipValue: number | null;
  private readonly fn: (x: tf.Tensor) => tf.Tensor;

  constructor(args: SteHeavisideArgs = {}) {
    super(args, { clipValue: nullable(positiveNumber) });
    this.clipValue = args.clipValue === undefined ? 1.0 : args.clipValue;
    const clip = this.clipValue;
    this.fn = withPseudoGradient(heaviside, (x, dy) => clippedGradient(x, dy, clip));
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), clipValue: this.clipValue };
  }
}
registerQuantizer(SteHeaviside, 'ste_heaviside');

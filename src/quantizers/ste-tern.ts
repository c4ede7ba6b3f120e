import * as tf from '@tensorflow/tfjs-core';
import { boolean, nullable, number, positiveNumber } from '../util/options.js';
import { clippedGradient, Quantizer, type QuantizerArgs, withPseudoGradient } from './base.js';
import { registerQuantizer } from './registry.js';

export interface SteTernArgs extends QuantizerArgs {
  /** The threshold d. Default 0.05. */
  thresholdValue?: number;
  /** Use Ternary Weight Networks' d = 0.7 mean(|x|) over the whole tensor instead. Default false. */
  ternaryWeightNetworks?: boolean;
  /** Gradient is passed where |x| <= clipValue. Default 1. */
  clipValue?: number | null;
}

/**
 * Ternarization with the straight-through estimator (Larq's `ste_tern`).
 *
 * q(x) = +1 if x >= d, -1 if x <= -d, else 0, computed as sign(sign(x + d) + sign(x - d));
 * d = thresholdValue, or 0.7 mean(|x|) with ternaryWeightNetworks; dq/dx = 1{|x| <= clipValue}.
 *
 * Paper: Li et al., "Ternary Weight Networks", 2016 (arXiv 1605.04711).
 */
export class SteTern extends Quantizer {
  static readonly className = 'SteTern';
  readonly precision = 2;
  readonly thresholdValue: number;
  readonly ternaryWeightNetworks: boolean;
  readonly clipValue: number | null;
  private readonly fn: (x: tf.Tensor) => tf.Tensor;

  constructor(args: SteTernArgs = {}) {
    super(args, {
      thresholdValue: number,
      ternaryWeightNetworks: boolean,
      clipValue: nullable(positiveNumber),
    });
    this.thresholdValue = args.thresholdValue ?? 0.05;
    this.ternaryWeightNetworks = args.ternaryWeightNetworks ?? false;
    this.clipValue = args.clipValue === undefined ? 1.0 : args.clipValue;
    const clip = this.clipValue;
    this.fn = withPseudoGradient(
      (x) => {
        const d = this.ternaryWeightNetworks
          ? tf.mul(0.7, tf.mean(tf.abs(x)))
          : tf.scalar(this.thresholdValue);
        return tf.sign(tf.add(tf.sign(tf.add(x, d)), tf.sign(tf.sub(x, d))));
      },
      (x, dy) => clippedGradient(x, dy, clip),
    );
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      thresholdValue: this.thresholdValue,
      ternaryWeightNetworks: this.ternaryWeightNetworks,
      clipValue: this.clipValue,
    };
  }
}
registerQuantizer(SteTern, 'ste_tern');

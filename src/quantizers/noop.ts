import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { positiveInt } from '../util/options.js';
import { Quantizer, type QuantizerArgs } from './base.js';
import { registerQuantizer } from './registry.js';

export interface NoOpArgs extends QuantizerArgs {
  /** The precision to mark, e.g. 1 so that Bop trains a variable the layer binarizes itself. Required. */
  precision: number;
}

/**
 * The identity that only marks a precision (Larq's `NoOp`): q(x) = x, dq/dx = 1.
 * Typical use: mark latent weights as binary for Bop when the layer applies its own sign.
 */
export class NoOp extends Quantizer {
  static readonly className = 'NoOp';
  readonly precision: number;

  constructor(args: NoOpArgs) {
    super(args, { precision: positiveInt });
    if (args?.precision === undefined) {
      throw new ConfigError({
        where: 'NoOp option precision',
        received: undefined,
        expected: 'a positive integer (required)',
      });
    }
    this.precision = args.precision;
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return x.clone();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), precision: this.precision };
  }
}
registerQuantizer(NoOp as unknown as Parameters<typeof registerQuantizer>[0]);

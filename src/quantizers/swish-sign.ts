import * as tf from '@tensorflow/tfjs-core';
import { sign } from '../math/index.js';
import { number } from '../util/options.js';
import { Quantizer, type QuantizerArgs, withPseudoGradient } from './base.js';
import { registerQuantizer } from './registry.js';

export interface SwishSignArgs extends QuantizerArgs {
  /** Sharpness: larger values approximate the derivative of sign more closely. Default 5. */
  beta?: number;
}

/**
 * Sign binarization with the SignSwish pseudo-gradient of BNN+ (Larq's `swish_sign`).
 *
 * q(x) = -1 if x < 0, +1 if x >= 0;  dq/dx = beta (2 - beta x tanh(beta x / 2)) / (1 + cosh(beta x)).
 *
 * Paper: Darabi et al., "BNN+: Improved Binary Network Training", 2018 (arXiv 1812.11800).
 */
export class SwishSign extends Quantizer {
  static readonly className = 'SwishSign';
  readonly precision = 1;
  readonly beta: number;
  private readonly fn: (x: tf.Tensor) => tf.Tensor;

  constructor(args: SwishSignArgs = {}) {
    super(args, { beta: number });
    this.beta = args.beta ?? 5.0;
    const beta = this.beta;
    this.fn = withPseudoGradient(sign, (x, dy) => {
      const bx = tf.mul(beta, x);
      const num = tf.sub(2, tf.mul(bx, tf.tanh(tf.mul(bx, 0.5))));
      return tf.mul(dy, tf.div(tf.mul(beta, num), tf.add(1, tf.cosh(bx))));
    });
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), beta: this.beta };
  }
}
registerQuantizer(SwishSign, 'swish_sign');

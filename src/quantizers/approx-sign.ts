import * as tf from '@tensorflow/tfjs-core';
import { sign } from '../math/index.js';
import { Quantizer, type QuantizerArgs, withPseudoGradient } from './base.js';
import { registerQuantizer } from './registry.js';

/**
 * Sign binarization with the ApproxSign pseudo-gradient of Bi-Real Net (Larq's `approx_sign`).
 *
 * q(x) = -1 if x < 0, +1 if x >= 0;  dq/dx = 2 - 2|x| if |x| <= 1, else 0.
 *
 * Paper: Liu et al., "Bi-Real Net", ECCV 2018 (arXiv 1808.00278).
 */
export class ApproxSign extends Quantizer {
  static readonly className = 'ApproxSign';
  readonly precision = 1;
  private readonly fn = withPseudoGradient(sign, (x, dy) =>
    tf.mul(dy, tf.relu(tf.sub(2, tf.mul(2, tf.abs(x))))),
  );

  constructor(args: QuantizerArgs = {}) {
    super(args, {});
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }
}
registerQuantizer(ApproxSign, 'approx_sign');

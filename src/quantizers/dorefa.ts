import * as tf from '@tensorflow/tfjs-core';
import { oneOf, positiveInt } from '../util/options.js';
import { Quantizer, type QuantizerArgs, withPseudoGradient } from './base.js';
import { registerQuantizer } from './registry.js';

export const DOREFA_MODES = ['activations', 'weights'] as const;

export interface DoReFaArgs extends QuantizerArgs {
  /** Bits of the output. Default 2. */
  kBit?: number;
  /** 'activations' (clip to [0, 1]) or 'weights' (tanh-normalised to [-1, 1]). Default 'activations'. */
  mode?: (typeof DOREFA_MODES)[number];
}

/**
 * The k-bit quantizer of DoReFa-Net (Larq's `dorefa_quantizer`), with n = 2^kBit - 1 levels.
 *
 * activations: x' = clip(x, 0, 1), q = round(x' n) / n; dq/dx = 1 on [0, 1], else 0.
 * weights: x' = tanh(w) / (2 max|tanh(w)|) + 0.5 (max treated as a constant, 0/0 = 0),
 * q = 2 round(x' n) / n - 1; dq/dw = (1 - tanh(w)^2) / max|tanh(w)|.
 * round is round-half-to-even, as tf.round; it passes the gradient unchanged.
 *
 * Paper: Zhou et al., "DoReFa-Net", 2016 (arXiv 1606.06160).
 */
export class DoReFa extends Quantizer {
  static readonly className = 'DoReFa';
  readonly precision: number;
  readonly mode: (typeof DOREFA_MODES)[number];
  private readonly fn: (x: tf.Tensor) => tf.Tensor;

  constructor(args: DoReFaArgs = {}) {
    super(args, { kBit: positiveInt, mode: oneOf(DOREFA_MODES) });
    this.precision = args.kBit ?? 2;
    this.mode = args.mode ?? 'activations';
    const n = 2 ** this.precision - 1;
    const levels = (x: tf.Tensor) => tf.div(tf.round(tf.mul(x, n)), n);
    if (this.mode === 'activations') {
      this.fn = withPseudoGradient(
        (x) => levels(tf.clipByValue(x, 0, 1)),
        (x, dy) => tf.where(tf.logicalAnd(tf.greaterEqual(x, 0), tf.lessEqual(x, 1)), dy, tf.zerosLike(dy)),
      );
    } else {
      const maxAbsTanh = (w: tf.Tensor) => tf.max(tf.abs(tf.tanh(w)));
      this.fn = withPseudoGradient(
        (w) => {
          const t = tf.tanh(w);
          const normalised = tf.add(tf.divNoNan(t, tf.mul(2, maxAbsTanh(w))), 0.5);
          return tf.sub(tf.mul(2, levels(normalised)), 1);
        },
        (w, dy) => {
          const t = tf.tanh(w);
          return tf.mul(dy, tf.divNoNan(tf.sub(1, tf.square(t)), maxAbsTanh(w)));
        },
      );
    }
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kBit: this.precision, mode: this.mode };
  }
}
registerQuantizer(DoReFa, 'dorefa_quantizer');

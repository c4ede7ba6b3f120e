import * as tf from '@tensorflow/tfjs-core';
import { oneOf, positiveInt, positiveNumber } from '../util/options.js';
import { Quantizer, type QuantizerArgs, withPseudoGradient } from './base.js';
import { registerQuantizer } from './registry.js';

/** The straight-through estimators Yin et al. compare: the derivative used in place of q'(x). */
export const RELU_STES = ['identity', 'relu', 'clipped_relu'] as const;
export type ReluSte = (typeof RELU_STES)[number];

/**
 * Mean squared error of the k-bit ceiling quantizer with resolution alpha on N(0, 1) data after a
 * ReLU (x <= 0 costs nothing): sum over levels of the integral of (x - q(x))^2 phi(x), by Simpson's
 * rule on [0, 10] (the tail beyond carries less than 1e-22 of the mass).
 */
function reluQuantizerMse(alpha: number, kBit: number): number {
  const top = 2 ** kBit - 1;
  const n = 4000;
  const h = 10 / n;
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    const x = i * h;
    const q = x <= 0 ? 0 : alpha * Math.min(Math.ceil(x / alpha), top);
    const w = i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2;
    sum += w * (x - q) ** 2 * Math.exp((-x * x) / 2);
  }
  return (sum * h) / 3 / Math.sqrt(2 * Math.PI);
}

const alphaCache = new Map<number, number>();

/**
 * The resolution alpha that minimises the quantization MSE of half-wave Gaussian data (the
 * distribution of a BatchNorm output after ReLU), as HWGQ and Yin et al. fix it before training.
 * Golden-section search on [0.01, 2]; 2 bits give about 0.486, 4 bits about 0.166.
 *
 * Paper: Cai et al., "Deep Learning with Low Precision by Half-wave Gaussian Quantization", CVPR 2017.
 */
export function halfGaussianAlpha(kBit: number): number {
  const cached = alphaCache.get(kBit);
  if (cached !== undefined) return cached;
  let lo = 0.01;
  let hi = 2;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 60; i++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    if (reluQuantizerMse(a, kBit) < reluQuantizerMse(b, kBit)) hi = b;
    else lo = a;
  }
  const alpha = (lo + hi) / 2;
  alphaCache.set(kBit, alpha);
  return alpha;
}

export interface QuantizedReluArgs extends QuantizerArgs {
  /** Bits of the output: 2^kBit levels 0, alpha, ..., (2^kBit - 1) alpha. Default 2. */
  kBit?: number;
  /** Resolution (step) alpha. Default: {@link halfGaussianAlpha}(kBit). */
  alpha?: number;
  /** The straight-through estimator used in backprop. Default 'clipped_relu'. */
  ste?: ReluSte;
}

/**
 * Uniform k-bit quantized ReLU of Yin et al. (ICLR 2019), with a choice of straight-through estimator.
 *
 * q(x) = 0 for x <= 0, alpha ceil(x / alpha) for 0 < x <= (L - 1) alpha, L alpha above; L = 2^kBit - 1.
 * Pseudo-gradient (the STE's derivative): identity: 1; relu: 1{x > 0}; clipped_relu: 1{0 < x < L alpha}.
 *
 * Paper: Yin et al., "Understanding Straight-Through Estimator in Training Activation Quantized
 * Neural Nets", ICLR 2019 (arXiv 1903.05662).
 *
 * @example lq.quantizers.get({ className: 'QuantizedRelu', config: { kBit: 4, ste: 'relu' } })
 */
export class QuantizedRelu extends Quantizer {
  static readonly className = 'QuantizedRelu';
  readonly precision: number;
  readonly alpha: number;
  readonly ste: ReluSte;
  private readonly fn: (x: tf.Tensor) => tf.Tensor;

  constructor(args: QuantizedReluArgs = {}) {
    // tfjs camelCases string values when it loads a model.json: 'clipped_relu' comes back 'clippedRelu'.
    const ste = args.ste === ('clippedRelu' as ReluSte) ? 'clipped_relu' : args.ste;
    super({ ...args, ste } as QuantizerArgs, {
      kBit: positiveInt,
      alpha: positiveNumber,
      ste: oneOf(RELU_STES),
    });
    this.precision = args.kBit ?? 2;
    this.alpha = args.alpha ?? halfGaussianAlpha(this.precision);
    this.ste = ste ?? 'clipped_relu';
    const alpha = this.alpha;
    const top = (2 ** this.precision - 1) * alpha;
    const chosen = this.ste;
    this.fn = withPseudoGradient(
      (x) => tf.mul(alpha, tf.clipByValue(tf.ceil(tf.div(tf.relu(x), alpha)), 0, 2 ** this.precision - 1)),
      (x, dy) => {
        if (chosen === 'identity') return dy;
        const inside =
          chosen === 'relu' ? tf.greater(x, 0) : tf.logicalAnd(tf.greater(x, 0), tf.less(x, top));
        return tf.where(inside, dy, tf.zerosLike(dy));
      },
    );
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kBit: this.precision, alpha: this.alpha, ste: this.ste };
  }
}
registerQuantizer(QuantizedRelu, 'quantized_relu');

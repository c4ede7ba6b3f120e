/**
 * Shapes of quantizers and their pseudo-gradients: the forward function q(x) and the derivative that
 * backprop actually uses, dq/dx as computed by `tf.grad` through the quantizer's custom gradient, on
 * a grid of x values. Used by the STE study's experiments 4 and 5 to plot each straight-through
 * estimator next to its quantizer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../errors.js';
import { sign } from '../../math/index.js';
import { lineChart, type VegaLiteSpec } from '../../plot/chart.js';
import {
  FunctionQuantizer,
  get as getQuantizer,
  type Quantizer,
  type QuantizerIdentifier,
  registerCustomQuantizer,
  setPrecision,
  withPseudoGradient,
} from '../../quantizers/index.js';

/**
 * The sign quantizer with the plain identity straight-through estimator, built as a custom
 * quantizer function (tf.customGrad, tagged 1-bit with `setPrecision`, registered as
 * 'identity_sign' so models using it can be saved and loaded):
 *
 * q(x) = -1 if x < 0, +1 if x >= 0;  dq/dx = 1 everywhere (no clipping).
 *
 * It equals `SteSign({ clipValue: null })`; the study uses it as the unclipped baseline against
 * Larq's clipped and smooth pseudo-gradients (Bengio et al. 2013, "Estimating or Propagating
 * Gradients Through Stochastic Neurons", arXiv 1308.3432).
 */
export const identitySign = registerCustomQuantizer(
  'identity_sign',
  setPrecision(
    1,
    withPseudoGradient(sign, (_x, dy) => dy),
  ),
);

/** A quantizer to compare: a label for tables and legends and how to build it. */
export interface QuantizerCase {
  /** Label, e.g. 'ste_sign'. */
  name: string;
  /** Any quantizer identifier (a registered name, `{ className, config }`, an instance or a function). */
  quantizer: QuantizerIdentifier;
}

/** Larq's binary quantizers compared by experiment 5, plus the identity-gradient sign. */
export const BINARY_QUANTIZER_CASES: readonly QuantizerCase[] = [
  { name: 'ste_sign', quantizer: 'ste_sign' },
  { name: 'approx_sign', quantizer: 'approx_sign' },
  { name: 'swish_sign', quantizer: 'swish_sign' },
  { name: 'identity_sign', quantizer: identitySign },
];

/** Forward values and pseudo-gradient of one quantizer on a grid. */
export interface QuantizerShape {
  name: string;
  x: number[];
  /** q(x). */
  value: number[];
  /** The pseudo-gradient dq/dx used in backprop, from tf.grad(sum(q(x))). */
  gradient: number[];
}

/** A fresh quantizer from an identifier (a function becomes a FunctionQuantizer). */
export function makeQuantizer(identifier: QuantizerIdentifier, where: string): Quantizer {
  const q =
    typeof identifier === 'function'
      ? new FunctionQuantizer({ fn: identifier })
      : getQuantizer(identifier, where);
  if (q === null) {
    throw new ConfigError({ where, received: identifier, expected: 'a quantizer (not null)' });
  }
  return q;
}

/**
 * Evaluates q(x) and its pseudo-gradient dq/dx = d/dx sum_i q(x_i) (elementwise, through the
 * quantizer's custom gradient) on the grid `x`.
 *
 * @example quantizerShape({ name: 'ste_sign', quantizer: 'ste_sign' }, [-2, 0, 0.5, 2]).gradient // [0, 1, 1, 0]
 */
export function quantizerShape(c: QuantizerCase, x: readonly number[]): QuantizerShape {
  if (!Array.isArray(x) || x.length === 0 || !x.every(Number.isFinite)) {
    throw new ConfigError({
      where: `quantizerShape grid for '${c.name}'`,
      received: x,
      expected: 'a non-empty array of finite numbers',
    });
  }
  const q = makeQuantizer(c.quantizer, `quantizerShape '${c.name}'`);
  const [value, gradient] = tf.tidy(() => {
    const xs = tf.tensor1d(x as number[]);
    const v = q.quantize(xs);
    const g = tf.grad((t: tf.Tensor) => tf.sum(q.quantize(t)))(xs);
    return [Array.from(v.dataSync()), Array.from(g.dataSync())];
  });
  return { name: c.name, x: [...x], value, gradient };
}

/** An evenly spaced grid of `n` points on [lo, hi] (both ends included). */
export function grid(lo: number, hi: number, n: number): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) || !Number.isInteger(n) || n < 2) {
    throw new ConfigError({
      where: 'grid',
      received: { lo, hi, n },
      expected: 'finite lo < hi and an integer n >= 2',
    });
  }
  // Rounded to 12 digits so that grid points such as 0 and 1 are exact.
  return Array.from({ length: n }, (_, i) => Number((lo + ((hi - lo) * i) / (n - 1)).toFixed(12)));
}

/** A two-panel chart: q(x) on the left, the pseudo-gradient dq/dx on the right. */
export function shapeChart(title: string, shapes: readonly QuantizerShape[]): VegaLiteSpec {
  return lineChart({
    title,
    panels: [
      {
        title: 'forward q(x)',
        series: shapes.map((s) => ({ name: s.name, x: s.x, y: s.value })),
        x: { title: 'x' },
        y: { title: 'q(x)' },
      },
      {
        title: 'pseudo-gradient dq/dx (tf.grad)',
        series: shapes.map((s) => ({ name: s.name, x: s.x, y: s.gradient })),
        x: { title: 'x' },
        y: { title: 'dq/dx', zero: true },
      },
    ],
    width: 300,
    height: 200,
    legendTitle: 'quantizer',
  });
}

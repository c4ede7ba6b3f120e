import type { Range } from '../ir.js';
import { wordsFor } from '../shapes.js';
import type { BitTensor, FloatTensor } from './tensor.js';

/** A float output transform with its constants resolved (see {@link FloatTransform}). */
export interface ResolvedFloatTransform {
  kind: 'float';
  multiplier?: Float32Array;
  bias?: Float32Array;
  dotClamp?: Range;
  outClamp?: Range;
}

/** A bit output transform with its constants resolved (see {@link BitsTransform}). */
export interface ResolvedBitsTransform {
  kind: 'bits';
  sign: Int32Array;
  threshold: Int32Array;
}

/** Either resolved transform. */
export type ResolvedTransform = ResolvedFloatTransform | ResolvedBitsTransform;

/** clamp(v, [lo, hi]) with null meaning unbounded. */
export function clampRange(v: number, r: Range | undefined): number {
  if (!r) return v;
  if (r[0] !== null && v < r[0]) v = r[0];
  if (r[1] !== null && v > r[1]) v = r[1];
  return v;
}

/**
 * The float output transform of one value in float32 arithmetic, rounding after each operation
 * exactly as the WASM kernel does: y = clamp(fround(fround(clamp(dot, dotClamp) * m) + b), outClamp).
 */
export function floatTransform(dot: number, m: number, b: number, t: ResolvedFloatTransform): number {
  const d = clampRange(dot, t.dotClamp);
  return Math.fround(clampRange(Math.fround(Math.fround(d * m) + b), t.outClamp));
}

/**
 * Applies an output transform to `rows x channels` dot products (row-major), producing a float
 * tensor or a bit tensor of shape `shape` (whose last axis is `channels`).
 * Bits: bit = 1 iff sign[c] * dot < threshold[c].
 */
export function applyTransform(
  dots: Float64Array,
  shape: number[],
  t: ResolvedTransform,
): FloatTensor | BitTensor {
  const channels = shape[shape.length - 1];
  const rows = dots.length / channels;
  if (t.kind === 'bits') {
    const words = wordsFor(channels);
    const out = new Uint32Array(rows * words);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < channels; c++)
        if (t.sign[c] * dots[r * channels + c] < t.threshold[c]) out[r * words + (c >> 5)] |= 1 << (c & 31);
    return { kind: 'bits', shape, data: out };
  }
  const out = new Float32Array(dots.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < channels; c++)
      out[r * channels + c] = floatTransform(
        dots[r * channels + c],
        t.multiplier?.[c] ?? 1,
        t.bias?.[c] ?? 0,
        t,
      );
  return { kind: 'float', shape, data: out };
}

/**
 * Computes LCE-style bit-output thresholds for binary ops followed by a per-channel affine map and
 * a binarizing consumer: for dot in [-K, K], bit(dot) = 1 iff y(dot) < 0, with
 * y(dot) = floatTransform(dot, gamma[c], beta[c], { dotClamp, outClamp }) evaluated in float32 exactly
 * as the float path, so the bit path and the float path followed by sign agree on every integer dot.
 *
 * y is monotone in dot, so a binary search finds the crossing t: gamma > 0 gives sign 1 and
 * threshold t = min{d : y(d) >= 0} (bit iff dot < t; LCE's tau = floor((beta/|gamma| + K) / 2) is the
 * same test written on acc = (K - dot) / 2 with one-padding); gamma < 0 gives sign -1 and threshold
 * -max{d : y(d) >= 0} (LCE flips these channels' weights instead); gamma = 0 gives a constant channel
 * (sign 0, threshold 1 for a constant bit 1, i.e. -1, and 0 for a constant +1).
 */
export function thresholdsFromAffine(
  k: number,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  clamps: { dotClamp?: Range; outClamp?: Range } = {},
): { sign: Int32Array; threshold: Int32Array } {
  const t: ResolvedFloatTransform = { kind: 'float', ...clamps };
  const g = Float32Array.from(gamma);
  const b = Float32Array.from(beta);
  return thresholdsFromSign(k, g.length, (c, d) => floatTransform(d, g[c], b[c], t) < 0);
}

/**
 * Bit-output thresholds for any per-channel predicate `negative(c, dot)` that is monotone in dot
 * (e.g. an output transform followed by more affine maps and a sign): for every integer dot in
 * [-K, K], sign[c] * dot < threshold[c] iff negative(c, dot). Binary search per channel.
 */
export function thresholdsFromSign(
  k: number,
  channels: number,
  negative: (c: number, dot: number) => boolean,
): { sign: Int32Array; threshold: Int32Array } {
  const sign = new Int32Array(channels);
  const threshold = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const neg = (d: number) => negative(c, d);
    const atLo = neg(-k);
    if (atLo === neg(k)) {
      // Constant over the whole range of dot.
      sign[c] = 0;
      threshold[c] = atLo ? 1 : 0;
      continue;
    }
    // Find the boundary: lo has the bit value of -K, hi the other.
    let lo = -k;
    let hi = k;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (neg(mid) === atLo) lo = mid;
      else hi = mid;
    }
    if (atLo) {
      // bit 1 for dot <= lo, i.e. dot < hi.
      sign[c] = 1;
      threshold[c] = hi;
    } else {
      // bit 1 for dot >= hi, i.e. -dot < -lo.
      sign[c] = -1;
      threshold[c] = -lo;
    }
  }
  return { sign, threshold };
}

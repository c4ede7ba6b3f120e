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

/**
 * A float threshold: for finite a in [lo, hi], bit = sign * a < threshold; for finite a outside it, h(a)
 * is NaN and the bit 0. `special` holds the bits of NaN (bit 0), -Infinity (bit 1) and +Infinity (bit 2).
 */
export interface FloatThreshold {
  sign: -1 | 0 | 1;
  threshold: number;
  lo: number;
  hi: number;
  special: number;
}

const F32_MAX = 3.4028234663852886e38;
/** 2^101: a FloatThreshold's [lo, hi] contains [-2^101, 2^101] (sums of rows with sum |x| < 2^100). */
export const FLOAT_THRESHOLD_RANGE = 2 ** 101;
const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);

/** Position of a float32 in the order of the reals, as an integer (-0 and +0 share 0). */
function orderKey(x: number): number {
  f32Bits[0] = x;
  const b = u32Bits[0];
  return b & 0x80000000 ? -(b & 0x7fffffff) : b;
}

function fromOrderKey(key: number): number {
  u32Bits[0] = key >= 0 ? key : (-key | 0x80000000) >>> 0;
  return f32Bits[0];
}

/** Binary search over float32 keys: given pred(lo) !== pred(hi), the adjacent pair where pred changes. */
function crossing(lo: number, hi: number, pred: (a: number) => boolean): [number, number] {
  const atLo = pred(fromOrderKey(lo));
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (pred(fromOrderKey(mid)) === atLo) lo = mid;
    else hi = mid;
  }
  return [lo, hi];
}

/**
 * The bit of a binarization, 1 iff h(a) < 0, as a threshold on the float32 value a, for a map h that
 * is monotone on the finite float32 values where it is not NaN (every step of a chain of per-channel
 * affine maps, clamps, relus and BatchNorms is: float32 rounding is monotone; NaN comes only from an
 * overflow meeting a zero multiplier, at the ends of the range). Binary searches over the float32
 * values in order find where h stops being NaN (lo, hi) and the crossing: h non-decreasing gives
 * sign 1 and threshold = min{a : h(a) >= 0} (bit iff a < threshold); non-increasing gives sign -1 and
 * threshold = -max{a : h(a) >= 0} (bit iff -a < threshold); a constant bit gives sign 0 and threshold 1
 * (bit 1) or -1 (bit 0; 0 * a < -1 is false, and no a is near it). Returns null when h is NaN at 0 or inside [-2^101, 2^101].
 */
export function floatThreshold(h: (a: number) => number): FloatThreshold | null {
  const bit = (a: number) => (h(a) < 0 ? 1 : 0);
  const nan = (a: number) => Number.isNaN(h(a));
  if (nan(0)) return null;
  const lo = nan(-F32_MAX) ? fromOrderKey(crossing(orderKey(-F32_MAX), 0, nan)[1]) : -F32_MAX;
  const hi = nan(F32_MAX) ? fromOrderKey(crossing(0, orderKey(F32_MAX), nan)[0]) : F32_MAX;
  if (lo > -FLOAT_THRESHOLD_RANGE || hi < FLOAT_THRESHOLD_RANGE) return null;
  const special =
    bit(Number.NaN) | (bit(Number.NEGATIVE_INFINITY) << 1) | (bit(Number.POSITIVE_INFINITY) << 2);
  const bLo = bit(lo);
  if (bLo === bit(hi)) return { sign: 0, threshold: bLo ? 1 : -1, lo, hi, special };
  const [below, above] = crossing(orderKey(lo), orderKey(hi), (a) => bit(a) === 1);
  return bLo === 1
    ? { sign: 1, threshold: fromOrderKey(above), lo, hi, special }
    : { sign: -1, threshold: -fromOrderKey(below), lo, hi, special };
}

/**
 * Whether a threshold rule is bit = sign * a < threshold on every float a: its range holds every
 * finite float, and the bits of NaN, -Infinity and +Infinity are that comparison's (the kernels then
 * skip the range and special checks).
 */
export function isPlainThreshold(t: FloatThreshold): boolean {
  const bit = (a: number) => (t.sign * a < t.threshold ? 1 : 0);
  return (
    t.lo <= -F32_MAX &&
    t.hi >= F32_MAX &&
    t.special ===
      (bit(Number.NaN) | (bit(Number.NEGATIVE_INFINITY) << 1) | (bit(Number.POSITIVE_INFINITY) << 2))
  );
}

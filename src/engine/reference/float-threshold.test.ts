import { describe, expect, it } from 'vitest';
import { Random } from '../../util/random.js';
import { batchNormValue } from './float.js';
import { FLOAT_THRESHOLD_RANGE, floatThreshold } from './transform.js';

const F32_MAX = 3.4028234663852886e38;
const f = new Float32Array(1);
const u = new Uint32Array(f.buffer);
/** The next float32 above (dir 1) or below (dir -1) a finite float32 x. */
function step(x: number, dir: 1 | -1): number {
  if (x === 0) return dir * 2 ** -149;
  f[0] = x;
  u[0] += x > 0 === dir > 0 ? 1 : -1;
  return f[0];
}

/** The rule a FloatThreshold states, for any float32 a. */
function rule(t: NonNullable<ReturnType<typeof floatThreshold>>, a: number): number {
  if (Number.isNaN(a)) return t.special & 1;
  if (a === Number.NEGATIVE_INFINITY) return (t.special >> 1) & 1;
  if (a === Number.POSITIVE_INFINITY) return (t.special >> 2) & 1;
  if (a < t.lo || a > t.hi) return 0;
  return Math.fround(t.sign * a) < t.threshold ? 1 : 0;
}

describe('floatThreshold: the bit of sign(h(a)) as a threshold on a float32 a', () => {
  it('BatchNorm forms of either sign: the rule equals h at the crossing, its neighbours and random points', () => {
    const rng = new Random(5);
    for (let trial = 0; trial < 300; trial++) {
      const gamma = Math.fround(trial % 10 === 3 ? 0 : rng.normal() * 10 ** rng.int(4));
      const beta = Math.fround(rng.normal());
      const mean = Math.fround(rng.normal() * 100);
      const divisor = Math.fround(0.01 + rng.next() * 3);
      const h = (a: number) => batchNormValue(a, gamma, beta, mean, divisor);
      const t = floatThreshold(h)!;
      expect(t, `trial ${trial}`).not.toBeNull();
      expect(t.sign).toBe(gamma > 0 ? 1 : gamma < 0 ? -1 : 0);
      const c = t.sign === 0 ? 0 : t.sign * t.threshold;
      const points = [
        c,
        step(c, 1),
        step(c, -1),
        step(step(c, 1), 1),
        step(step(c, -1), -1),
        0,
        -0,
        F32_MAX,
        -F32_MAX,
      ];
      for (let i = 0; i < 20; i++) points.push(Math.fround(rng.normal() * 10 ** rng.int(8)));
      points.push(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
      for (const a of points) expect(rule(t, a), `trial ${trial} a ${a}`).toBe(h(a) < 0 ? 1 : 0);
    }
  });

  it('NaN at the ends (an overflow times a zero multiplier): bit 0 outside [lo, hi], the threshold inside', () => {
    // h(a) = f32(f32(f32(a * 3) + 1) * 0) - 0.5: f32(a * 3) overflows to +-Infinity for |a| > F32_MAX / 3.
    const h = (a: number) => Math.fround(Math.fround(Math.fround(Math.fround(a * 3) + 1) * 0) - 0.5);
    const t = floatThreshold(h)!;
    expect(t.sign).toBe(0);
    expect(t.threshold).toBe(1);
    expect(Number.isNaN(h(step(t.hi, 1))) && !Number.isNaN(h(t.hi))).toBe(true);
    expect(Number.isNaN(h(step(t.lo, -1))) && !Number.isNaN(h(t.lo))).toBe(true);
    for (const a of [t.lo, t.hi, step(t.lo, -1), step(t.hi, 1), F32_MAX, -F32_MAX, 0, 1e30])
      expect(rule(t, a), `a ${a}`).toBe(h(a) < 0 ? 1 : 0);
    // NaN already inside [-2^101, 2^101]: no threshold form.
    const early = (a: number) => Math.fround(Math.fround(Math.fround(a * 1e25) + 1) * 0);
    expect(FLOAT_THRESHOLD_RANGE * 1e25 > F32_MAX).toBe(true);
    expect(floatThreshold(early)).toBeNull();
  });
});

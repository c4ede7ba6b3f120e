import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { erf, erfc, integrate, normalCdf, normalQuantile, SQRT_HALF_PI, xi } from './numeric.js';

describe('erf / erfc', () => {
  // Reference values from Abramowitz & Stegun table 7.1 / high-precision tables.
  it.each([
    [0, 0],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [2.9, 0.9999589021219005],
    [3, 0.9999779095030014],
    [4, 0.9999999845827421],
  ])('erf(%d) = %d', (x, expected) => {
    expect(erf(x)).toBeCloseTo(expected, 14);
    expect(erf(-x)).toBeCloseTo(-expected, 14);
  });

  it('erfc keeps relative accuracy in the tail', () => {
    expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 12);
    expect(erfc(5) / 1.5374597944280349e-12).toBeCloseTo(1, 12);
    expect(erfc(10) / 2.088487583762545e-45).toBeCloseTo(1, 12);
  });

  it('is continuous across the series / continued-fraction switch at 3', () => {
    expect(Math.abs(erf(3 - 1e-12) - erf(3 + 1e-12))).toBeLessThan(1e-15);
    expect(erfc(3 - 1e-12) / erfc(3 + 1e-12)).toBeCloseTo(1, 10);
  });

  it('gives the normal CDF and quantile', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 10);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424308822899, 9);
    expect(() => normalQuantile(1)).toThrow(ConfigError);
  });
});

describe('integrate (adaptive Gauss-Kronrod)', () => {
  it('integrates smooth functions to near machine precision', () => {
    expect(integrate(Math.sin, 0, Math.PI)).toBeCloseTo(2, 13);
    expect(integrate(Math.exp, -1, 2)).toBeCloseTo(Math.exp(2) - Math.exp(-1), 12);
    // The 15-point Kronrod rule is exact for polynomials up to degree 22.
    expect(integrate((x) => x ** 20, 0, 1)).toBeCloseTo(1 / 21, 15);
  });

  it('adapts to a sharp peak', () => {
    const f = (x: number) => 1 / (1e-4 + x * x);
    expect(integrate(f, -1, 1)).toBeCloseTo((2 / 1e-2) * Math.atan(1 / 1e-2), 8);
  });

  it('returns 0 for an empty range and rejects infinite bounds', () => {
    expect(integrate(Math.exp, 1, 1)).toBe(0);
    expect(() => integrate(Math.exp, 0, Number.POSITIVE_INFINITY)).toThrow(ConfigError);
  });
});

describe('xi(x) = int_0^x r^2 exp(-r^2/2) dr', () => {
  const direct = (x: number) => integrate((r) => r * r * Math.exp(-0.5 * r * r), 0, x);
  it.each([1e-3, 0.1, 0.49, 0.5, 0.51, 1, 2.5, 6])('matches direct quadrature at %d', (x) => {
    expect(xi(x) / direct(x)).toBeCloseTo(1, 12);
  });

  it('has the limits xi(0) = 0, xi(x) ~ x^3/3, xi(inf) = sqrt(pi/2)', () => {
    expect(xi(0)).toBe(0);
    expect(xi(1e-4) / (1e-12 / 3)).toBeCloseTo(1, 8);
    expect(xi(Number.POSITIVE_INFINITY)).toBe(SQRT_HALF_PI);
    expect(xi(40)).toBeCloseTo(Math.sqrt(Math.PI / 2), 15);
  });

  it('rejects negative arguments', () => {
    expect(() => xi(-1)).toThrow(ConfigError);
  });
});

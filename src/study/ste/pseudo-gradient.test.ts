import { beforeAll, describe, expect, it } from 'vitest';
import { useFastestBackend } from '../../backend/index.js';
import { ConfigError } from '../../errors.js';
import { halfGaussianAlpha, SteSign } from '../../quantizers/index.js';
import { BINARY_QUANTIZER_CASES, grid, identitySign, quantizerShape, shapeChart } from './pseudo-gradient.js';

const at = (shape: { x: number[]; gradient: number[]; value: number[] }, x: number) => {
  const i = shape.x.indexOf(x);
  expect(i).toBeGreaterThanOrEqual(0);
  return { value: shape.value[i], gradient: shape.gradient[i] };
};

describe('grid', () => {
  it('has exact end points and zero', () => {
    const g = grid(-2, 2, 401);
    expect(g.length).toBe(401);
    expect(g[0]).toBe(-2);
    expect(g[200]).toBe(0);
    expect(g[300]).toBe(1);
    expect(g[400]).toBe(2);
    expect(() => grid(1, 0, 5)).toThrow(ConfigError);
    expect(() => grid(0, 1, 1)).toThrow(/n >= 2/);
  });
});

describe('quantizerShape: pseudo-gradients through tf.grad match their formulas', () => {
  const xs = grid(-2, 2, 401);
  let shapes: Record<string, ReturnType<typeof quantizerShape>> = {};
  beforeAll(async () => {
    await useFastestBackend();
    shapes = Object.fromEntries(BINARY_QUANTIZER_CASES.map((c) => [c.name, quantizerShape(c, xs)]));
  });

  it('every binary quantizer has the forward sign(x) with sign(0) = +1', () => {
    for (const s of Object.values(shapes)) {
      s.x.forEach((x, i) => {
        expect(s.value[i]).toBe(x < 0 ? -1 : 1);
      });
    }
  });

  it('ste_sign: 1{|x| <= 1}, including the clip edges', () => {
    const s = shapes.ste_sign;
    expect(at(s, 0).gradient).toBe(1);
    expect(at(s, 1).gradient).toBe(1);
    expect(at(s, -1).gradient).toBe(1);
    expect(at(s, 1.01).gradient).toBe(0);
    expect(at(s, -2).gradient).toBe(0);
  });

  it('approx_sign: 2 - 2|x| on |x| <= 1, else 0', () => {
    const s = shapes.approx_sign;
    expect(at(s, 0).gradient).toBeCloseTo(2, 6);
    expect(at(s, 0.5).gradient).toBeCloseTo(1, 6);
    expect(at(s, -0.25).gradient).toBeCloseTo(1.5, 6);
    expect(at(s, 1).gradient).toBeCloseTo(0, 6);
    expect(at(s, 1.5).gradient).toBe(0);
  });

  it('swish_sign (beta 5): beta (2 - beta x tanh(beta x / 2)) / (1 + cosh(beta x))', () => {
    const s = shapes.swish_sign;
    // At 0: 5 * 2 / 2 = 5. At x = 0.5: bx = 2.5.
    expect(at(s, 0).gradient).toBeCloseTo(5, 5);
    const bx = 2.5;
    expect(at(s, 0.5).gradient).toBeCloseTo((5 * (2 - bx * Math.tanh(bx / 2))) / (1 + Math.cosh(bx)), 5);
    // Even function; negative beyond the zero of 2 - bx tanh(bx / 2) (bx about 2.4).
    expect(at(s, -0.5).gradient).toBeCloseTo(at(s, 0.5).gradient, 6);
    expect(at(s, 0.5).gradient).toBeLessThan(0);
  });

  it('identity_sign: 1 everywhere, the same as SteSign with clipValue null', () => {
    const s = shapes.identity_sign;
    expect(s.gradient.every((g) => g === 1)).toBe(true);
    const ref = quantizerShape({ name: 'ref', quantizer: new SteSign({ clipValue: null }) }, xs);
    expect(ref.gradient).toEqual(s.gradient);
    expect(ref.value).toEqual(s.value);
    expect(quantizerShape({ name: 'fn', quantizer: identitySign }, [0]).value).toEqual([1]);
  });

  it("quantized_relu's three STEs: 1, 1{x > 0}, 1{0 < x < 3 alpha} (2 bits)", () => {
    const alpha = halfGaussianAlpha(2);
    const top = 3 * alpha;
    const pts = [-0.5, 0, 0.25, top - 0.01, top + 0.01, 2];
    const mk = (ste: string) =>
      quantizerShape({ name: ste, quantizer: { className: 'QuantizedRelu', config: { kBit: 2, ste } } }, pts);
    expect(mk('identity').gradient).toEqual([1, 1, 1, 1, 1, 1]);
    expect(mk('relu').gradient).toEqual([0, 0, 1, 1, 1, 1]);
    expect(mk('clipped_relu').gradient).toEqual([0, 0, 1, 1, 0, 0]);
    // Forward: 0, 0, alpha ceil(0.25 / alpha) = alpha (alpha about 0.486), 3 alpha, 3 alpha, 3 alpha.
    const v = mk('relu').value;
    expect(v[0]).toBe(0);
    expect(v[1]).toBe(0);
    expect(v[2]).toBeCloseTo(alpha, 6);
    for (const k of [3, 4, 5]) expect(v[k]).toBeCloseTo(top, 5);
  });

  it('shapeChart has a forward and a gradient panel; bad grids are rejected', () => {
    const spec = shapeChart('t', Object.values(shapes)) as { concat: unknown[] };
    expect(spec.concat.length).toBe(2);
    expect(() => quantizerShape(BINARY_QUANTIZER_CASES[0], [])).toThrow(ConfigError);
    expect(() => quantizerShape({ name: 'none', quantizer: null }, [0])).toThrow(ConfigError);
  });
});

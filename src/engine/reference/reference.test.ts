import { describe, expect, it } from 'vitest';
import { Random } from '../../util/random.js';
import { wordsFor } from '../shapes.js';
import { randomPacked } from '../testing/models.js';
import { bconv2d, bdense } from './binary.js';
import { packSigns, popcount32, unpackSigns } from './bits.js';
import { avgPool2d, concat, conv2d, dense, globalAvgPool, maxPool2d, softmax } from './float.js';
import type { BitTensor, FloatTensor } from './tensor.js';
import { applyTransform, floatTransform, thresholdsFromAffine } from './transform.js';

const identity = { kind: 'float' } as const;

/** Packed [Cout, kh, kw, Cin] signs as float32 HWIO +-1 weights. */
function unpackWeights(w: Uint32Array, cout: number, kh: number, kw: number, cin: number): Float32Array {
  const cw = wordsFor(cin);
  const out = new Float32Array(kh * kw * cin * cout);
  for (let o = 0; o < cout; o++)
    for (let t = 0; t < kh * kw; t++)
      for (let c = 0; c < cin; c++)
        out[(t * cin + c) * cout + o] = (w[(o * kh * kw + t) * cw + (c >> 5)] >>> (c & 31)) & 1 ? -1 : 1;
  return out;
}

function randomBits(rng: Random, shape: number[]): BitTensor {
  const pixels = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return { kind: 'bits', shape, data: randomPacked(rng, pixels, shape[shape.length - 1]) };
}

describe('bit packing (bit 1 = -1, element i in bit i, sign(0) = +1)', () => {
  it('packs a hand-made row of 33 values', () => {
    const x = new Float32Array(33).fill(1);
    x[0] = 0;
    x[1] = -0;
    x[2] = -1e-30;
    x[3] = Number.NaN;
    x[5] = -2;
    x[31] = -3;
    x[32] = -1;
    const t = packSigns(x, [1, 33]);
    // Negatives at 2, 5, 31 in word 0 and at 32 (bit 0) in word 1; 0, -0 and NaN are +1.
    expect(Array.from(t.data)).toEqual([((1 << 2) | (1 << 5) | (1 << 31)) >>> 0, 1]);
    expect(Array.from(unpackSigns(t).data.subarray(0, 6))).toEqual([1, 1, -1, 1, 1, -1]);
  });

  it('popcount32 counts bits', () => {
    expect([0, 1, 0xff, 0x80000000, 0xffffffff, 0x12345678].map(popcount32)).toEqual([0, 1, 8, 1, 32, 13]);
  });
});

describe('reference binary conv2d', () => {
  // x (3x3, one channel) and a 2x2 kernel, worked by hand in +-1 arithmetic.
  const xs = [1, -1, 1, -1, -1, 1, 1, 1, -1];
  const ws = [1, -1, -1, 1];
  const x = packSigns(Float32Array.from(xs), [1, 3, 3, 1]);
  const w = packSigns(Float32Array.from(ws), [1, 2, 2, 1]).data;
  const attrs = {
    kernelSize: [2, 2] as [number, number],
    strides: [1, 1] as [number, number],
    dilations: [1, 1] as [number, number],
    filters: 1,
  };

  it("'valid': the four dot products worked by hand", () => {
    const y = bconv2d(x, w, { ...attrs, padding: 'valid', padValue: 1 }, identity) as FloatTensor;
    expect(Array.from(y.data)).toEqual([2, 0, 0, -4]);
  });

  it("'same' pads after (TensorFlow): the corner tap sees pads of +1 or 0", () => {
    const one = bconv2d(x, w, { ...attrs, padding: 'same', padValue: 1 }, identity) as FloatTensor;
    const zero = bconv2d(x, w, { ...attrs, padding: 'same', padValue: 0 }, identity) as FloatTensor;
    // (2,2): x22 * w00 = -1, plus pads * (w01 + w10 + w11) = pads * -1.
    expect(one.data[8]).toBe(-2);
    expect(zero.data[8]).toBe(-1);
    // (0,2): x02 * w00 + x12 * w10 = 1 - 1 = 0, plus pads * (w01 + w11) = 0.
    expect(one.data[2]).toBe(0);
    expect(zero.data[2]).toBe(0);
    expect(Array.from(one.data.subarray(0, 2))).toEqual([2, 0]);
  });

  it('equals a float conv of sign(x), sign(w) over random shapes, strides, dilations and both pad values', () => {
    const rng = new Random(21);
    for (let trial = 0; trial < 60; trial++) {
      const cin = [1, 5, 31, 32, 33, 64, 65, 100][trial % 8];
      const kh = 1 + rng.int(3);
      const kw = 1 + rng.int(3);
      const a = {
        kernelSize: [kh, kw] as [number, number],
        strides: [1 + rng.int(2), 1 + rng.int(3)] as [number, number],
        dilations: [1 + rng.int(2), 1 + rng.int(2)] as [number, number],
        padding: rng.next() < 0.6 ? ('same' as const) : ('valid' as const),
        filters: 1 + rng.int(40),
        padValue: rng.int(2) as 0 | 1,
      };
      const xb = randomBits(rng, [1 + rng.int(2), 5 + rng.int(5), 5 + rng.int(5), cin]);
      const wb = randomPacked(rng, a.filters * kh * kw, cin);
      const got = bconv2d(xb, wb, a, identity) as FloatTensor;
      const want = conv2d(unpackSigns(xb), unpackWeights(wb, a.filters, kh, kw, cin), a, identity);
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.data)).toEqual(Array.from(want.data));
    }
  });
});

describe('reference binary dense', () => {
  it('equals a float dense of the signs, for rank-2 and flattened rank-4 inputs with C not a multiple of 32', () => {
    const rng = new Random(22);
    for (const shape of [
      [3, 70],
      [2, 3, 3, 37],
      [1, 2, 2, 64],
      [2, 1],
    ]) {
      const units = 1 + rng.int(20);
      const xb = randomBits(rng, shape);
      const c = shape[shape.length - 1];
      const pixels = shape.slice(1, -1).reduce((p, d) => p * d, 1);
      const wb = randomPacked(rng, units * pixels, c);
      const got = bdense(xb, wb, units, identity) as FloatTensor;
      // Float weights [K, units] in flattened NHWC order.
      const k = pixels * c;
      const wf = new Float32Array(k * units);
      for (let u = 0; u < units; u++)
        for (let p = 0; p < pixels; p++)
          for (let i = 0; i < c; i++)
            wf[(p * c + i) * units + u] =
              (wb[(u * pixels + p) * wordsFor(c) + (i >> 5)] >>> (i & 31)) & 1 ? -1 : 1;
      const want = dense(unpackSigns(xb), wf, units, identity);
      expect(Array.from(got.data)).toEqual(Array.from(want.data));
    }
  });
});

describe('reference float ops', () => {
  it('conv2d with packed +-1 weights equals conv2d with the same float weights', () => {
    const rng = new Random(23);
    const x: FloatTensor = {
      kind: 'float',
      shape: [2, 6, 7, 3],
      data: Float32Array.from({ length: 252 }, () => rng.normal()),
    };
    const wb = randomPacked(rng, 5 * 9, 3);
    const a = {
      kernelSize: [3, 3] as [number, number],
      strides: [2, 1] as [number, number],
      dilations: [1, 1] as [number, number],
      padding: 'same' as const,
      filters: 5,
      padValue: 0,
    };
    const got = conv2d(x, wb, a, identity);
    const want = conv2d(x, unpackWeights(wb, 5, 3, 3, 3), a, identity);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
  });

  it('max pool on packed bits equals max pool on the +-1 values (AND of sign bits)', () => {
    const rng = new Random(24);
    for (const padding of ['valid', 'same'] as const) {
      const xb = randomBits(rng, [2, 7, 5, 45]);
      const a = { kernelSize: [3, 2] as [number, number], strides: [2, 2] as [number, number], padding };
      const got = unpackSigns(maxPool2d(xb, a) as BitTensor);
      const want = maxPool2d(unpackSigns(xb), a) as FloatTensor;
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.data)).toEqual(Array.from(want.data));
    }
  });

  it('avg pool with same padding averages only the taps inside (hand-worked)', () => {
    // 3x3 single channel 1..9, 2x2 pool stride 2 'same': out 2x2, padding after.
    const x: FloatTensor = {
      kind: 'float',
      shape: [1, 3, 3, 1],
      data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    };
    const y = avgPool2d(x, { kernelSize: [2, 2], strides: [2, 2], padding: 'same' });
    expect(Array.from(y.data)).toEqual([(1 + 2 + 4 + 5) / 4, (3 + 6) / 2, (7 + 8) / 2, 9]);
    expect(Array.from(globalAvgPool(x).data)).toEqual([5]);
    const m = maxPool2d(x, { kernelSize: [2, 2], strides: [2, 2], padding: 'same' }) as FloatTensor;
    expect(Array.from(m.data)).toEqual([5, 6, 8, 9]);
  });

  it('concat along channels (hand-worked)', () => {
    const a: FloatTensor = { kind: 'float', shape: [1, 2, 2], data: Float32Array.from([1, 2, 3, 4]) };
    const b: FloatTensor = { kind: 'float', shape: [1, 2, 1], data: Float32Array.from([9, 8]) };
    const y = concat([a, b, a]);
    expect(y.shape).toEqual([1, 2, 5]);
    expect(Array.from(y.data)).toEqual([1, 2, 9, 1, 2, 3, 4, 8, 3, 4]);
  });

  it('softmax of [0, ln 2, ln 3] is [1/6, 2/6, 3/6] and is shift-invariant', () => {
    const x: FloatTensor = {
      kind: 'float',
      shape: [2, 3],
      data: Float32Array.from([0, Math.LN2, Math.log(3), 1000, 1000 + Math.LN2, 1000 + Math.log(3)]),
    };
    const y = softmax(x).data;
    // Row 1 holds 1000 + ln 2 rounded to float32 (ulp 6e-5), hence 4 digits there.
    for (const [r, digits] of [
      [0, 6],
      [3, 4],
    ]) {
      expect(y[r]).toBeCloseTo(1 / 6, digits);
      expect(y[r + 1]).toBeCloseTo(2 / 6, digits);
      expect(y[r + 2]).toBeCloseTo(3 / 6, digits);
    }
  });
});

describe('output transforms and thresholds', () => {
  it('float transform: clamp(dot) * m + b, then the output clamp (hand-worked)', () => {
    const t = {
      kind: 'float' as const,
      dotClamp: [-3, 5] as [number, number],
      outClamp: [0, null] as [number | null, null],
    };
    expect(floatTransform(9, 0.5, 1, t)).toBe(3.5); // clamp(9) = 5 -> 2.5 + 1
    expect(floatTransform(-9, 0.5, 1, t)).toBe(0); // -1.5 + 1 < 0 -> 0
    expect(floatTransform(-9, 0.5, 2, t)).toBe(0.5);
  });

  it('bit output equals sign() of the float path on every dot in [-K, K], including gamma < 0, gamma = 0 and clamps', () => {
    const rng = new Random(25);
    const k = 75;
    const n = 64;
    const gamma = Float32Array.from({ length: n }, (_, i) =>
      i % 8 === 0 ? 0 : (rng.next() < 0.4 ? -1 : 1) * rng.next() * 3,
    );
    const beta = Float32Array.from({ length: n }, () => rng.normal() * 30);
    for (const clamps of [
      {},
      { dotClamp: [-20, 40] as [number, number] },
      { outClamp: [0, null] as [number, null] },
      { dotClamp: [null, -80] as [null, number] },
    ]) {
      const { sign, threshold } = thresholdsFromAffine(k, gamma, beta, clamps);
      const dots = new Float64Array((2 * k + 1) * n);
      for (let d = -k; d <= k; d++) for (let c = 0; c < n; c++) dots[(d + k) * n + c] = d;
      const bits = applyTransform(dots, [2 * k + 1, n], { kind: 'bits', sign, threshold }) as BitTensor;
      const floats = applyTransform(dots, [2 * k + 1, n], {
        kind: 'float',
        multiplier: gamma,
        bias: beta,
        ...clamps,
      }) as FloatTensor;
      expect(Array.from(unpackSigns(bits).data)).toEqual(Array.from(packAndUnpack(floats)));
      for (let c = 0; c < n; c += 8) expect(sign[c]).toBe(0);
    }
  });

  it("matches LCE's tau = floor((beta / |gamma| + K) / 2) on the accumulator for one-padded binary ops", () => {
    // Dyadic gamma and beta so float32 rounding cannot move the crossing.
    const k = 64;
    const gamma = [0.5, 0.25, -0.5, -2];
    const beta = [3.25, -7.5, 1.75, 10];
    const { sign, threshold } = thresholdsFromAffine(k, gamma, beta);
    for (let c = 0; c < 4; c++) {
      const tau = Math.floor((beta[c] / Math.abs(gamma[c]) + k) / 2);
      for (let acc = 0; acc <= k; acc++) {
        // LCE flips the weights of gamma < 0 channels: their accumulator is K - acc.
        const lceAcc = gamma[c] > 0 ? acc : k - acc;
        const dot = k - 2 * acc;
        expect(sign[c] * dot < threshold[c], `channel ${c} acc ${acc}`).toBe(lceAcc > tau);
      }
    }
  });
});

function packAndUnpack(t: FloatTensor): Float32Array {
  return unpackSigns(packSigns(t.data, t.shape)).data;
}

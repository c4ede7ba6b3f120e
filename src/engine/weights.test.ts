import { describe, expect, it } from 'vitest';
import { ShapeError } from '../errors.js';
import { Random } from '../util/random.js';
import { bconv2d, bdense } from './reference/binary.js';
import { packSigns } from './reference/bits.js';
import { conv2d, dense, flatten } from './reference/float.js';
import type { FloatTensor } from './reference/tensor.js';
import { foldBatchNorm, packConvKernel, packDenseKernel } from './weights.js';

const identity = { kind: 'float' } as const;
const signs = (v: Float32Array) => v.map((x) => (x < 0 ? -1 : 1));

describe('weight packing for the converter', () => {
  it('packs a hand-made 1x1 kernel: bit 1 exactly where w < 0 (0 counts as +1)', () => {
    // HWIO [1, 1, 3, 2]: w[c, o]
    const w = [0.5, -1, 0, -0.0, -2, 3];
    // o = 0: c0 0.5 (+), c1 0 (+), c2 -2 (-) -> bit 2; o = 1: c0 -1 (-), c1 -0 (+), c2 3 (+) -> bit 0.
    expect(Array.from(packConvKernel(w, [1, 1, 3, 2]))).toEqual([0b100, 0b001]);
  });

  it('a packed conv kernel gives the binary conv of the float conv on sign(x), sign(w)', () => {
    const rng = new Random(51);
    const shape: [number, number, number, number] = [3, 2, 37, 5];
    const w = Float32Array.from({ length: 3 * 2 * 37 * 5 }, () => rng.normal());
    const x: FloatTensor = {
      kind: 'float',
      shape: [1, 5, 6, 37],
      data: Float32Array.from({ length: 5 * 6 * 37 }, () => rng.normal()),
    };
    const attrs = {
      kernelSize: [3, 2] as [number, number],
      strides: [1, 2] as [number, number],
      dilations: [1, 1] as [number, number],
      padding: 'same' as const,
      filters: 5,
    };
    const got = bconv2d(
      packSigns(x.data, x.shape),
      packConvKernel(w, shape),
      { ...attrs, padValue: 0 },
      identity,
    ) as FloatTensor;
    const want = conv2d({ ...x, data: signs(x.data) }, signs(w), { ...attrs, padValue: 0 }, identity);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
  });

  it('a dense kernel after Flatten of NHWC packs per pixel so bdense reads the packed 4-D tensor directly', () => {
    const rng = new Random(52);
    const x: FloatTensor = {
      kind: 'float',
      shape: [2, 3, 3, 40],
      data: Float32Array.from({ length: 2 * 360 }, () => rng.normal()),
    };
    const k = Float32Array.from({ length: 360 * 7 }, () => rng.normal());
    const got = bdense(
      packSigns(x.data, x.shape),
      packDenseKernel(k, [360, 7], [3, 3, 40]),
      7,
      identity,
    ) as FloatTensor;
    const want = dense(flatten({ ...x, data: signs(x.data) }), signs(k), 7, identity);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
    const flat = bdense(
      packSigns(flatten(x).data, [2, 360]),
      packDenseKernel(k, [360, 7]),
      7,
      identity,
    ) as FloatTensor;
    expect(Array.from(flat.data)).toEqual(Array.from(want.data));
    expect(() => packDenseKernel(k, [360, 7], [3, 3, 41])).toThrow(ShapeError);
  });

  it('folds BatchNorm: multiplier = gamma / sqrt(var + eps), bias = beta - mean * multiplier (hand-worked)', () => {
    const { multiplier, bias } = foldBatchNorm({
      gamma: [2, 1],
      beta: [1, 0],
      movingMean: [3, -1],
      movingVariance: [3.999, 0.249],
      epsilon: 1e-3,
    });
    // sqrt(4) = 2: m0 = 1, b0 = 1 - 3 = -2; sqrt(0.25) = 0.5: m1 = 2, b1 = 0 + 2 = 2.
    expect(Array.from(multiplier)).toEqual([1, 2]);
    expect(Array.from(bias)).toEqual([-2, 2]);
    // scale=false (Larq's intro network): gamma absent = 1.
    expect(
      Array.from(foldBatchNorm({ movingMean: [0], movingVariance: [0.999], epsilon: 1e-3 }).multiplier),
    ).toEqual([1]);
    expect(() => foldBatchNorm({ movingMean: [0, 1], movingVariance: [1], epsilon: 1e-3 })).toThrow(
      /movingVariance/,
    );
  });
});

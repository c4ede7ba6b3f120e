/**
 * The +-1 convolution kernels against the cpu backend's float convolutions (a second implementation),
 * on shapes that are not multiples of 4 or 32, with strides, paddings, dilations and batch sizes; with
 * +-1 operands taking the fast path and other operands falling back (asserted through
 * binaryConvStats); and a gradient through a binarized QuantConv2D layer, wasm vs cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import './index.js';
import { quantConv2d, quantDense } from '../layers/index.js';
import '../quantizers/index.js';
import { Random } from '../util/random.js';
import {
  binaryConvStats,
  MIN_PACKED_KERNEL_ROWS,
  resetBinaryConvStats,
  setBinaryConvEnabled,
} from './binary-conv-kernels.js';
import { setHeapKernelsEnabled } from './heap-kernels.js';
import { relError, runOn, seededValues } from './testing.js';

type Shape4 = [number, number, number, number];

/** A seeded tensor of exactly +1 / -1 values. */
function pm1(shape: number[], seed: number): tf.Tensor4D {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next() < 0.5 ? -1 : 1;
  return tf.tensor4d(v, shape as Shape4);
}
/** The Conv2DBackpropFilter kernel (tfjs-core exports no op for it). */
function filterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  strides: [number, number] | number,
  pad: Case['pad'],
): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides,
    pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
const normal = (shape: number[], seed: number) => tf.tensor4d(seededValues(shape, seed), shape as Shape4);

interface Case {
  x: Shape4;
  f: Shape4;
  s: [number, number];
  pad: 'valid' | 'same' | tf.backend_util.ExplicitPadding;
  d?: [number, number];
}
// Channel counts around 32 (one packed word and a partial second), output channels not multiples of 4.
const CASES: Case[] = [
  { x: [2, 7, 6, 5], f: [3, 3, 5, 7], s: [1, 1], pad: 'valid' },
  { x: [3, 9, 8, 33], f: [3, 2, 33, 6], s: [2, 1], pad: 'same' },
  { x: [1, 6, 7, 32], f: [3, 3, 32, 9], s: [1, 1], pad: 'same', d: [2, 1] },
  { x: [2, 8, 9, 34], f: [2, 3, 34, 5], s: [1, 1], pad: 'valid', d: [1, 3] },
  {
    x: [2, 5, 6, 3],
    f: [2, 3, 3, 5],
    s: [1, 1],
    pad: [
      [0, 0],
      [2, 1],
      [0, 2],
      [0, 0],
    ],
  },
  { x: [5, 11, 13, 64], f: [3, 3, 64, 13], s: [2, 2], pad: 'valid' },
  // 4 words a pixel, 36 a window: the forward's byte-wise popcount sums are widened twice.
  { x: [2, 5, 6, 100], f: [3, 3, 100, 6], s: [1, 1], pad: 'same' },
];

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});
beforeEach(() => resetBinaryConvStats());

/** Runs f on cpu then on wasm; the wasm run's binaryConvStats are returned with both results. */
async function both(f: () => tf.Tensor | tf.Tensor[]) {
  const ref = await runOn('cpu', f);
  resetBinaryConvStats();
  const got = await runOn('wasm', f);
  return { ref, got, stats: { ...binaryConvStats } };
}

describe('XNOR-popcount Conv2D', () => {
  it.each(CASES)('x $x, filter $f, strides $s, pad $pad, dilation $d: exact on +-1 operands', async (c) => {
    const { ref, got, stats } = await both(() =>
      tf.conv2d(pm1(c.x, 1), pm1(c.f, 2), c.s, c.pad, 'NHWC', c.d ?? 1),
    );
    expect(stats.forward).toBe(1);
    // Sums of +-1 are exact integers in float32: equal to the float convolution bit for bit.
    expect(Array.from(got[0]!)).toEqual(Array.from(ref[0]!));
  });

  it('every bit differing over a 36-word window (byte sums of 288 without widening) stays exact', async () => {
    const { ref, got, stats } = await both(() =>
      tf.conv2d(
        tf.fill([1, 4, 4, 100], -1) as tf.Tensor4D,
        tf.ones([3, 3, 100, 5]) as tf.Tensor4D,
        1,
        'same',
      ),
    );
    expect(stats.forward).toBe(1);
    expect(got[0]![(1 * 4 + 1) * 5]).toBe(-900); // pixel (1, 1): 9 taps x 100 channels of (-1)(+1)
    expect(Array.from(got[0]!)).toEqual(Array.from(ref[0]!));
  });

  it('fused conv2d without bias or activation takes the fast path, with a bias it falls back', async () => {
    const x = () => pm1([2, 6, 7, 10], 3);
    const w = () => pm1([3, 3, 10, 6], 4);
    const plain = await both(() => tf.fused.conv2d({ x: x(), filter: w(), strides: 1, pad: 'same' }));
    expect(plain.stats.forward).toBe(1);
    expect(Array.from(plain.got[0]!)).toEqual(Array.from(plain.ref[0]!));
    const biased = await both(() =>
      tf.fused.conv2d({
        x: x(),
        filter: w(),
        strides: 1,
        pad: 'valid',
        bias: tf.ones([6]),
        activation: 'relu',
      }),
    );
    expect(biased.stats.forward).toBe(0);
    expect(relError(biased.got[0]!, biased.ref[0]!)).toBeLessThan(1e-5);
  });

  it('a float input, a float kernel or an input holding 0 falls back and still matches cpu', async () => {
    const zeroed = () => tf.concat([pm1([1, 5, 5, 4], 5), tf.zeros([1, 5, 5, 4])], 3) as tf.Tensor4D;
    for (const [x, w] of [
      [() => normal([2, 6, 5, 4], 6), () => pm1([3, 3, 4, 5], 7)],
      [() => pm1([2, 6, 5, 4], 8), () => normal([3, 3, 4, 5], 9)],
      [zeroed, () => pm1([3, 3, 8, 5], 10)],
    ] as Array<[() => tf.Tensor4D, () => tf.Tensor4D]>) {
      const r = await both(() => tf.conv2d(x(), w(), 1, 'same'));
      expect(r.stats.forward).toBe(0);
      expect(r.stats.fallback).toBeGreaterThan(0);
      expect(relError(r.got[0]!, r.ref[0]!)).toBeLessThan(1e-5);
    }
  });

  it(`fewer than ${MIN_PACKED_KERNEL_ROWS} output positions: the float kernel runs (packing the kernel would cost more)`, async () => {
    // 5x5 'valid' 3x3 -> 3x3 = 9 positions at batch 1; 18 at batch 2.
    const small = await both(() => tf.conv2d(pm1([1, 5, 5, 4], 11), pm1([3, 3, 4, 6], 12), 1, 'valid'));
    expect(small.stats.forward).toBe(0);
    expect(Array.from(small.got[0]!)).toEqual(Array.from(small.ref[0]!));
    const two = await both(() => tf.conv2d(pm1([2, 5, 5, 4], 11), pm1([3, 3, 4, 6], 12), 1, 'valid'));
    expect(two.stats.forward).toBe(1);
    expect(Array.from(two.got[0]!)).toEqual(Array.from(two.ref[0]!));
  });
});

describe('table-lookup Conv2DBackpropFilter', () => {
  it.each(CASES.filter((c) => c.d == null))(
    'x $x, filter $f, strides $s, pad $pad: matches cpu within float32 rounding',
    async (c) => {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.pad);
      const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
      const { ref, got, stats } = await both(() =>
        filterGrad(pm1(c.x, 1), normal(dyShape, 3), c.f, c.s, c.pad),
      );
      expect(stats.filterGrad).toBe(1);
      // Each entry sums up to B*OH*OW terms of size ~1 in another order than cpu's: float32 rounding
      // bounds the difference by about n * 2^-24 * sum |terms|; with n <= 300, 1e-4 relative is ample.
      expect(relError(got[0]!, ref[0]!)).toBeLessThan(1e-4);
    },
  );

  it('a float input falls back', async () => {
    const r = await both(() =>
      filterGrad(normal([2, 6, 5, 4], 1), normal([2, 4, 3, 5], 2), [3, 3, 4, 5], 1, 'valid'),
    );
    expect(r.stats.filterGrad).toBe(0);
    expect(relError(r.got[0]!, r.ref[0]!)).toBeLessThan(1e-4);
  });

  it('with the heap kernels off, the float path runs', async () => {
    setHeapKernelsEnabled(false);
    try {
      const r = await both(() =>
        filterGrad(pm1([2, 6, 5, 4], 1), normal([2, 4, 3, 5], 2), [3, 3, 4, 5], 1, 'valid'),
      );
      expect(r.stats.filterGrad).toBe(0);
      expect(relError(r.got[0]!, r.ref[0]!)).toBeLessThan(1e-4);
    } finally {
      setHeapKernelsEnabled(true);
    }
  });
});

/** The Conv2DBackpropInput kernel. */
function inputGrad(
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  inputShape: number[],
  strides: [number, number] | number,
  pad: Case['pad'],
): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
    strides,
    pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    inputShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

describe('table-lookup Conv2DBackpropInput', () => {
  // More positions than one 16-position block, partial blocks, and more than 8 groups of 4 output channels.
  const more: Case[] = [
    ...CASES.filter((c) => c.d == null),
    { x: [3, 13, 13, 32], f: [3, 3, 32, 64], s: [1, 1], pad: 'valid' },
  ];
  it.each(more)('x $x, filter $f, strides $s, pad $pad: matches cpu within float32 rounding', async (c) => {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.pad);
    const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    const { ref, got, stats } = await both(() => inputGrad(normal(dyShape, 3), pm1(c.f, 2), c.x, c.s, c.pad));
    expect(stats.inputGrad).toBe(1);
    // Each entry sums at most fh*fw*co terms of size ~1: 1e-4 relative is far above float32 rounding.
    expect(relError(got[0]!, ref[0]!)).toBeLessThan(1e-4);
  });

  it('a float filter falls back', async () => {
    const r = await both(() =>
      inputGrad(normal([2, 4, 3, 5], 1), normal([3, 3, 4, 5], 2), [2, 6, 5, 4], 1, 'valid'),
    );
    expect(r.stats.inputGrad).toBe(0);
    expect(r.stats.fallback).toBeGreaterThan(0);
    expect(relError(r.got[0]!, r.ref[0]!)).toBeLessThan(1e-4);
  });
});

/** A seeded +-1 matrix (rank 2) or float matrix. */
const pm1m = (r: number, c: number, seed: number) =>
  tf.reshape(pm1([1, 1, r, c], seed), [r, c]) as tf.Tensor2D;
const normm = (r: number, c: number, seed: number) => tf.tensor2d(seededValues([r, c], seed), [r, c]);

describe('binary matMul (Dense layers)', () => {
  // [m, k, n]: sizes not multiples of 4 or 32, one with more than 32 rows (two 32-row chunks).
  const SIZES: Array<[number, number, number]> = [
    [17, 7, 3],
    [37, 33, 10],
    [64, 70, 129],
  ];
  it.each(SIZES)('m %i, k %i, n %i: a b exact, a^T b and a b^T within float32 rounding', async (m, k, n) => {
    const fwd = await both(() => tf.matMul(pm1m(m, k, 1), pm1m(k, n, 2)));
    expect(fwd.stats.forward).toBe(1);
    expect(Array.from(fwd.got[0]!)).toEqual(Array.from(fwd.ref[0]!));
    const fused = await both(() => tf.fused.matMul({ a: pm1m(m, k, 1), b: pm1m(k, n, 2) }));
    expect(fused.stats.forward).toBe(1);
    expect(Array.from(fused.got[0]!)).toEqual(Array.from(fused.ref[0]!));
    const ta = await both(() => tf.matMul(pm1m(m, k, 3), normm(m, n, 4), true, false));
    expect(ta.stats.filterGrad).toBe(1);
    expect(relError(ta.got[0]!, ta.ref[0]!)).toBeLessThan(1e-4);
    const tb = await both(() => tf.matMul(normm(m, n, 5), pm1m(k, n, 6), false, true));
    expect(tb.stats.inputGrad).toBe(1);
    expect(relError(tb.got[0]!, tb.ref[0]!)).toBeLessThan(1e-4);
  });

  it(`fewer than ${MIN_PACKED_KERNEL_ROWS} rows: the paths that pack the kernel leave it to the float kernel`, async () => {
    const m = MIN_PACKED_KERNEL_ROWS - 1;
    const fwd = await both(() => tf.matMul(pm1m(m, 40, 1), pm1m(40, 9, 2)));
    expect(fwd.stats.forward).toBe(0);
    expect(Array.from(fwd.got[0]!)).toEqual(Array.from(fwd.ref[0]!));
    const tb = await both(() => tf.matMul(normm(m, 9, 5), pm1m(40, 9, 6), false, true));
    expect(tb.stats.inputGrad).toBe(0);
    expect(relError(tb.got[0]!, tb.ref[0]!)).toBeLessThan(1e-5);
    // x^T dy packs the +-1 rows themselves: it still takes the table lookup.
    const ta = await both(() => tf.matMul(pm1m(m, 40, 3), normm(m, 9, 4), true, false));
    expect(ta.stats.filterGrad).toBe(1);
    expect(relError(ta.got[0]!, ta.ref[0]!)).toBeLessThan(1e-4);
  });

  it('float operands, a bias, or both transposes fall back and match cpu', async () => {
    const cases: Array<() => tf.Tensor> = [
      () => tf.matMul(normm(6, 5, 1), pm1m(5, 7, 2)),
      () => tf.matMul(pm1m(6, 5, 1), normm(5, 7, 2)),
      () => tf.matMul(normm(6, 5, 3), normm(6, 7, 4), true, false),
      () => tf.matMul(normm(6, 7, 5), normm(5, 7, 6), false, true),
      () => tf.matMul(pm1m(5, 6, 7), pm1m(7, 5, 8), true, true),
      () => tf.fused.matMul({ a: pm1m(6, 5, 1), b: pm1m(5, 7, 2), bias: tf.ones([7]) }),
    ];
    for (const f of cases) {
      const r = await both(f);
      expect(r.stats.forward + r.stats.filterGrad + r.stats.inputGrad).toBe(0);
      expect(relError(r.got[0]!, r.ref[0]!)).toBeLessThan(1e-5);
    }
  });

  it('gradients through a binarized QuantDense layer: wasm (fast paths) vs cpu', async () => {
    const run = () => {
      const layer = quantDense({
        units: 37,
        useBias: false,
        inputQuantizer: 'ste_sign',
        kernelQuantizer: 'ste_sign',
      });
      const x = tf.tensor2d(seededValues([19, 45], 21), [19, 45]);
      layer.build(x.shape);
      layer.setWeights([tf.tensor2d(seededValues([45, 37], 22), [45, 37])]);
      const r = tf.tensor2d(seededValues([19, 37], 23), [19, 37]);
      const f = (xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx) as tf.Tensor, r));
      const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar);
      return [value, tf.grad(f)(x), ...Object.values(grads)];
    };
    const { ref, got, stats } = await both(run);
    expect(stats.forward).toBeGreaterThan(0);
    expect(stats.filterGrad).toBeGreaterThan(0);
    expect(stats.inputGrad).toBeGreaterThan(0);
    for (let i = 0; i < ref.length; i++) expect(relError(got[i]!, ref[i]!)).toBeLessThan(1e-4);
  });
});

describe('through a binarized QuantConv2D layer', () => {
  it('tf.grad of a loss w.r.t. the layer input and kernel: wasm (fast paths) vs cpu', async () => {
    const run = () => {
      const layer = quantConv2d({
        filters: 7,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        inputQuantizer: 'ste_sign',
        kernelQuantizer: 'ste_sign',
        kernelInitializer: 'glorotUniform',
      });
      const x = normal([3, 9, 8, 5], 11);
      layer.build(x.shape);
      const kernel = layer.getWeights()[0]!;
      layer.setWeights([tf.tensor(seededValues(kernel.shape, 12), kernel.shape)]);
      const r = normal([3, 9, 8, 7], 13);
      const f = (xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx) as tf.Tensor, r));
      const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar);
      const dx = tf.grad(f)(x);
      return [value, dx, ...Object.values(grads)];
    };
    const { ref, got, stats } = await both(run);
    expect(stats.forward).toBeGreaterThan(0);
    expect(stats.filterGrad).toBeGreaterThan(0);
    expect(stats.inputGrad).toBeGreaterThan(0);
    for (let i = 0; i < ref.length; i++) expect(relError(got[i]!, ref[i]!)).toBeLessThan(1e-4);
  });

  it('setBinaryConvEnabled(false) turns the fast paths off', async () => {
    setBinaryConvEnabled(false);
    try {
      const r = await both(() => tf.conv2d(pm1([1, 5, 5, 3], 1), pm1([3, 3, 3, 2], 2), 1, 'valid'));
      expect(r.stats.forward).toBe(0);
      expect(Array.from(r.got[0]!)).toEqual(Array.from(r.ref[0]!));
    } finally {
      setBinaryConvEnabled(true);
    }
  });
});

/**
 * lowbit's wasm kernels against the cpu backend (the reference), for every conv family's gradients,
 * pooling gradients, gather's gradient and the matmul overrides. Tolerance: 1e-4 relative to the
 * reference's largest magnitude.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import './index.js';
import {
  col2imIsFaster,
  conv2DBackpropFilterCi1Simd,
  conv2DBackpropFilterFromOps,
  conv2DBackpropFilterIm2col,
  conv2DBackpropFilterPatches,
  conv2DBackpropInputCi1Simd,
  conv2DBackpropInputCol2im,
  conv2DBackpropInputFromOps,
} from './conv-grad-kernels.js';
import { setHeapKernelsEnabled } from './heap-kernels.js';
import { kernelsMissing } from './kernel-registry.js';
import { swapIsCheaper } from './matmul-kernels.js';
import { maxPoolGrad2x2Into, maxPoolGradInto } from './pool-kernels.js';
import { compareBackends, relError, runOn, seededValues } from './testing.js';

const TOL = 1e-4;
const t = (shape: number[], seed: number) => tf.tensor(seededValues(shape, seed), shape);
const t4 = (shape: number[], seed: number) => t(shape, seed) as tf.Tensor4D;
const t5 = (shape: number[], seed: number) => t(shape, seed) as tf.Tensor5D;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

/** Gradients of sum(f(args) * r) w.r.t. every arg, r a fixed random cotangent. */
function grads(f: (...a: tf.Tensor[]) => tf.Tensor, args: tf.Tensor[], seed = 99): tf.Tensor[] {
  const g = tf.grads((...a: tf.Tensor[]) => {
    const y = f(...a);
    return tf.sum(tf.mul(y, t(y.shape, seed)));
  });
  return [f(...args), ...g(args)];
}

describe('kernel coverage', () => {
  it('wasm lacks only kernels that training does not use', () => {
    // Complex numbers, FFT, Einsum, ragged and string kernels: no layer lowbit trains uses them. A new
    // kernel missing on wasm makes this fail, so that someone decides whether training needs it.
    expect(kernelsMissing('cpu', 'wasm')).toEqual([
      'Complex',
      'ComplexAbs',
      'Draw',
      'Einsum',
      'FFT',
      'IFFT',
      'Imag',
      'RaggedGather',
      'RaggedRange',
      'RaggedTensorToTensor',
      'Real',
      'StaticRegexReplace',
    ]);
  });
});

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
const conv2dCases: { x: number[]; f: number[]; s: number | [number, number]; pad: Pad }[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
  { x: [2, 7, 9, 3], f: [3, 2, 3, 5], s: 2, pad: 'valid' },
  { x: [1, 8, 8, 2], f: [3, 3, 2, 2], s: [2, 1], pad: 'same' },
  { x: [3, 10, 11, 2], f: [5, 5, 2, 3], s: 3, pad: 'same' },
  {
    x: [2, 6, 7, 3],
    f: [2, 2, 3, 2],
    s: 1,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [4, 5, 5, 1], f: [1, 1, 1, 6], s: 2, pad: 'valid' },
  // Ci > 3 takes the transposed-convolution path of the filter gradient.
  { x: [2, 6, 6, 5], f: [3, 3, 5, 3], s: 2, pad: 'same' },
  {
    x: [2, 7, 6, 8],
    f: [2, 3, 8, 4],
    s: 1,
    pad: [
      [0, 0],
      [0, 1],
      [2, 1],
      [0, 0],
    ],
  },
];

/** A kernel's output as a Tensor (kernels built from ops return Tensors, heap kernels TensorInfos). */
function own(out: tf.Tensor | tf.TensorInfo): tf.Tensor {
  return out instanceof tf.Tensor ? out : tf.engine().makeTensorFromTensorInfo(out);
}

describe('conv2d gradients on wasm match cpu', () => {
  it.each(conv2dCases)('conv2d x=$x f=$f s=$s pad=$pad', async ({ x, f, s, pad }) => {
    const { err, count } = await compareBackends(() =>
      grads((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), [t4(x, 1), t4(f, 2)]),
    );
    expect(count).toBe(3);
    expect(err).toBeLessThan(TOL);
  });

  it.each(conv2dCases)('fused conv2d with bias and relu x=$x f=$f s=$s', async ({ x, f, s, pad }) => {
    const { err } = await compareBackends(() =>
      grads(
        (a, b, c) =>
          tf.fused.conv2d({
            x: a as tf.Tensor4D,
            filter: b as tf.Tensor4D,
            strides: s,
            pad,
            bias: c,
            activation: 'relu',
          }),
        [t4(x, 1), t4(f, 2), t([f[3]!], 3)],
      ),
    );
    expect(err).toBeLessThan(TOL);
  });

  it.each(conv2dCases)('NCHW Conv2DBackpropFilter x=$x f=$f s=$s', async ({ x, f, s, pad }) => {
    const { err } = await compareBackends(() => {
      const xs = t4(x, 1);
      const y = tf.conv2d(xs, t4(f, 2), s, pad);
      const dy = t(y.shape, 3);
      // Explicit paddings are given in the data format's axis order.
      const padNCHW = Array.isArray(pad) ? [pad[0], pad[3], pad[1], pad[2]] : pad;
      return tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x: tf.transpose(xs, [0, 3, 1, 2]), dy: tf.transpose(dy, [0, 3, 1, 2]) },
          { strides: s, pad: padNCHW, dataFormat: 'NCHW', filterShape: f } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
    });
    expect(err).toBeLessThan(TOL);
  });

  it('all three filter-gradient formulations agree with cpu on every case', async () => {
    for (const { x, f, s, pad } of conv2dCases) {
      for (const kernel of [
        conv2DBackpropFilterFromOps,
        conv2DBackpropFilterIm2col,
        conv2DBackpropFilterPatches,
      ]) {
        const { err } = await compareBackends(() => {
          const xs = t4(x, 1);
          const dy = t(tf.conv2d(xs, t4(f, 2), s, pad).shape, 3);
          const attrs = { strides: s, pad, dataFormat: 'NHWC', filterShape: f } as unknown as tf.NamedAttrMap;
          return tf.getBackend() === 'cpu'
            ? (tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy }, attrs) as tf.Tensor)
            : kernel({ inputs: { x: xs, dy }, attrs, backend: tf.backend() });
        });
        expect(err, `${kernel.name} x=${x} f=${f}`).toBeLessThan(TOL);
      }
    }
  });

  it('both input-gradient formulations (transposed conv, matMul + col2im) agree with cpu on every case', async () => {
    const cases = [
      ...conv2dCases,
      // larq-intro-cnn's first and third layers (scaled down in batch), where col2im is chosen.
      { x: [2, 28, 28, 1], f: [3, 3, 1, 32], s: 1, pad: 'valid' as const },
      { x: [3, 5, 5, 64], f: [3, 3, 64, 64], s: 1, pad: 'valid' as const },
    ];
    for (const { x, f, s, pad } of cases) {
      // col2im's scatter on the SIMD kernels and in JavaScript (heap kernels off).
      const col2imJs = (args: Parameters<typeof conv2DBackpropInputCol2im>[0]) => {
        setHeapKernelsEnabled(false);
        try {
          return conv2DBackpropInputCol2im(args);
        } finally {
          setHeapKernelsEnabled(true);
        }
      };
      for (const kernel of [conv2DBackpropInputFromOps, conv2DBackpropInputCol2im, col2imJs]) {
        const { err } = await compareBackends(() => {
          const dy = t(tf.conv2d(t4(x, 1), t4(f, 2), s, pad).shape, 3);
          const attrs = { strides: s, pad, dataFormat: 'NHWC', inputShape: x } as unknown as tf.NamedAttrMap;
          const inputs = { dy, filter: t4(f, 2) };
          return tf.getBackend() === 'cpu'
            ? (tf.engine().runKernel('Conv2DBackpropInput', inputs, attrs) as tf.Tensor)
            : own(kernel({ inputs, attrs, backend: tf.backend() }));
        });
        expect(err, `${kernel.name} x=${x} f=${f}`).toBeLessThan(TOL);
      }
    }
    // The choice: col2im with the SIMD scatter; with the JavaScript one, for few channels or small images.
    expect(col2imIsFaster([64, 28, 28, 1], false)).toBe(true);
    expect(col2imIsFaster([64, 5, 5, 64], false)).toBe(true);
    expect(col2imIsFaster([64, 13, 13, 32], false)).toBe(false);
    expect(col2imIsFaster([64, 13, 13, 32], true)).toBe(true);
  });

  it('one-input-channel SIMD filter and input gradients match cpu (strides, padding, odd channel counts)', async () => {
    const cases = [
      { x: [3, 28, 28, 1], f: [3, 3, 1, 32], s: 1, pad: 'valid' as const },
      { x: [2, 9, 8, 1], f: [3, 2, 1, 7], s: 2, pad: 'same' as const },
      { x: [2, 7, 7, 1], f: [5, 5, 1, 3], s: [1, 2] as [number, number], pad: 'same' as const },
      // 32 channels in accumulators plus a remainder of 5; 2x3 taps (four at a time plus two).
      { x: [2, 9, 10, 1], f: [2, 3, 1, 37], s: [2, 1] as [number, number], pad: 'same' as const },
      ...conv2dCases.filter((c) => c.f[2] === 1),
    ];
    for (const { x, f, s, pad } of cases) {
      const { err, count } = await compareBackends(() => {
        const xs = t4(x, 1);
        const w = t4(f, 2);
        const dy = t(tf.conv2d(xs, w, s, pad).shape, 3);
        const fAttrs = { strides: s, pad, dataFormat: 'NHWC', filterShape: f } as unknown as tf.NamedAttrMap;
        const iAttrs = { strides: s, pad, dataFormat: 'NHWC', inputShape: x } as unknown as tf.NamedAttrMap;
        if (tf.getBackend() === 'cpu') {
          return [
            tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy }, fAttrs) as tf.Tensor,
            tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, iAttrs) as tf.Tensor,
          ];
        }
        const dw = conv2DBackpropFilterCi1Simd({
          inputs: { x: xs, dy },
          attrs: fAttrs,
          backend: tf.backend(),
        });
        const dx = conv2DBackpropInputCi1Simd({
          inputs: { dy, filter: w },
          attrs: iAttrs,
          backend: tf.backend(),
        });
        expect(dw).not.toBeNull();
        expect(dx).not.toBeNull();
        return [own(dw!), own(dx!)];
      });
      expect(count, `x=${x} f=${f}`).toBe(2);
      expect(err, `x=${x} f=${f} s=${s}`).toBeLessThan(TOL);
    }
  });

  it.each([
    { d: 2, pad: 'same' as const },
    { d: [3, 2] as [number, number], pad: 'valid' as const },
  ])('dilated conv2d forward d=$d $pad (gradients need dilation 1 in tfjs)', async ({ d, pad }) => {
    const { err } = await compareBackends(() =>
      tf.conv2d(t4([2, 11, 10, 3], 1), t4([3, 3, 3, 4], 2), 1, pad, 'NHWC', d),
    );
    expect(err).toBeLessThan(TOL);
  });

  it('NCHW conv2d forward and gradients', async () => {
    const { err } = await compareBackends(() =>
      grads(
        (a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same', 'NCHW'),
        [t4([2, 3, 7, 6], 1), t4([3, 3, 3, 4], 2)],
      ),
    );
    expect(err).toBeLessThan(TOL);
  });
});

describe('other conv families on wasm match cpu', () => {
  it.each([
    { x: [2, 11, 3], f: [3, 3, 4], s: 1, pad: 'same' as const },
    { x: [3, 12, 2], f: [5, 2, 3], s: 2, pad: 'valid' as const },
  ])('conv1d x=$x f=$f s=$s $pad', async ({ x, f, s, pad }) => {
    const { err } = await compareBackends(() =>
      grads((a, b) => tf.conv1d(a as tf.Tensor3D, b as tf.Tensor3D, s, pad), [t(x, 1), t(f, 2)]),
    );
    expect(err).toBeLessThan(TOL);
  });

  it.each([
    { x: [2, 5, 6, 4], f: [3, 3, 3, 4], out: [2, 10, 12, 3], s: 2, pad: 'same' as const },
    { x: [2, 4, 4, 2], f: [3, 2, 5, 2], out: [2, 6, 5, 5], s: 1, pad: 'valid' as const },
  ])('conv2dTranspose x=$x f=$f s=$s $pad', async ({ x, f, out, s, pad }) => {
    const { err } = await compareBackends(() =>
      grads(
        (a, b) =>
          tf.conv2dTranspose(
            a as tf.Tensor4D,
            b as tf.Tensor4D,
            out as [number, number, number, number],
            s,
            pad,
          ),
        [t4(x, 1), t4(f, 2)],
      ),
    );
    expect(err).toBeLessThan(TOL);
  });

  it.each([
    { x: [2, 5, 6, 4, 2], f: [3, 3, 2, 2, 3], s: 1, pad: 'same' as const },
    { x: [1, 6, 5, 7, 3], f: [2, 3, 3, 3, 2], s: 2, pad: 'valid' as const },
  ])('conv3d x=$x f=$f s=$s $pad', async ({ x, f, s, pad }) => {
    const { err } = await compareBackends(() =>
      grads((a, b) => tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, s, pad), [t5(x, 1), t5(f, 2)]),
    );
    expect(err).toBeLessThan(TOL);
  });

  it('conv3dTranspose', async () => {
    const { err } = await compareBackends(() =>
      grads(
        (a, b) => tf.conv3dTranspose(a as tf.Tensor5D, b as tf.Tensor5D, [2, 6, 8, 4, 3], 2, 'same'),
        [t5([2, 3, 4, 2, 2], 1), t5([3, 3, 3, 3, 2], 2)],
      ),
    );
    expect(err).toBeLessThan(TOL);
  });

  it.each([
    { x: [2, 7, 8, 3], m: 1, s: 1, pad: 'same' as Pad },
    { x: [2, 7, 8, 3], m: 2, s: 2, pad: 'valid' as Pad },
    { x: [1, 9, 9, 2], m: 3, s: 2, pad: 'same' as Pad },
    { x: [3, 6, 5, 4], m: 1, s: [1, 2] as [number, number], pad: 'same' as Pad },
    {
      x: [2, 6, 7, 3],
      m: 2,
      s: 1,
      pad: [
        [0, 0],
        [2, 0],
        [1, 1],
        [0, 0],
      ] as Pad,
    },
  ])('depthwiseConv2d x=$x multiplier=$m s=$s pad=$pad', async ({ x, m, s, pad }) => {
    const { err, count } = await compareBackends(() =>
      grads(
        (a, b) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad),
        [t4(x, 1), t4([3, 3, x[3]!, m], 2)],
      ),
    );
    expect(count).toBe(3);
    expect(err).toBeLessThan(TOL);
  });

  it('fused depthwiseConv2d with bias', async () => {
    const { err } = await compareBackends(() =>
      grads(
        (a, b, c) =>
          tf.fused.depthwiseConv2d({
            x: a as tf.Tensor4D,
            filter: b as tf.Tensor4D,
            strides: 2,
            pad: 'same',
            bias: c,
            activation: 'relu',
          }),
        [t4([2, 7, 7, 3], 1), t4([3, 3, 3, 2], 2), t([6], 3)],
      ),
    );
    expect(err).toBeLessThan(TOL);
  });

  it('separableConv2d', async () => {
    const { err, count } = await compareBackends(() =>
      grads(
        (a, b, c) => tf.separableConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, 1, 'same'),
        [t4([2, 8, 7, 3], 1), t4([3, 3, 3, 2], 2), t4([1, 1, 6, 5], 3)],
      ),
    );
    expect(count).toBe(4);
    expect(err).toBeLessThan(TOL);
  });
});

/**
 * Naive depthwise gradients with dilation, straight from the definition
 * y[b, oh, ow, c*M + m] = sum_ij x[b, oh*s + i*d - pt, ow*s + j*d - pl, c] * W[i, j, c, m].
 */
function naiveDepthwiseGrads(
  x: Float32Array,
  xs: number[],
  w: Float32Array,
  ws: number[],
  dy: Float32Array,
  ys: number[],
  s: number,
  d: number,
  pt: number,
  pl: number,
): { dx: Float64Array; dw: Float64Array } {
  const [nb, h, wd, c] = xs as [number, number, number, number];
  const [fh, fw, , m] = ws as [number, number, number, number];
  const [, oh, ow] = ys as [number, number, number];
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let b = 0; b < nb; b++)
    for (let r = 0; r < oh; r++)
      for (let q = 0; q < ow; q++)
        for (let i = 0; i < fh; i++)
          for (let j = 0; j < fw; j++) {
            const xr = r * s + i * d - pt;
            const xc = q * s + j * d - pl;
            if (xr < 0 || xr >= h || xc < 0 || xc >= wd) continue;
            for (let ch = 0; ch < c; ch++)
              for (let k = 0; k < m; k++) {
                const g = dy[((b * oh + r) * ow + q) * c * m + ch * m + k]!;
                const xi = ((b * h + xr) * wd + xc) * c + ch;
                const wi = ((i * fw + j) * c + ch) * m + k;
                dw[wi] = dw[wi]! + x[xi]! * g;
                dx[xi] = dx[xi]! + w[wi]! * g;
              }
          }
  return { dx, dw };
}

describe('depthwise gradient kernels with dilation (cpu ignores dilation here; naive reference)', () => {
  it.each([
    { x: [2, 9, 10, 3], f: [3, 3, 3, 2], d: 2, pad: 'valid' as const },
    { x: [1, 11, 9, 2], f: [3, 2, 2, 1], d: 3, pad: 'same' as const },
  ])('x=$x f=$f dilation=$d $pad', async ({ x, f, d, pad }) => {
    await tf.setBackend('wasm');
    const xs = t4(x, 1);
    const ws = t4(f, 2);
    const y = tf.depthwiseConv2d(xs, ws, 1, pad, 'NHWC', d);
    const dy = t4(y.shape, 3);
    const info = tf.backend_util.computeConv2DInfo(
      xs.shape,
      ws.shape as [number, number, number, number],
      1,
      d,
      pad,
      undefined,
      true,
    );
    const attrs = {
      strides: 1,
      pad,
      dilations: d,
      filterShape: f,
      inputShape: x,
    } as unknown as tf.NamedAttrMap;
    const dw = tf
      .engine()
      .runKernel('DepthwiseConv2dNativeBackpropFilter', { x: xs, dy }, attrs) as tf.Tensor;
    const dx = tf
      .engine()
      .runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: ws }, attrs) as tf.Tensor;
    const ref = naiveDepthwiseGrads(
      xs.dataSync() as Float32Array,
      x,
      ws.dataSync() as Float32Array,
      f,
      dy.dataSync() as Float32Array,
      y.shape,
      1,
      d,
      info.padInfo.top,
      info.padInfo.left,
    );
    expect(relError(dw.dataSync(), ref.dw)).toBeLessThan(TOL);
    expect(relError(dx.dataSync(), ref.dx)).toBeLessThan(TOL);
    tf.dispose([xs, ws, y, dy, dw, dx]);
  });
});

describe('pooling gradients on wasm match cpu', () => {
  // relu(round(x)) has many equal maxima per window: the gradient must go to the same position as on cpu.
  const tied = (shape: number[], seed: number) => tf.relu(tf.round(t(shape, seed))) as tf.Tensor4D;
  it.each([
    { x: [3, 26, 26, 5], k: 2, s: 2, pad: 'valid' as const },
    { x: [2, 13, 13, 3], k: 2, s: 2, pad: 'valid' as const },
    { x: [2, 13, 11, 3], k: 2, s: 2, pad: 'same' as const },
    { x: [2, 12, 12, 3], k: 3, s: 2, pad: 'valid' as const },
    { x: [2, 9, 10, 4], k: 3, s: 1, pad: 'same' as const },
  ])('maxPool x=$x k=$k s=$s $pad (with ties)', async ({ x, k, s, pad }) => {
    const { err } = await compareBackends(() =>
      grads((a) => tf.maxPool(a as tf.Tensor4D, k, s, pad), [tied(x, 1)]),
    );
    expect(err).toBeLessThan(TOL);
  });

  it('the unrolled 2x2 MaxPoolGrad equals the general loop (ties, NaN, -Infinity, odd sizes)', () => {
    const shape: [number, number, number, number] = [2, 7, 9, 3];
    const n = shape.reduce((a, b) => a * b, 1);
    const xs = Float32Array.from(seededValues(shape, 5), (v) => Math.round(v));
    xs[0] = Number.NaN;
    xs[4] = Number.NaN;
    for (const i of [27 * 0 + 1, 1 + 3, 1 + 27, 1 + 30]) xs[i] = Number.NEGATIVE_INFINITY; // one window all -Inf
    xs[60] = Number.NaN;
    xs[63] = Number.NaN;
    xs[87] = Number.NaN;
    xs[90] = Number.NaN; // one window all NaN
    const info = tf.backend_util.computePool2DInfo(shape, 2, 2, 1, 'valid');
    const dy = Float32Array.from(seededValues([2, 3, 4, 3], 6));
    const general = new Float32Array(n);
    maxPoolGradInto(general, xs, dy, info);
    const unrolled = new Float32Array(n);
    expect(maxPoolGrad2x2Into(unrolled, xs, dy, info)).toBe(true);
    expect(Array.from(unrolled)).toEqual(Array.from(general));
    // The all -Infinity window (channel 1 of the first window) passes nothing.
    expect([1, 4, 28, 31].map((i) => unrolled[i])).toEqual([0, 0, 0, 0]);
    const other = tf.backend_util.computePool2DInfo(shape, 3, 2, 1, 'valid');
    expect(maxPoolGrad2x2Into(new Float32Array(n), xs, dy, other)).toBe(false);
  });

  it.each([
    [2, 7, 9, 6],
    [1, 4, 4, 8],
    [2, 5, 6, 3],
  ])('the SIMD 2x2 MaxPoolGrad on wasm equals the general loop, x=[%i, %i, %i, %i]', async (...shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const xs = Float32Array.from(seededValues(shape, 7), (v) => Math.round(v)); // many ties
    for (let i = 0; i < n; i += 7) xs[i] = Number.NaN;
    for (let i = 3; i < n; i += 11) xs[i] = Number.NEGATIVE_INFINITY;
    const x4 = shape as [number, number, number, number];
    const info = tf.backend_util.computePool2DInfo(x4, 2, 2, 1, 'valid');
    const dyShape = [shape[0]!, info.outHeight, info.outWidth, shape[3]!];
    const dys = Float32Array.from(seededValues(dyShape, 8));
    const expected = new Float32Array(n);
    maxPoolGradInto(expected, xs, dys, info);
    const [got] = await runOn('wasm', () => {
      const input = tf.tensor(xs, shape);
      const output = tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid');
      return tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor(dys, dyShape), input, output }, {
        filterSize: 2,
        strides: 2,
        pad: 'valid',
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    });
    expect(Array.from(got!)).toEqual(Array.from(expected));
  });

  it.each([
    { x: [2, 8, 9, 3], k: 2, s: 2, pad: 'valid' as const },
    { x: [2, 9, 9, 3], k: 3, s: 2, pad: 'same' as const },
  ])('avgPool x=$x k=$k s=$s $pad', async ({ x, k, s, pad }) => {
    const { err } = await compareBackends(() =>
      grads((a) => tf.avgPool(a as tf.Tensor4D, k, s, pad), [t4(x, 1)]),
    );
    expect(err).toBeLessThan(TOL);
  });

  it.each([
    { op: 'maxPool3d' as const, k: 2, s: 2, pad: 'valid' as const },
    { op: 'maxPool3d' as const, k: 3, s: 2, pad: 'same' as const },
    { op: 'avgPool3d' as const, k: 2, s: 2, pad: 'same' as const },
    { op: 'avgPool3d' as const, k: 3, s: 1, pad: 'valid' as const },
  ])('$op 3-D k=$k s=$s $pad (odd sizes, ties)', async ({ op, k, s, pad }) => {
    const x = () => tf.relu(tf.round(t5([2, 6, 5, 4, 3], 1)));
    const { err, count } = await compareBackends(() =>
      grads((a) => (op === 'maxPool3d' ? tf.maxPool3d : tf.avgPool3d)(a as tf.Tensor5D, k, s, pad), [x()]),
    );
    expect(count).toBe(2);
    expect(err).toBeLessThan(TOL);
  });
});

/**
 * The gradient of a linear map y = A x against r is A^T r; entry j is sum(resize(e_j) * r) with e_j
 * the j-th one-hot input. Computed from the forward op only (on cpu), independent of any grad kernel.
 */
async function linearGradReference(
  f: (x: tf.Tensor4D) => tf.Tensor,
  shape: [number, number, number, number],
  r: tf.Tensor,
): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const e = new Float32Array(n);
    e[j] = 1;
    out[j] = tf.tidy(() => tf.sum(tf.mul(f(tf.tensor4d(e, shape)), r)).dataSync()[0]!);
  }
  return out;
}

describe('resize gradients (cpu and wasm) equal the forward-derived reference', () => {
  const shape: [number, number, number, number] = [2, 3, 4, 2];
  it.each([
    { op: 'nearest', size: [7, 9], align: false, half: false },
    { op: 'nearest', size: [6, 8], align: true, half: false },
    { op: 'nearest', size: [5, 7], align: false, half: true },
    { op: 'nearest', size: [2, 3], align: false, half: false },
    { op: 'bilinear', size: [7, 9], align: false, half: false },
    { op: 'bilinear', size: [5, 6], align: true, half: false },
    { op: 'bilinear', size: [5, 7], align: false, half: true },
    { op: 'bilinear', size: [2, 3], align: false, half: false },
  ] as { op: 'nearest' | 'bilinear'; size: [number, number]; align: boolean; half: boolean }[])(
    '$op to $size alignCorners=$align halfPixelCenters=$half',
    async ({ op, size, align, half }) => {
      const f = (x: tf.Tensor4D) =>
        op === 'nearest'
          ? tf.image.resizeNearestNeighbor(x, size, align, half)
          : tf.image.resizeBilinear(x, size, align, half);
      const rShape = [shape[0], size[0], size[1], shape[3]];
      const ref = await linearGradReference(f, shape, tf.tensor(seededValues(rShape, 9), rShape));
      for (const backend of ['cpu', 'wasm']) {
        const [g] = await runOn(backend, () =>
          tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v as tf.Tensor4D), t(rShape, 9))))(t4(shape, 1)),
        );
        expect(relError(g!, ref), backend).toBeLessThan(TOL);
      }
    },
  );
});

describe('gather gradient (UnsortedSegmentSum) on wasm matches cpu', () => {
  it('gather with repeated indices, axis 0 and 1', async () => {
    for (const axis of [0, 1]) {
      const { err } = await compareBackends(() =>
        grads((a) => tf.gather(a, tf.tensor1d([3, 0, 3, 1, 3, 4], 'int32'), axis), [t([5, 5, 3], 1)]),
      );
      expect(err).toBeLessThan(TOL);
    }
  });

  it('unsortedSegmentSum drops out-of-range ids', async () => {
    const { err } = await compareBackends(() => [
      tf.unsortedSegmentSum(t([6, 4], 1), tf.tensor1d([2, -1, 0, 2, 7, 2], 'int32'), 4),
      tf.unsortedSegmentSum(t([5, 2, 3], 2), tf.tensor1d([1, 1, 0, 1, 2], 'int32'), 3),
    ]);
    expect(err).toBeLessThan(TOL);
  });

  it('unsortedSegmentSum with rank-2 ids (cpu lacks it) equals the hand sum', async () => {
    const [out] = await runOn(
      'wasm',
      () =>
        tf.engine().runKernel(
          'UnsortedSegmentSum',
          {
            x: tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2]),
            segmentIds: tf.tensor2d([0, 2, 0, 1, 2, 5], [2, 3], 'int32'),
          },
          { numSegments: 3 },
        ) as tf.Tensor,
    );
    // segment 0: [1, 2] + [5, 6]; segment 1: [7, 8]; segment 2: [3, 4] + [9, 10]; id 5 is dropped.
    expect(Array.from(out!)).toEqual([6, 8, 7, 8, 12, 14]);
  });
});

describe('matMul overrides on wasm match cpu', () => {
  const flags = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const;
  it.each(flags)('matMul transposeA=%s transposeB=%s, 2-D, batched and broadcast', async (ta, tb) => {
    const shapeA = (b: number[]) => [...b, ...(ta ? [7, 5] : [5, 7])];
    const shapeB = (b: number[]) => [...b, ...(tb ? [6, 7] : [7, 6])];
    const { err, count } = await compareBackends(() => [
      tf.matMul(t(shapeA([]), 1), t(shapeB([]), 2), ta, tb),
      tf.matMul(t(shapeA([3]), 1), t(shapeB([3]), 2), ta, tb),
      tf.matMul(t(shapeA([2, 3]), 1), t(shapeB([1]), 2), ta, tb),
      tf.matMul(t(shapeA([1]), 1), t(shapeB([4]), 2), ta, tb),
    ]);
    expect(count).toBe(4);
    expect(err).toBeLessThan(TOL);
  });

  it('a transposed small-by-large product is computed swapped, (op(b)^T op(a)^T)^T, and matches cpu', async () => {
    // dy W^T with dy [3, 40], W [50, 40]: the direct form transposes and packs W (2,000 + 5 * 2,000
    // value moves); the swapped one transposes dy (120) and the [3, 50] result (150) and packs dy (5 * 120).
    expect(swapIsCheaper([3, 40], [50, 40], false, true)).toBe(true);
    expect(swapIsCheaper([40, 3], [50, 40], true, true)).toBe(true);
    // Layer sizes of binary-mlp's backward pass: input gradient swaps, the 10-unit layer does not.
    expect(swapIsCheaper([64, 1024], [1024, 1024], false, true)).toBe(true);
    expect(swapIsCheaper([64, 10], [1024, 10], false, true)).toBe(false);
    // The weight gradient x^T dy transposes the small x directly.
    expect(swapIsCheaper([64, 784], [64, 1024], true, false)).toBe(false);
    // A first conv layer's filter gradient P^T dy: direct would pack all of dy [43264, 32]
    // (389,376 + 5 * 1,384,448 value moves); swapped transposes dy and packs P (1,384,448 + 288 + 5 * 389,376).
    expect(swapIsCheaper([43264, 9], [43264, 32], true, false)).toBe(true);
    expect(swapIsCheaper([576, 64], [576, 64], false, true)).toBe(false);
    const { err, count } = await compareBackends(() => [
      tf.matMul(t([3, 40], 1), t([50, 40], 2), false, true),
      tf.matMul(t([40, 3], 1), t([50, 40], 2), true, true),
      tf.matMul(t([1, 3, 40], 1), t([1, 50, 40], 2), false, true),
      tf.matMul(t([40, 3], 1), t([40, 50], 2), true, false),
    ]);
    expect(count).toBe(4);
    expect(err).toBeLessThan(TOL);
  });

  it('large batched products (looped over batch entries) match cpu', async () => {
    const { err } = await compareBackends(() => [
      tf.matMul(t([3, 128, 96], 1), t([3, 96, 100], 2)),
      tf.matMul(t([2, 2, 100, 110], 1), t([2, 2, 120, 110], 2), false, true),
    ]);
    expect(err).toBeLessThan(TOL);
  });

  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;
  it.each(flags)('fused matMul with bias, transposeA=%s transposeB=%s, every activation', async (ta, tb) => {
    for (const activation of activations) {
      for (const batch of [[], [3]]) {
        const { err } = await compareBackends(() =>
          tf.fused.matMul({
            a: t([...batch, ...(ta ? [7, 5] : [5, 7])], 1),
            b: t([...batch, ...(tb ? [6, 7] : [7, 6])], 2),
            transposeA: ta,
            transposeB: tb,
            bias: t([6], 3),
            activation,
            preluActivationWeights: activation === 'prelu' ? t([6], 4) : undefined,
            leakyreluAlpha: 0.3,
          }),
        );
        expect(err, `${activation} batch=${batch}`).toBeLessThan(TOL);
      }
    }
  });

  it('fused matMul with a rank-2 bias', async () => {
    const { err } = await compareBackends(() =>
      tf.fused.matMul({ a: t([5, 7], 1), b: t([7, 6], 2), bias: t([5, 6], 3), activation: 'relu' }),
    );
    expect(err).toBeLessThan(TOL);
  });

  it('Dense-style gradients through matMul', async () => {
    const { err } = await compareBackends(() =>
      grads((a, b) => tf.relu(tf.matMul(a, b)), [t([9, 13], 1), t([13, 4], 2)]),
    );
    expect(err).toBeLessThan(TOL);
  });
});

describe('Sum and Mean overrides on wasm match cpu', () => {
  it.each([
    { shape: [4, 6, 5, 3], axis: [0, 1, 2] },
    { shape: [4, 6, 5, 3], axis: [1, 0] },
    { shape: [4, 6, 5, 3], axis: 0 },
    { shape: [4, 6, 5, 3], axis: [-4, -3] },
    { shape: [4, 6, 5, 3], axis: [1, 2] },
    { shape: [4, 6, 5, 3], axis: [0, 2] },
    { shape: [4, 6, 5, 3], axis: [3] },
    { shape: [7, 9], axis: [0, 1] },
  ])('sum/mean shape=$shape axis=$axis, keepDims both ways', async ({ shape, axis }) => {
    const { err, count } = await compareBackends(() => [
      tf.sum(t(shape, 1), axis),
      tf.sum(t(shape, 1), axis, true),
      tf.mean(t(shape, 1), axis),
      tf.mean(t(shape, 1), axis, true),
    ]);
    expect(count).toBe(4);
    expect(err).toBeLessThan(TOL);
  });

  it('leading reduce equals a hand loop (rows not a multiple of 4, odd widths)', async () => {
    for (const [lead, inner] of [
      [7, 3],
      [13, 33],
      [2, 1],
    ] as const) {
      const xs = seededValues([lead, inner], 4);
      const [s, m] = await runOn('wasm', () => [
        tf.sum(tf.tensor(xs, [lead, inner]), 0),
        tf.mean(tf.tensor(xs, [lead, inner]), 0),
      ]);
      for (let c = 0; c < inner; c++) {
        let acc = 0;
        for (let n = 0; n < lead; n++) acc += xs[n * inner + c]!;
        expect(s![c]).toBeCloseTo(acc, 5);
        expect(m![c]).toBeCloseTo(acc / lead, 5);
      }
    }
  });

  it('int32 sums are exact', async () => {
    const [s] = await runOn('wasm', () => tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0));
    expect(Array.from(s!)).toEqual([9, 12]);
  });
});

describe('lowbit kernels do not leak tensors', () => {
  it('repeated gradient steps through every lowbit kernel keep the tensor count constant', async () => {
    await tf.setBackend('wasm');
    const x4 = t4([2, 9, 8, 3], 1);
    const w4 = t4([3, 3, 3, 5], 2);
    const dw4 = t4([3, 3, 3, 2], 3);
    const x5 = t5([1, 5, 6, 4, 2], 4);
    const w5 = t5([2, 2, 2, 2, 3], 5);
    const m = t([6, 7], 6);
    const step = () =>
      tf.tidy(() => {
        const g = tf.grads(
          (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor, f: tf.Tensor) => {
            const y1 = tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), 2, 2, 'valid');
            const y2 = tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 2, 'same');
            const y3 = tf.conv3dTranspose(
              tf.conv3d(d as tf.Tensor5D, e as tf.Tensor5D, 1, 'same'),
              e as tf.Tensor5D,
              [1, 10, 12, 8, 2],
              2,
              'same',
            );
            const y4 = tf.maxPool3d(d as tf.Tensor5D, 2, 2, 'valid');
            const y5 = tf.add(
              tf.sum(tf.matMul(tf.gather(f, [0, 2, 2]), f, false, true)),
              tf.sum(
                tf.fused.matMul({ a: f, b: f, transposeB: true, bias: tf.ones([6]), activation: 'relu' }),
              ),
            );
            return tf.addN([tf.sum(y1), tf.mean(y2), tf.sum(y3), tf.sum(y4), tf.sum(y5)]);
          },
        );
        return g([x4, w4, dw4, x5, w5, m]);
      });
    tf.dispose(step());
    const before = tf.memory().numTensors;
    const buffersBefore = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    // Buffers a stock kernel returned to lowbit's overrides are owned and freed too.
    expect(tf.backend().numDataIds()).toBe(buffersBefore);
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  originalGradient,
  replaceCumsumGradient,
  replaceFusedBatchNormGradient,
  replaceProdGradient,
} from './index.js';
import { relError, runOn, seededValues } from './testing.js';

describe.each(['cpu', 'wasm'])('gradients lowbit adds or replaces, on %s', (backend) => {
  it('prod: d/dx_i = product of the other entries, zeros included', async () => {
    const [g1, g2, g3, g4] = await runOn(backend, () => [
      tf.grad((x: tf.Tensor) => tf.sum(tf.prod(x, 1)))(tf.tensor2d([3, 4, 5, 6, 7, 8], [3, 2])),
      tf.grad((x: tf.Tensor) => tf.sum(tf.prod(x, 0)))(tf.tensor2d([0, 5, 2, 0], [2, 2])),
      tf.grad((x: tf.Tensor) => tf.prod(x))(tf.tensor1d([1, 2, 3, 4])),
      // Two axes at once, with a non-trivial upstream gradient: d/dx sum(w * prod(x, [0, 2])).
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.prod(x, [0, 2]), tf.tensor1d([1, 10]))))(
        tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]),
      ),
    ]);
    expect(Array.from(g1!)).toEqual([4, 3, 6, 5, 8, 7]);
    expect(Array.from(g2!)).toEqual([2, 0, 0, 5]);
    expect(Array.from(g3!)).toEqual([24, 12, 8, 6]);
    // prod over axes 0 and 2: column j=0 holds x[0,0,:] = 1, 2 and x[1,0,:] = 5, 6 (product 60);
    // column j=1 holds 3, 4, 7, 8 (product 672), weighted by 10: 6720/3, 6720/4, 6720/7, 6720/8.
    expect(Array.from(g4!)).toEqual([60, 30, 2240, 1680, 12, 10, 960, 840]);
  });

  it('conv3dTranspose trains: gradient of Conv3DBackpropInputV2 equals its adjoint', async () => {
    // <conv3dTranspose(dy, W), r> = <dy, conv3d(r, W)>, so d/d(dy) equals conv3d(r, W).
    const [g, ref] = await runOn(backend, () => {
      const w = tf.tensor5d(
        Array.from({ length: 2 * 2 * 2 * 3 * 2 }, (_, i) => ((i * 7) % 5) - 2),
        [2, 2, 2, 3, 2],
      );
      const dy = tf.tensor5d(
        Array.from({ length: 2 * 2 * 3 * 2 }, (_, i) => ((i * 3) % 7) - 3),
        [1, 2, 2, 3, 2],
      );
      const r = tf.tensor5d(
        Array.from({ length: 4 * 4 * 6 * 3 }, (_, i) => ((i * 5) % 11) - 5),
        [1, 4, 4, 6, 3],
      );
      const f = (v: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv3dTranspose(v as tf.Tensor5D, w, [1, 4, 4, 6, 3], 2, 'same'), r));
      return [tf.grad(f)(dy), tf.conv3d(r, w, 2, 'same')];
    });
    expect(Array.from(g!)).toEqual(Array.from(ref!));
  });

  it('cumsum along a non-last axis: dx[k] = sum of r[i] over the outputs i that include x[k]', async () => {
    // y[i, :] = sum_{k <= i} x[k, :] (inclusive) and sum_{k < i} (exclusive); r weights the outputs.
    // Inclusive forward: dx[k] = sum_{i >= k} r[i]; exclusive: sum_{i > k} r[i]; reversed likewise.
    const r = [
      [1, 2, 3],
      [10, 20, 30],
      [100, 200, 300],
    ];
    const [inc, exc, rev] = await runOn(backend, () => {
      const f = (exclusive: boolean, reverse: boolean) =>
        tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.cumsum(x, 0, exclusive, reverse), tf.tensor2d(r))))(
          tf.ones([3, 3]),
        );
      return [f(false, false), f(true, false), f(false, true)];
    });
    expect(Array.from(inc!)).toEqual([111, 222, 333, 110, 220, 330, 100, 200, 300]);
    expect(Array.from(exc!)).toEqual([110, 220, 330, 100, 200, 300, 0, 0, 0]);
    expect(Array.from(rev!)).toEqual([1, 2, 3, 11, 22, 33, 111, 222, 333]);
  });

  it('replacing the gradients twice is a no-op', () => {
    expect(replaceProdGradient()).toBe(false);
    expect(replaceCumsumGradient()).toBe(false);
  });
});

describe.each(['cpu', 'wasm'])('FusedBatchNorm gradient by broadcasting, on %s', (backend) => {
  // d/d(inputs) of sum(w * batchNorm(x, mean, variance, offset, scale)) with the stock tfjs-core
  // gradient (which tiles rsqrt(variance + eps) to x's shape) and with lowbit's.
  // (tf.batchNorm without a scale cannot be differentiated in tfjs 4.22 with either gradient: the engine
  // saves the missing input. tfjs-layers, and lowbit's scale=false fix, always pass one.)
  const grads = (xShape: number[], cShape: number[], withScale: boolean) => () => {
    const n = (s: number[], seed: number) => tf.tensor(seededValues(s, seed), s);
    const x = n(xShape, 1);
    const mean = n(cShape, 2);
    const variance = tf.add(tf.abs(n(cShape, 3)), 0.2);
    const offset = n(cShape, 4);
    const scale = n(cShape, 5);
    const w = n(xShape, 6);
    const f = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s?: tf.Tensor) =>
      tf.sum(tf.mul(tf.batchNorm(a, m, v, o, s, 1e-3), w));
    return tf.grads(f)(withScale ? [x, mean, variance, offset, scale] : [x, mean, variance, offset]);
  };
  const withStock = async <T>(run: () => Promise<T>): Promise<T> => {
    const lowbit = tf.getGradient('FusedBatchNorm')!;
    const stock = originalGradient('FusedBatchNorm')!;
    expect(stock.gradFunc.toString()).toContain('tile');
    tf.unregisterGradient('FusedBatchNorm');
    tf.registerGradient(stock);
    try {
      return await run();
    } finally {
      tf.unregisterGradient('FusedBatchNorm');
      tf.registerGradient(lowbit);
    }
  };

  it.each([
    ['NHWC, per-channel statistics', [3, 4, 5, 7], [7], true],
    ['NHWC, 5 channels', [2, 3, 3, 5], [5], true],
    ['rank 2 (dense layers)', [9, 13], [13], true],
  ] as const)('%s: equals the stock gradient for every input', async (_name, xShape, cShape, withScale) => {
    const f = grads([...xShape], [...cShape], withScale);
    const stock = await withStock(() => runOn(backend, f));
    const ours = await runOn(backend, f);
    expect(ours.length).toBe(stock.length);
    for (let i = 0; i < stock.length; i++) expect(relError(ours[i]!, stock[i]!)).toBeLessThanOrEqual(1e-6);
  });

  it('runs no Tile kernel', async () => {
    await tf.setBackend(backend);
    const info = await tf.profile(() => tf.tidy(() => grads([4, 3, 3, 8], [8], true)()[0]!));
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('FusedBatchNorm');
    expect(names).not.toContain('Tile');
    tf.dispose(info.result as tf.Tensor);
  });

  it('replacing it twice is a no-op', () => {
    expect(replaceFusedBatchNormGradient()).toBe(false);
  });
});

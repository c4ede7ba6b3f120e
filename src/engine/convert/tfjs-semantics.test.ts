/**
 * The engine's reference ops agree with tfjs on the semantics a converter relies on: 'same' padding
 * split, strides, dilations, pooling at the edges, flatten order, and Larq's pad_values = 1 padding.
 * (This folder is the converter's: the only place under src/engine allowed to import tfjs.)
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../util/random.js';
import { bconv2d } from '../reference/binary.js';
import { packSigns } from '../reference/bits.js';
import { avgPool2d, conv2d, dense, flatten, maxPool2d, softmax } from '../reference/float.js';
import type { FloatTensor } from '../reference/tensor.js';
import { windowAxis } from '../shapes.js';

const identity = { kind: 'float' } as const;

function randn(rng: Random, shape: number[]): FloatTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { kind: 'float', shape, data: Float32Array.from({ length: n }, () => rng.normal()) };
}

function close(a: Float32Array, b: Float32Array | Int32Array | Uint8Array, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  let scale = 1;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i] - b[i]), `element ${i}`).toBeLessThanOrEqual(tol * scale);
}

/** Packs HWIO float weights' signs as [Cout, kh, kw, Cin] bits (bit 1 iff w < 0). */
function packHwio(w: Float32Array, [kh, kw, cin, cout]: number[]): Uint32Array {
  const ohwi = new Float32Array(w.length);
  for (let t = 0; t < kh * kw; t++)
    for (let c = 0; c < cin; c++)
      for (let o = 0; o < cout; o++) ohwi[(o * kh * kw + t) * cin + c] = w[(t * cin + c) * cout + o];
  return packSigns(ohwi, [cout, kh, kw, cin]).data;
}

describe('reference ops match tfjs (cpu backend)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('float conv2d: same/valid, strides, dilations', () => {
    const rng = new Random(41);
    for (const [padding, s, d, k] of [
      ['same', 2, 1, 3],
      ['same', 1, 2, 3],
      ['valid', 2, 1, 2],
      ['same', 3, 1, 4],
      ['valid', 1, 2, 3],
    ] as const) {
      const x = randn(rng, [2, 9, 8, 3]);
      const w = randn(rng, [k, k, 3, 5]);
      const got = conv2d(
        x,
        w.data,
        { kernelSize: [k, k], strides: [s, s], dilations: [d, d], padding, filters: 5, padValue: 0 },
        identity,
      );
      const want = tf.conv2d(
        tf.tensor4d(x.data, x.shape as never),
        tf.tensor4d(w.data, w.shape as never),
        s,
        padding,
        'NHWC',
        d,
      );
      expect(got.shape).toEqual(want.shape);
      close(got.data, want.dataSync() as Float32Array);
    }
  });

  it("binary conv2d with padValue 0 equals tfjs conv2d of the signs; padValue 1 equals conv of the signs padded with +1 (Larq's pad_values=1)", () => {
    const rng = new Random(42);
    for (const [s, d, k, cin] of [
      [1, 1, 3, 5],
      [2, 1, 3, 40],
      [1, 2, 3, 33],
      [2, 1, 4, 7],
    ]) {
      const x = randn(rng, [1, 8, 7, cin]);
      const w = randn(rng, [k, k, cin, 6]);
      const xb = packSigns(x.data, x.shape);
      const wb = packHwio(w.data, w.shape);
      const attrs = {
        kernelSize: [k, k] as [number, number],
        strides: [s, s] as [number, number],
        dilations: [d, d] as [number, number],
        padding: 'same' as const,
        filters: 6,
      };
      // Larq's sign: +1 for x >= 0, -1 otherwise.
      const sign = (t: tf.Tensor4D) =>
        tf.sub(tf.mul(tf.cast(tf.greaterEqual(t, 0), 'float32'), 2), 1) as tf.Tensor4D;
      const sx = sign(tf.tensor4d(x.data, x.shape as never));
      const sw = sign(tf.tensor4d(w.data, w.shape as never));
      const zero = bconv2d(xb, wb, { ...attrs, padValue: 0 }, identity) as FloatTensor;
      close(zero.data, tf.conv2d(sx, sw, s, 'same', 'NHWC', d).dataSync() as Float32Array, 0);
      // Same-padding amounts as TensorFlow computes them, then pad with +1 and run 'valid'.
      const ay = windowAxis(8, k, s, d, 'same');
      const ax = windowAxis(7, k, s, d, 'same');
      const th = Math.max((ay.out - 1) * s + (k - 1) * d + 1 - 8, 0);
      const tw = Math.max((ax.out - 1) * s + (k - 1) * d + 1 - 7, 0);
      const padded = tf.pad(
        sx,
        [
          [0, 0],
          [ay.padBefore, th - ay.padBefore],
          [ax.padBefore, tw - ax.padBefore],
          [0, 0],
        ],
        1,
      );
      const one = bconv2d(xb, wb, { ...attrs, padValue: 1 }, identity) as FloatTensor;
      close(one.data, tf.conv2d(padded, sw, s, 'valid', 'NHWC', d).dataSync() as Float32Array, 0);
    }
  });

  it('max and average pooling at the edges', () => {
    const rng = new Random(43);
    for (const [padding, k, s] of [
      ['same', 3, 2],
      ['valid', 2, 2],
      ['same', 2, 1],
      ['same', 3, 3],
    ] as const) {
      const x = randn(rng, [2, 7, 6, 4]);
      const a = { kernelSize: [k, k] as [number, number], strides: [s, s] as [number, number], padding };
      const tx = tf.tensor4d(x.data, x.shape as never);
      close((maxPool2d(x, a) as FloatTensor).data, tf.maxPool(tx, k, s, padding).dataSync() as Float32Array);
      close(avgPool2d(x, a).data, tf.avgPool(tx, k, s, padding).dataSync() as Float32Array);
    }
  });

  it('flatten order (Keras NHWC) with dense, and softmax', () => {
    const rng = new Random(44);
    const x = randn(rng, [3, 2, 3, 5]);
    const w = randn(rng, [30, 4]);
    const got = dense(flatten(x), w.data, 4, identity);
    const want = tf.matMul(
      tf.reshape(tf.tensor4d(x.data, x.shape as never), [3, 30]),
      tf.tensor2d(w.data, [30, 4]),
    );
    close(got.data, want.dataSync() as Float32Array);
    close(softmax(got).data, tf.softmax(want).dataSync() as Float32Array);
  });
});

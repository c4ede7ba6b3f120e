import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { augmentBatch } from './augment.js';
import { augmentSeed, batchCount, batches, shuffledIndices, subset } from './batches.js';
import type { DataSplit } from './dataset.js';
import { tensorBatches, toTensors } from './tensors.js';

/** A split of n 2x2x1 images; image i holds the values 100 i + [0, 1, 2, 3], its label is i mod 10. */
function split(n: number): DataSplit {
  const x = new Float32Array(n * 4).map((_, j) => 100 * Math.floor(j / 4) + (j % 4));
  const y = new Uint8Array(n).map((_, i) => i % 10);
  return { x, y, xShape: [n, 2, 2, 1], count: n };
}

describe('batches', () => {
  it('covers every example once, in batches of batchSize and a smaller last one', () => {
    const s = split(10);
    const got = [...batches(s, { batchSize: 4, seed: 7 })];
    expect(got.map((b) => b.size)).toEqual([4, 4, 2]);
    expect(got.map((b) => b.xShape)).toEqual([
      [4, 2, 2, 1],
      [4, 2, 2, 1],
      [2, 2, 2, 1],
    ]);
    const seen = got.flatMap((b) => Array.from(b.indices)).sort((a, b) => a - b);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const b of got) {
      b.indices.forEach((i, k) => {
        expect(Array.from(b.x.subarray(4 * k, 4 * k + 4))).toEqual([
          100 * i,
          100 * i + 1,
          100 * i + 2,
          100 * i + 3,
        ]);
        expect(b.y[k]).toBe(i % 10);
      });
    }
  });

  it('drops the remainder on request and keeps split order without shuffle', () => {
    const got = [...batches(split(10), { batchSize: 4, shuffle: false, dropRemainder: true })];
    expect(got.map((b) => Array.from(b.indices))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(batchCount(10, 4)).toBe(3);
    expect(batchCount(10, 4, true)).toBe(2);
    expect(batchCount(8, 4)).toBe(2);
  });

  it('shuffles reproducibly with the seed and differently with another seed', () => {
    const order = (seed: number) => [...batches(split(50), { batchSize: 50, seed })][0].indices;
    expect(Array.from(order(3))).toEqual(Array.from(order(3)));
    expect(Array.from(order(3))).not.toEqual(Array.from(order(4)));
    expect(Array.from(order(3))).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(shuffledIndices(50, 3))).toEqual(Array.from(order(3)));
  });

  it('shuffles uniformly: each position holds each index about equally often', () => {
    // 4,000 seeds x 5 positions: each of the 5 indices lands at position 0 about 800 times (sd ~25).
    const counts = new Array(5).fill(0);
    for (let seed = 0; seed < 4000; seed++) counts[shuffledIndices(5, seed)[0]]++;
    for (const c of counts) expect(Math.abs(c - 800)).toBeLessThan(130);
  });

  it('augments each batch with its own seed when asked', () => {
    const s: DataSplit = { ...split(12), xShape: [12, 2, 2, 1] };
    const plain = [...batches(s, { batchSize: 5, seed: 4 })];
    const augmented = [...batches(s, { batchSize: 5, seed: 4, augment: { maxShift: 1, fill: -7 } })];
    expect(augmented.map((b) => Array.from(b.indices))).toEqual(plain.map((b) => Array.from(b.indices)));
    augmented.forEach((b, i) => {
      const expected = augmentBatch(plain[i], { maxShift: 1, fill: -7, seed: augmentSeed(4, i) });
      expect(Array.from(b.x)).toEqual(Array.from(expected.x));
      expect(Array.from(b.y)).toEqual(Array.from(plain[i].y));
    });
    // The seeds differ per batch: imul(4, 0x9E3779B1) + b, mod 2^32.
    expect(augmentSeed(4, 0)).toBe((4 * 0x9e3779b1) % 2 ** 32);
    expect(augmentSeed(4, 1)).toBe(((4 * 0x9e3779b1) % 2 ** 32) + 1);
    expect(augmented.some((b, i) => Array.from(b.x).join() !== Array.from(plain[i].x).join())).toBe(true);
  });

  it.each([0, -1, 2.5, Number.NaN])('rejects batchSize %s', (batchSize) => {
    expect(() => [...batches(split(4), { batchSize })]).toThrow(ConfigError);
  });

  it('takes subsets and rejects indices out of range', () => {
    const s = subset(split(6), [5, 0]);
    expect(s.xShape).toEqual([2, 2, 2, 1]);
    expect(Array.from(s.x)).toEqual([500, 501, 502, 503, 0, 1, 2, 3]);
    expect(Array.from(s.y)).toEqual([5, 0]);
    expect(() => subset(split(6), [6])).toThrow('subset index 0: received 6; expected an integer in [0, 6).');
  });
});

describe('toTensors', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('gives float32 images and float32 sparse or one-hot labels', () => {
    const s = split(3);
    const { x, y } = toTensors(s);
    expect(x.shape).toEqual([3, 2, 2, 1]);
    expect(x.dtype).toBe('float32');
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.dataSync())).toEqual([0, 1, 2]);
    const one = toTensors(s, { labels: 'onehot', numClasses: 4 });
    expect(one.y.shape).toEqual([3, 4]);
    expect(Array.from(one.y.dataSync())).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    tf.dispose([x, y, one.x, one.y]);
  });

  it('yields seeded tensor batches matching the typed-array batches', () => {
    const s = split(10);
    const plain = [...batches(s, { batchSize: 4, seed: 5 })];
    const tensors = [...tensorBatches(s, { batchSize: 4, seed: 5, labels: 'onehot' })];
    expect(tensors.map((t) => t.x.shape[0])).toEqual([4, 4, 2]);
    tensors.forEach((t, i) => {
      expect(Array.from(t.x.dataSync())).toEqual(Array.from(plain[i].x));
      expect(t.y.shape).toEqual([plain[i].size, 10]);
      const labels = tf.argMax(t.y, -1);
      expect(Array.from(labels.dataSync())).toEqual(Array.from(plain[i].y));
      tf.dispose([t.x, t.y, labels]);
    });
  });

  it('feeds model.fit with sparse categorical cross-entropy', async () => {
    const s = split(20);
    const batch = [...batches(s, { batchSize: 8, seed: 1 })][0];
    const { x, y } = toTensors(batch);
    const model = tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [2, 2, 1] }),
        tfl.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const history = await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 });
    expect(Number.isFinite(history.history.loss[0] as number)).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });
});

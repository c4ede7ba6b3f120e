/**
 * Seeded batching and shuffling of a {@link DataSplit}, as plain typed arrays.
 */
import { ConfigError } from '../errors.js';
import { Random } from '../util/random.js';
import { type AugmentOptions, augmentBatch } from './augment.js';
import type { DataSplit } from './dataset.js';

/** One batch of examples. */
export interface Batch {
  /** Images, row-major with shape {@link Batch.xShape}. */
  x: Float32Array;
  /** Labels, one per image. */
  y: Uint8Array;
  /** `[size, height, width, channels]`. */
  xShape: [number, number, number, number];
  /** Number of examples in this batch (the last batch may be smaller). */
  size: number;
  /** Positions in the split of the examples of this batch, in batch order. */
  indices: Int32Array;
}

/** Options of {@link batches}. */
export interface BatchOptions {
  /** Examples per batch, a positive integer. */
  batchSize: number;
  /** Visit the examples in a seeded random order (default true) or in split order. */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0). Use a different seed per epoch, e.g. `seed + epoch`. */
  seed?: number;
  /** Leave out a last batch smaller than batchSize (default false). */
  dropRemainder?: boolean;
  /**
   * Augment each batch with {@link augmentBatch}; batch b uses the seed
   * (imul(s, 0x9E3779B1) + b) mod 2^32 where s is `augment.seed`, else this option's `seed`.
   */
  augment?: AugmentOptions;
}

/** Seed of batch `b`'s augmentation (see {@link BatchOptions.augment}). */
export function augmentSeed(seed: number, b: number): number {
  return (Math.imul(seed, 0x9e3779b1) + b) >>> 0;
}

/**
 * The permutation 0..n-1 shuffled by Fisher-Yates with lowbit's seeded `Random(seed)`; the same
 * seed always gives the same order.
 */
export function shuffledIndices(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return new Random(seed).shuffle(order);
}

/** Number of batches {@link batches} yields: ceil(n / b), or floor(n / b) with dropRemainder. */
export function batchCount(count: number, batchSize: number, dropRemainder = false): number {
  return dropRemainder ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/**
 * Iterates over a split in batches of `{x, y}` typed arrays, shuffled with a seed.
 *
 * @example
 * ```ts
 * const ds = await lq.data.mnist();
 * for (let epoch = 0; epoch < 3; epoch++) {
 *   for (const { x, y, xShape } of lq.data.batches(ds.train, { batchSize: 64, seed: 42 + epoch })) {
 *     // x: Float32Array [64 * 28 * 28], y: Uint8Array [64]; lq.data.toTensors(batch) for tensors
 *   }
 * }
 * ```
 * @throws ConfigError for a batchSize that is not a positive integer or a non-integer seed.
 */
export function* batches(split: DataSplit, options: BatchOptions): Generator<Batch, void, undefined> {
  const { batchSize, shuffle = true, seed = 0, dropRemainder = false } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError({
      where: 'batches option batchSize',
      received: batchSize,
      expected: 'a positive integer',
    });
  }
  if (!Number.isInteger(seed)) {
    throw new ConfigError({ where: 'batches option seed', received: seed, expected: 'an integer' });
  }
  const [count, h, w, c] = split.xShape;
  const sample = h * w * c;
  const order = shuffle ? shuffledIndices(count, seed) : identityIndices(count);
  const n = batchCount(count, batchSize, dropRemainder);
  for (let b = 0; b < n; b++) {
    const indices = order.slice(b * batchSize, Math.min(count, (b + 1) * batchSize));
    const size = indices.length;
    const x = new Float32Array(size * sample);
    const y = new Uint8Array(size);
    for (let k = 0; k < size; k++) {
      const i = indices[k];
      x.set(split.x.subarray(i * sample, (i + 1) * sample), k * sample);
      y[k] = split.y[i];
    }
    const batch: Batch = { x, y, xShape: [size, h, w, c], size, indices };
    const { augment } = options;
    yield augment ? augmentBatch(batch, { ...augment, seed: augmentSeed(augment.seed ?? seed, b) }) : batch;
  }
}

function identityIndices(n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/**
 * Takes the examples at `indices` of a split as a new split (e.g. a validation subset).
 *
 * @throws ConfigError when an index is outside [0, count).
 */
export function subset(split: DataSplit, indices: ArrayLike<number>): DataSplit {
  const [count, h, w, c] = split.xShape;
  const sample = h * w * c;
  const x = new Float32Array(indices.length * sample);
  const y = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new ConfigError({
        where: `subset index ${k}`,
        received: i,
        expected: `an integer in [0, ${count})`,
      });
    }
    x.set(split.x.subarray(i * sample, (i + 1) * sample), k * sample);
    y[k] = split.y[i];
  }
  return { x, y, xShape: [indices.length, h, w, c], count: indices.length };
}

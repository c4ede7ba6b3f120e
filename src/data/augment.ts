/**
 * Seeded data augmentation on typed-array batches: random translations and horizontal flips, the
 * standard light augmentation for 28x28 datasets.
 */
import { ConfigError } from '../errors.js';
import { Random } from '../util/random.js';
import type { Batch } from './batches.js';

/** Options of {@link augmentBatch}. */
export interface AugmentOptions {
  /** Largest shift in pixels along each axis; each image moves by dy, dx uniform in [-maxShift, maxShift]. Default 2. */
  maxShift?: number;
  /** Mirror each image left-right with probability 1/2 (for Fashion-MNIST; not for digits). Default false. */
  flipHorizontal?: boolean;
  /** Value of the pixels uncovered by a shift: the background, -1 for [-1, 1] scaling. Default -1. */
  fill?: number;
  /** Seed of the random shifts and flips. Default 0. */
  seed?: number;
}

/**
 * Copies one HWC image, optionally mirrored left-right, then moved by (dy, dx) pixels (down, right):
 * out[r][c] = m[r - dy][c - dx] with m[r][j] = src[r][flip ? w - 1 - j : j], and `fill` where
 * (r - dy, c - dx) lies outside the image.
 */
export function shiftImage(
  src: ArrayLike<number>,
  out: Float32Array,
  height: number,
  width: number,
  channels: number,
  dy: number,
  dx: number,
  fill: number,
  flip = false,
): void {
  for (let r = 0; r < height; r++) {
    const sr = r - dy;
    for (let c = 0; c < width; c++) {
      const sc = flip ? width - 1 - (c - dx) : c - dx;
      const o = (r * width + c) * channels;
      if (sr < 0 || sr >= height || sc < 0 || sc >= width) {
        for (let k = 0; k < channels; k++) out[o + k] = fill;
      } else {
        const s = (sr * width + sc) * channels;
        for (let k = 0; k < channels; k++) out[o + k] = src[s + k];
      }
    }
  }
}

/**
 * Returns a randomly translated (and optionally mirrored) copy of a batch; labels are unchanged.
 * Same seed, same result.
 *
 * @example
 * ```ts
 * for (const b of lq.data.batches(ds.train, { batchSize: 64, seed: epoch })) {
 *   const { x, y } = lq.data.toTensors(lq.data.augmentBatch(b, { maxShift: 2, flipHorizontal: true, seed: epoch }));
 * }
 * ```
 * @throws ConfigError for a negative or non-integer maxShift.
 */
export function augmentBatch(batch: Batch, options: AugmentOptions = {}): Batch {
  const { maxShift = 2, flipHorizontal = false, fill = -1, seed = 0 } = options;
  if (!Number.isInteger(maxShift) || maxShift < 0) {
    throw new ConfigError({
      where: 'augmentBatch option maxShift',
      received: maxShift,
      expected: 'an integer >= 0',
    });
  }
  const [n, h, w, c] = batch.xShape;
  const size = h * w * c;
  const random = new Random(seed);
  const x = new Float32Array(batch.x.length);
  for (let i = 0; i < n; i++) {
    const dy = random.int(2 * maxShift + 1) - maxShift;
    const dx = random.int(2 * maxShift + 1) - maxShift;
    const flip = flipHorizontal && random.next() < 0.5;
    shiftImage(
      batch.x.subarray(i * size, (i + 1) * size),
      x.subarray(i * size, (i + 1) * size),
      h,
      w,
      c,
      dy,
      dx,
      fill,
      flip,
    );
  }
  return { ...batch, x };
}

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { augmentBatch, shiftImage } from './augment.js';
import type { Batch } from './batches.js';

/** 3x3 image, one channel: 1 2 3 / 4 5 6 / 7 8 9. */
const img = [1, 2, 3, 4, 5, 6, 7, 8, 9];

function shifted(dy: number, dx: number, flip = false, src = img, h = 3, w = 3, c = 1): number[] {
  const out = new Float32Array(h * w * c);
  shiftImage(src, out, h, w, c, dy, dx, 0, flip);
  return Array.from(out);
}

describe('shiftImage', () => {
  it.each([
    [0, 0, false, [1, 2, 3, 4, 5, 6, 7, 8, 9]],
    [1, 0, false, [0, 0, 0, 1, 2, 3, 4, 5, 6]], // down by one
    [0, -1, false, [2, 3, 0, 5, 6, 0, 8, 9, 0]], // left by one
    [-2, 2, false, [0, 0, 7, 0, 0, 0, 0, 0, 0]], // up two, right two
    [0, 0, true, [3, 2, 1, 6, 5, 4, 9, 8, 7]], // mirrored
    [1, 1, true, [0, 0, 0, 0, 3, 2, 0, 6, 5]], // mirrored, then the source moved down and right
    [3, 0, false, [0, 0, 0, 0, 0, 0, 0, 0, 0]], // shifted out entirely
  ])('dy %i, dx %i, flip %s', (dy, dx, flip, expected) => {
    expect(shifted(dy, dx, flip)).toEqual(expected);
  });

  it('moves all channels of a pixel together', () => {
    // 1x2 image with 2 channels: (1, 10) (2, 20).
    expect(shifted(0, 1, false, [1, 10, 2, 20], 1, 2, 2)).toEqual([0, 0, 1, 10]);
  });
});

describe('augmentBatch', () => {
  // 64 distinct 5x5 images: pixel j of image i is 100 i + j.
  const n = 64;
  const batch: Batch = {
    x: new Float32Array(n * 25).map((_, k) => 100 * Math.floor(k / 25) + (k % 25)),
    y: new Uint8Array(n).map((_, i) => i % 10),
    xShape: [n, 5, 5, 1],
    size: n,
    indices: new Int32Array(n).map((_, i) => i),
  };

  /** The (dy, dx, flip) that turns image i into `out`, found by trying every candidate. */
  function whichShift(i: number, out: Float32Array, maxShift: number, flips: boolean[]) {
    const src = batch.x.subarray(i * 25, (i + 1) * 25);
    const found: string[] = [];
    for (let dy = -maxShift; dy <= maxShift; dy++)
      for (let dx = -maxShift; dx <= maxShift; dx++)
        for (const flip of flips) {
          const cand = new Float32Array(25);
          shiftImage(src, cand, 5, 5, 1, dy, dx, -1, flip);
          if (cand.every((v, k) => v === out[k])) found.push(`${dy},${dx},${flip}`);
        }
    return found;
  }

  it('turns every image into a shift within maxShift of itself, keeps labels, and uses all shifts', () => {
    const out = augmentBatch(batch, { maxShift: 1, seed: 3 });
    expect(out.y).toBe(batch.y);
    expect(out.xShape).toEqual(batch.xShape);
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const match = whichShift(i, out.x.subarray(i * 25, (i + 1) * 25), 1, [false]);
      expect(match).toHaveLength(1);
      seen.add(match[0]);
    }
    // 64 draws from 9 equally likely shifts: all 9 appear (probability of missing one < 9 (8/9)^64 ~ 0.005).
    expect(seen.size).toBe(9);
  });

  it('mirrors about half of the images when asked', () => {
    const out = augmentBatch(batch, { maxShift: 0, flipHorizontal: true, seed: 1 });
    let flipped = 0;
    for (let i = 0; i < n; i++) {
      const match = whichShift(i, out.x.subarray(i * 25, (i + 1) * 25), 0, [false, true]);
      expect(match).toHaveLength(1);
      if (match[0].endsWith('true')) flipped++;
    }
    expect(flipped).toBeGreaterThan(16);
    expect(flipped).toBeLessThan(48);
  });

  it('is reproducible with the seed and leaves the input alone', () => {
    const before = Array.from(batch.x);
    const a = augmentBatch(batch, { seed: 9 });
    const b = augmentBatch(batch, { seed: 9 });
    const c = augmentBatch(batch, { seed: 10 });
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(Array.from(a.x)).not.toEqual(Array.from(c.x));
    expect(Array.from(batch.x)).toEqual(before);
    expect(Array.from(augmentBatch(batch, { maxShift: 0 }).x)).toEqual(before);
  });

  it('rejects a bad maxShift', () => {
    expect(() => augmentBatch(batch, { maxShift: -1 })).toThrow(ConfigError);
    expect(() => augmentBatch(batch, { maxShift: 1.5 })).toThrow(
      'augmentBatch option maxShift: received 1.5',
    );
  });
});

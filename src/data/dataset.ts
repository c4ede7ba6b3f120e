/**
 * The in-memory dataset shape shared by every lowbit dataset: typed arrays plus shapes, no tensors,
 * so data can be inspected, batched and sent to workers without a tfjs backend.
 */
import { ConfigError, FormatError, LowbitError } from '../errors.js';

/**
 * How 8-bit pixels p in {0, ..., 255} become floats:
 * - `'symmetric'`: x = p / 127.5 - 1, in [-1, 1] (Larq's examples: `images / 127.5 - 1`), the default,
 *   so that sign(x) splits dark from bright pixels;
 * - `'unit'`: x = p / 255, in [0, 1].
 */
export type PixelScale = 'symmetric' | 'unit';

/** The valid {@link PixelScale} values. */
export const PIXEL_SCALES: readonly PixelScale[] = ['symmetric', 'unit'];

/** One part (train or test) of a dataset, as typed arrays. */
export interface DataSplit {
  /** Images, row-major with shape {@link DataSplit.xShape}: `[count, height, width, channels]`. */
  x: Float32Array;
  /** Class indices in 0 .. numClasses - 1, one per image. */
  y: Uint8Array;
  /** Shape of `x`. */
  xShape: [number, number, number, number];
  /** Number of examples: `xShape[0] === y.length`. */
  count: number;
}

/** A labelled image dataset with a fixed train/test split. */
export interface Dataset {
  /** Registry name, e.g. `'mnist'` or `'fashion-mnist'`. */
  name: string;
  /** Where the data came from (a directory or a package), for reports. */
  source: string;
  /** Shape of one image: `[height, width, channels]`. */
  imageShape: [number, number, number];
  /** Human-readable name of each class, indexed by label. */
  classNames: readonly string[];
  /** How pixels were scaled. */
  scale: PixelScale;
  train: DataSplit;
  test: DataSplit;
}

/** Options shared by the dataset loaders. */
export interface LoadOptions {
  /** Pixel scaling; default `'symmetric'` ([-1, 1]). */
  scale?: PixelScale;
}

/** Raised when a dataset's files cannot be found; the message says how to get them. */
export class DatasetNotFoundError extends LowbitError {
  override name = 'DatasetNotFoundError';
}

/** Checks a {@link PixelScale} option, returning the default `'symmetric'` for undefined. */
export function checkScale(scale: unknown, where: string): PixelScale {
  if (scale === undefined) return 'symmetric';
  if (!PIXEL_SCALES.includes(scale as PixelScale)) {
    throw new ConfigError({ where: `${where} option scale`, received: scale, expected: PIXEL_SCALES });
  }
  return scale as PixelScale;
}

/**
 * Scales 8-bit pixels to floats: p / 127.5 - 1 (`'symmetric'`, in [-1, 1]) or p / 255 (`'unit'`).
 *
 * @example
 * ```ts
 * lq.data.scalePixels(new Uint8Array([0, 51, 255])); // Float32Array [-1, -0.6, 1]
 * ```
 */
export function scalePixels(pixels: ArrayLike<number>, scale: PixelScale = 'symmetric'): Float32Array {
  const out = new Float32Array(pixels.length);
  if (scale === 'symmetric') {
    for (let i = 0; i < out.length; i++) out[i] = pixels[i] / 127.5 - 1;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = pixels[i] / 255;
  }
  return out;
}

/**
 * Counts the examples of each class: `counts[c] = #{i : labels[i] = c}` for c < numClasses.
 *
 * @throws ConfigError when a label is not an integer in [0, numClasses).
 */
export function classCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new ConfigError({
        where: `label ${i}`,
        received: c,
        expected: `an integer in [0, ${numClasses})`,
      });
    }
    counts[c]++;
  }
  return counts;
}

/**
 * Builds a split from 8-bit images `[count, height, width]` (or with channels) and labels, checking
 * that counts agree and labels are in range.
 */
export function makeSplit(
  pixels: Uint8Array,
  shape: readonly number[],
  labels: Uint8Array,
  numClasses: number,
  scale: PixelScale,
  source: string,
): DataSplit {
  const [count, height, width, channels = 1] = shape;
  if (labels.length !== count) {
    throw new FormatError({
      source,
      problem: `${count} images but ${labels.length} labels`,
      expected: 'one label per image',
    });
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) {
      throw new FormatError({
        source,
        problem: `label ${labels[i]} at index ${i}`,
        expected: `labels in [0, ${numClasses})`,
      });
    }
  }
  return { x: scalePixels(pixels, scale), y: labels, xShape: [count, height, width, channels], count };
}

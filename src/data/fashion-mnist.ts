/**
 * Fashion-MNIST (H. Xiao, K. Rasul, R. Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
 * Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017), read from the four standard
 * IDX files with the standard split: 60,000 train and 10,000 test images.
 */
import { ConfigError, FormatError } from '../errors.js';
import { checkScale, type Dataset, DatasetNotFoundError, type LoadOptions, makeSplit } from './dataset.js';
import { decodeIdx, type IdxArray, readIdxFile } from './idx.js';
import { importNode } from './node.js';

/** Where Debian's package `dataset-fashion-mnist` installs the files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** Environment variable naming a directory with the Fashion-MNIST files. */
export const FASHION_MNIST_ENV = 'LOWBIT_FASHION_MNIST_DIR';

/** Base names of the four standard files; each may also carry a `.gz` suffix. */
export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Class names of Fashion-MNIST, indexed by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Options of {@link fashionMnist}. */
export interface FashionMnistOptions extends LoadOptions {
  /** Directory holding the four files; default `$LOWBIT_FASHION_MNIST_DIR`, else Debian's directory. */
  dir?: string;
  /** Environment to read LOWBIT_FASHION_MNIST_DIR from; default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** The directory that was chosen and the paths of the four files in it. */
export interface FashionMnistFiles {
  dir: string;
  /** How the directory was chosen: `'option dir'`, the environment variable, or `'default'`. */
  from: string;
  paths: Record<keyof typeof FASHION_MNIST_FILES, string>;
}

const HOW_TO_GET =
  'install it with `apt-get install dataset-fashion-mnist` (files in /usr/share/datasets/fashion-mnist), ' +
  `or give a directory (option dir, --dir, or ${FASHION_MNIST_ENV}) holding ` +
  `${Object.values(FASHION_MNIST_FILES).join(', ')} (gzipped or not)`;

type Fs = typeof import('node:fs');
type Path = typeof import('node:path');

/**
 * Finds the Fashion-MNIST files: in `dir` if given, else in `$LOWBIT_FASHION_MNIST_DIR` if set,
 * else in {@link FASHION_MNIST_DEFAULT_DIR}. In the chosen directory each file is `<name>.gz` or
 * `<name>`. An explicitly chosen directory is never silently replaced by another. `env` is the
 * environment to read the variable from (default `process.env`).
 *
 * @throws DatasetNotFoundError naming the directory, the missing files and how to get them.
 */
export async function findFashionMnist(
  dir?: string,
  env?: Record<string, string | undefined>,
): Promise<FashionMnistFiles> {
  const fs = await importNode<Fs>('fs', 'fashionMnist');
  const path = await importNode<Path>('path', 'fashionMnist');
  // Read process.env only now: outside Node, importNode has already explained what to do instead.
  const environment = env ?? process.env;
  if (dir !== undefined && (typeof dir !== 'string' || dir === '')) {
    throw new ConfigError({ where: 'fashionMnist option dir', received: dir, expected: 'a directory path' });
  }
  const fromEnv = environment[FASHION_MNIST_ENV];
  const [chosen, from] =
    dir !== undefined
      ? [dir, 'option dir']
      : fromEnv
        ? [fromEnv, `environment variable ${FASHION_MNIST_ENV}`]
        : [FASHION_MNIST_DEFAULT_DIR, 'default'];
  const isFile = (p: string) =>
    fs.promises.stat(p).then(
      (s) => s.isFile(),
      () => false,
    );
  if (
    !(await fs.promises.stat(chosen).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new DatasetNotFoundError(
      `Fashion-MNIST not found: ${chosen} (${from}) is not a directory; ${HOW_TO_GET}.`,
    );
  }
  const paths = {} as Record<keyof typeof FASHION_MNIST_FILES, string>;
  const missing: string[] = [];
  for (const [key, name] of Object.entries(FASHION_MNIST_FILES) as [
    keyof typeof FASHION_MNIST_FILES,
    string,
  ][]) {
    const gz = path.join(chosen, `${name}.gz`);
    const raw = path.join(chosen, name);
    if (await isFile(gz)) paths[key] = gz;
    else if (await isFile(raw)) paths[key] = raw;
    else missing.push(name);
  }
  if (missing.length > 0) {
    throw new DatasetNotFoundError(
      `Fashion-MNIST not found: ${chosen} (${from}) lacks ${missing.join(', ')}; ${HOW_TO_GET}.`,
    );
  }
  return { dir: chosen, from, paths };
}

function expectShape(array: IdxArray, rank: number, source: string, what: string): void {
  const ok =
    array.dtype === 'uint8' &&
    array.shape.length === rank &&
    (rank === 1 || (array.shape[1] === 28 && array.shape[2] === 28));
  if (!ok) {
    throw new FormatError({
      source,
      problem: `${array.dtype} data of shape [${array.shape.join(', ')}]`,
      expected: `${what}: uint8 of shape ${rank === 1 ? '[n]' : '[n, 28, 28]'}`,
    });
  }
}

type FileKey = keyof typeof FASHION_MNIST_FILES;

/** Checks the four decoded files and builds the dataset. */
function build(
  arrays: Record<FileKey, IdxArray>,
  names: Record<FileKey, string>,
  scale: Dataset['scale'],
  source: string,
): Dataset {
  expectShape(arrays.trainImages, 3, names.trainImages, 'training images');
  expectShape(arrays.trainLabels, 1, names.trainLabels, 'training labels');
  expectShape(arrays.testImages, 3, names.testImages, 'test images');
  expectShape(arrays.testLabels, 1, names.testLabels, 'test labels');
  const split = (images: IdxArray, labels: IdxArray, where: string) =>
    makeSplit(images.data as Uint8Array, images.shape, labels.data as Uint8Array, 10, scale, where);
  return {
    name: 'fashion-mnist',
    source,
    imageShape: [28, 28, 1],
    classNames: FASHION_MNIST_CLASSES,
    scale,
    train: split(arrays.trainImages, arrays.trainLabels, `${names.trainImages} + ${names.trainLabels}`),
    test: split(arrays.testImages, arrays.testLabels, `${names.testImages} + ${names.testLabels}`),
  };
}

/**
 * Loads Fashion-MNIST with its standard split (60,000 train / 10,000 test, 6,000 / 1,000 per class),
 * images 28x28x1 scaled to [-1, 1] by default. Node only (reads files); in a browser use
 * {@link fashionMnistFromBytes}.
 *
 * @example
 * ```ts
 * const ds = await lq.data.fashionMnist();               // Debian's package or $LOWBIT_FASHION_MNIST_DIR
 * const ds2 = await lq.data.fashionMnist({ dir: 'data/fashion' });
 * ```
 * @throws DatasetNotFoundError when the files are absent (the message says how to get them);
 *   FormatError when a file is corrupt or the files disagree.
 */
export async function fashionMnist(options: FashionMnistOptions = {}): Promise<Dataset> {
  const scale = checkScale(options.scale, 'fashionMnist');
  const { dir, paths } = await findFashionMnist(options.dir, options.env);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    readIdxFile(paths.trainImages),
    readIdxFile(paths.trainLabels),
    readIdxFile(paths.testImages),
    readIdxFile(paths.testLabels),
  ]);
  return build({ trainImages, trainLabels, testImages, testLabels }, paths, scale, dir);
}

/** The contents of the four Fashion-MNIST files (gzipped or not), for {@link fashionMnistFromBytes}. */
export type FashionMnistBytes = Record<FileKey, Uint8Array>;

/**
 * Builds Fashion-MNIST from the bytes of its four files, gzipped or not: the loader for browsers
 * (fetch the files, pass the bytes) and for data that is not on disk.
 *
 * @example
 * ```ts
 * const get = async (f: string) => new Uint8Array(await (await fetch(`/data/${f}.gz`)).arrayBuffer());
 * const ds = await lq.data.fashionMnistFromBytes({
 *   trainImages: await get('train-images-idx3-ubyte'), trainLabels: await get('train-labels-idx1-ubyte'),
 *   testImages: await get('t10k-images-idx3-ubyte'), testLabels: await get('t10k-labels-idx1-ubyte'),
 * });
 * ```
 * @throws FormatError when a file is corrupt or the files disagree.
 */
export async function fashionMnistFromBytes(
  files: FashionMnistBytes,
  options: LoadOptions & { source?: string } = {},
): Promise<Dataset> {
  const scale = checkScale(options.scale, 'fashionMnistFromBytes');
  const keys = Object.keys(FASHION_MNIST_FILES) as FileKey[];
  for (const key of keys) {
    if (!(files?.[key] instanceof Uint8Array)) {
      throw new ConfigError({
        where: `fashionMnistFromBytes files.${key}`,
        received: files?.[key],
        expected: `the bytes (Uint8Array) of ${FASHION_MNIST_FILES[key]}, gzipped or not`,
      });
    }
  }
  const names = Object.fromEntries(keys.map((k) => [k, FASHION_MNIST_FILES[k]])) as Record<FileKey, string>;
  const decoded = await Promise.all(keys.map((k) => decodeIdx(files[k], { source: names[k] })));
  const arrays = Object.fromEntries(keys.map((k, i) => [k, decoded[i]])) as Record<FileKey, IdxArray>;
  return build(arrays, names, scale, options.source ?? 'bytes');
}

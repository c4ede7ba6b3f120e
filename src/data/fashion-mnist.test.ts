import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, FormatError } from '../errors.js';
import { classCounts, DatasetNotFoundError } from './dataset.js';
import {
  FASHION_MNIST_DEFAULT_DIR,
  FASHION_MNIST_ENV,
  FASHION_MNIST_FILES,
  fashionMnist,
  fashionMnistFromBytes,
  findFashionMnist,
} from './fashion-mnist.js';

const present = Object.values(FASHION_MNIST_FILES).every((f) =>
  existsSync(join(FASHION_MNIST_DEFAULT_DIR, `${f}.gz`)),
);

/** Hand-built IDX bytes: magic 0x0000, code 0x08, rank, big-endian dims, payload. */
function idx(dims: number[], payload: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

const root = mkdtempSync(join(tmpdir(), 'lowbit-fashion-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes a tiny Fashion-MNIST-like directory: 3 train and 2 test images, pixel value = 10 * image + 1. */
function tinyDir(
  name: string,
  changes: { gzip?: boolean; labels?: number[]; imageDims?: number[] } = {},
): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const images = (n: number) => Array.from({ length: n * 784 }, (_, j) => 10 * Math.floor(j / 784) + 1);
  const files: Record<string, Uint8Array> = {
    [FASHION_MNIST_FILES.trainImages]: idx(changes.imageDims ?? [3, 28, 28], images(3)),
    [FASHION_MNIST_FILES.trainLabels]: idx(
      [(changes.labels ?? [9, 0, 4]).length],
      changes.labels ?? [9, 0, 4],
    ),
    [FASHION_MNIST_FILES.testImages]: idx([2, 28, 28], images(2)),
    [FASHION_MNIST_FILES.testLabels]: idx([2], [1, 2]),
  };
  for (const [f, bytes] of Object.entries(files)) {
    if (changes.gzip) writeFileSync(join(dir, `${f}.gz`), gzipSync(bytes));
    else writeFileSync(join(dir, f), bytes);
  }
  return dir;
}

describe('findFashionMnist and fashionMnist on hand-made files', () => {
  let savedEnv: string | undefined;
  beforeEach(() => {
    savedEnv = process.env[FASHION_MNIST_ENV];
  });
  afterEach(() => {
    if (savedEnv === undefined) delete process.env[FASHION_MNIST_ENV];
    else process.env[FASHION_MNIST_ENV] = savedEnv;
  });

  it.each([false, true])('reads a directory given by option (gzip %s)', async (gzip) => {
    const dir = tinyDir(`opt-${gzip}`, { gzip });
    const ds = await fashionMnist({ dir });
    expect(ds.source).toBe(dir);
    expect(ds.train.xShape).toEqual([3, 28, 28, 1]);
    expect(ds.test.xShape).toEqual([2, 28, 28, 1]);
    expect(Array.from(ds.train.y)).toEqual([9, 0, 4]);
    // Pixel 21 of image 2 -> 21 / 127.5 - 1.
    expect(ds.train.x[2 * 784 + 5]).toBeCloseTo(21 / 127.5 - 1, 6);
    expect(ds.test.x[783]).toBeCloseTo(1 / 127.5 - 1, 6);
    const unit = await fashionMnist({ dir, scale: 'unit' });
    expect(unit.train.x[784]).toBeCloseTo(11 / 255, 6);
  });

  it('uses the environment variable when no dir is given', async () => {
    const dir = tinyDir('env', { gzip: true });
    process.env[FASHION_MNIST_ENV] = dir;
    const found = await findFashionMnist();
    expect(found.dir).toBe(dir);
    expect(found.from).toBe(`environment variable ${FASHION_MNIST_ENV}`);
    expect(found.paths.testLabels).toBe(join(dir, `${FASHION_MNIST_FILES.testLabels}.gz`));
    // An explicit dir wins over the environment.
    const other = tinyDir('env-other');
    expect((await findFashionMnist(other)).paths.trainImages).toBe(
      join(other, FASHION_MNIST_FILES.trainImages),
    );
  });

  it('says how to get the data when the directory is missing or incomplete', async () => {
    const missing = join(root, 'does-not-exist');
    const e1 = await fashionMnist({ dir: missing }).catch((e) => e);
    expect(e1).toBeInstanceOf(DatasetNotFoundError);
    expect(e1.message).toContain(`${missing} (option dir) is not a directory`);
    expect(e1.message).toContain('apt-get install dataset-fashion-mnist');
    const partial = tinyDir('partial');
    rmSync(join(partial, FASHION_MNIST_FILES.testImages));
    rmSync(join(partial, FASHION_MNIST_FILES.trainLabels));
    process.env[FASHION_MNIST_ENV] = partial;
    const e2 = await fashionMnist().catch((e) => e);
    expect(e2).toBeInstanceOf(DatasetNotFoundError);
    expect(e2.message).toContain(
      `lacks ${FASHION_MNIST_FILES.trainLabels}, ${FASHION_MNIST_FILES.testImages};`,
    );
    expect(e2.message).toContain(`(environment variable ${FASHION_MNIST_ENV})`);
  });

  it.each([
    ['more labels than images', { labels: [1, 2, 3, 4] }, /3 images but 4 labels/],
    ['a label out of range', { labels: [1, 10, 3] }, /label 10 at index 1; expected labels in \[0, 10\)/],
    ['images that are not 28x28', { imageDims: [3, 28, 28, 1] }, /uint8 data of shape \[3, 28, 28, 1\]/],
  ])('rejects %s with a FormatError', async (name, changes, message) => {
    const dir = tinyDir(`bad-${name.replaceAll(' ', '-')}`, changes);
    const error = await fashionMnist({ dir }).catch((e) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toMatch(message);
  });
});

describe('fashionMnistFromBytes', () => {
  it('builds the same dataset from the bytes of the files, gzipped or not', async () => {
    const dir = tinyDir('bytes');
    const read = (f: string) => new Uint8Array(readFileSync(join(dir, f)));
    const ds = await fashionMnistFromBytes(
      {
        trainImages: read(FASHION_MNIST_FILES.trainImages),
        trainLabels: gzipSync(read(FASHION_MNIST_FILES.trainLabels)),
        testImages: gzipSync(read(FASHION_MNIST_FILES.testImages)),
        testLabels: read(FASHION_MNIST_FILES.testLabels),
      },
      { source: 'memory' },
    );
    const fromDisk = await fashionMnist({ dir });
    expect(ds.source).toBe('memory');
    expect(ds.train.xShape).toEqual(fromDisk.train.xShape);
    expect(Array.from(ds.train.x)).toEqual(Array.from(fromDisk.train.x));
    expect(Array.from(ds.test.y)).toEqual([1, 2]);
  });

  it('names a missing file', async () => {
    const error = await fashionMnistFromBytes({ trainImages: new Uint8Array(4) } as never).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'fashionMnistFromBytes files.trainLabels: received undefined; expected the bytes (Uint8Array) of train-labels-idx1-ubyte, gzipped or not.',
    );
  });
});

describe.skipIf(!present)(
  `Fashion-MNIST from ${FASHION_MNIST_DEFAULT_DIR} (skipped when absent: apt-get install dataset-fashion-mnist)`,
  () => {
    it('has the standard 60,000 / 10,000 split, balanced classes and the known labels and pixels', async () => {
      const ds = await fashionMnist({ dir: FASHION_MNIST_DEFAULT_DIR });
      expect(ds.train.xShape).toEqual([60000, 28, 28, 1]);
      expect(ds.test.xShape).toEqual([10000, 28, 28, 1]);
      expect(classCounts(ds.train.y, 10)).toEqual(new Array(10).fill(6000));
      expect(classCounts(ds.test.y, 10)).toEqual(new Array(10).fill(1000));
      // First labels of the published files (train: ankle boot, T-shirt, T-shirt, dress, ...).
      expect(Array.from(ds.train.y.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
      expect(Array.from(ds.test.y.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
      // Sums of all raw bytes, computed with Python's gzip module: sum(data[16:]).
      let trainSum = 0;
      for (const x of ds.train.x) trainSum += Math.round((x + 1) * 127.5);
      let testSum = 0;
      for (const x of ds.test.x) testSum += Math.round((x + 1) * 127.5);
      expect(trainSum).toBe(3431114169);
      expect(testSum).toBe(573469082);
    });
  },
);

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../errors.js';
import { classCounts, type Dataset } from './dataset.js';
import { mnist, mnistFromDigits } from './mnist.js';

/** The package's own files, read here independently of the loader. */
const digitsDir = join(
  dirname(createRequire(import.meta.url).resolve('mnist/package.json')),
  'src',
  'digits',
);
const rawDigits = (): number[][] =>
  Array.from({ length: 10 }, (_, c) => JSON.parse(readFileSync(join(digitsDir, `${c}.json`), 'utf8')).data);

/** Back from [-1, 1] to the 8-bit pixel: p = (x + 1) * 127.5. */
const toByte = (x: number) => Math.round((x + 1) * 127.5);

describe('embedded MNIST', () => {
  let ds: Dataset;
  let raw: number[][];
  beforeAll(async () => {
    ds = await mnist();
    raw = rawDigits();
  });

  it('has the 10,000 digits of the package in an 8,000 / 2,000 split', () => {
    expect(ds.name).toBe('mnist');
    expect(ds.train.xShape).toEqual([8000, 28, 28, 1]);
    expect(ds.test.xShape).toEqual([2000, 28, 28, 1]);
    expect(ds.train.x.length).toBe(8000 * 784);
    expect(ds.test.y.length).toBe(2000);
    // Class sizes of the package (benchmarks.md): 1001 zeros, 1127 ones, ...
    expect(raw.map((d) => d.length / 784)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    // round(0.8 * n_c), worked out by hand, and the rest.
    expect(classCounts(ds.train.y, 10)).toEqual([801, 902, 793, 826, 784, 690, 811, 856, 755, 782]);
    expect(classCounts(ds.test.y, 10)).toEqual([200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
  });

  it('puts exactly the first round(0.8 n) digits of each class in train, each digit once', () => {
    // Index every raw digit by a hash of its bytes (FNV-1a), then match split images byte for byte.
    const bytesOf = (values: ArrayLike<number>, toByte: (v: number) => number) => {
      const out = new Uint8Array(values.length);
      for (let j = 0; j < values.length; j++) out[j] = toByte(values[j]);
      return out;
    };
    const same = (a: Uint8Array, b: Uint8Array) => {
      for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return false;
      return true;
    };
    const hash = (b: Uint8Array) => {
      let h = 0x811c9dc5;
      for (const v of b) h = Math.imul(h ^ v, 0x01000193);
      return h >>> 0;
    };
    const rawBytes = raw.map((values) => bytesOf(values, (v) => Math.round(v * 255)));
    const where = new Map<number, [number, number][]>();
    rawBytes.forEach((b, c) => {
      for (let i = 0; i < b.length / 784; i++) {
        const key = hash(b.subarray(i * 784, (i + 1) * 784));
        where.set(key, [...(where.get(key) ?? []), [c, i]]);
      }
    });
    const nTrain = [801, 902, 793, 826, 784, 690, 811, 856, 755, 782];
    const used = new Set<string>();
    let unmatched = 0;
    for (const [split, isTrain] of [
      [ds.train, true],
      [ds.test, false],
    ] as const) {
      for (let k = 0; k < split.count; k++) {
        const image = bytesOf(split.x.subarray(k * 784, (k + 1) * 784), toByte);
        const found = (where.get(hash(image)) ?? []).find(
          ([c, i]) =>
            c === split.y[k] &&
            i < nTrain[c] === isTrain &&
            !used.has(`${c}:${i}`) &&
            same(rawBytes[c].subarray(i * 784, (i + 1) * 784), image),
        );
        if (found) used.add(`${found[0]}:${found[1]}`);
        else unmatched++;
      }
    }
    expect(unmatched).toBe(0);
    expect(used.size).toBe(10000);
  });

  it('scales pixels p to p / 127.5 - 1 exactly', () => {
    let min = Infinity;
    let max = -Infinity;
    let offGrid = 0;
    for (const x of ds.train.x) {
      if (x < min) min = x;
      if (x > max) max = x;
      offGrid = Math.max(offGrid, Math.abs((x + 1) * 127.5 - toByte(x)));
    }
    expect(min).toBe(-1);
    expect(max).toBe(1);
    expect(offGrid).toBeLessThan(1e-4);
    // 0.json holds the value 0.2 (p = 51), whose scaled value is 51 / 127.5 - 1 = -0.6.
    expect(raw[0]).toContain(0.2);
    expect(ds.train.x.includes(Math.fround(-0.6))).toBe(true);
  });

  it('mixes classes within a split and is identical across loads', async () => {
    const first = Array.from(ds.train.y.subarray(0, 50));
    expect(new Set(first).size).toBeGreaterThanOrEqual(8);
    for (const again of [await mnist(), await mnist({ digits: raw })]) {
      expect(again.train.x === ds.train.x).toBe(false); // fresh arrays every time
      expect(Buffer.from(again.train.x.buffer).equals(Buffer.from(ds.train.x.buffer))).toBe(true);
      expect(Array.from(again.test.y)).toEqual(Array.from(ds.test.y));
    }
  });

  it("scales to [0, 1] with scale 'unit'", async () => {
    const unit = await mnist({ scale: 'unit', digits: raw });
    let maxDiff = 0;
    for (let i = 0; i < unit.train.x.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(unit.train.x[i] - (ds.train.x[i] + 1) / 2));
    }
    expect(maxDiff).toBeLessThan(1e-6);
  });
});

describe('mnistFromDigits', () => {
  /** Digit c has n_c images whose pixels are all (10 c + i) / 255, rounded to 3 decimals like the package. */
  const synthetic = (sizes: number[]) =>
    sizes.map((n, c) =>
      Array.from(
        { length: n * 784 },
        (_, j) => Math.round(((10 * c + Math.floor(j / 784)) / 255) * 1000) / 1000,
      ),
    );

  it('splits each class at round(0.8 n) in file order', () => {
    const sizes = [5, 3, 7, 1, 2, 4, 6, 8, 9, 10];
    const ds = mnistFromDigits(synthetic(sizes));
    // round(0.8 n): 4, 2, 6, 1, 2, 3, 5, 6, 7, 8
    expect(classCounts(ds.train.y, 10)).toEqual([4, 2, 6, 1, 2, 3, 5, 6, 7, 8]);
    expect(classCounts(ds.test.y, 10)).toEqual([1, 1, 1, 0, 0, 1, 1, 2, 2, 2]);
    for (const [split, isTrain] of [
      [ds.train, true],
      [ds.test, false],
    ] as const) {
      for (let k = 0; k < split.count; k++) {
        const c = split.y[k];
        const i = toByte(split.x[k * 784]) - 10 * c; // position of the image in its class
        expect(i < [4, 2, 6, 1, 2, 3, 5, 6, 7, 8][c]).toBe(isTrain);
      }
    }
  });

  it.each([
    ['nine arrays', () => synthetic([1, 1, 1, 1, 1, 1, 1, 1, 1]), /9 digit arrays; expected ten arrays/],
    ['a partial digit', () => [...synthetic([1, 1, 1, 1, 1, 1, 1, 1, 1]), [0, 0]], /mnist digit 9: 2 values/],
    [
      'a value off the 8-bit grid',
      () => synthetic([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]).map((d, c) => (c === 2 ? d.map(() => 0.5) : d)),
      /mnist digit 2: value 0.5 at index 0/,
    ],
    [
      'a value above 1',
      () => synthetic([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]).map((d, c) => (c === 4 ? [...d.slice(0, 783), 2] : d)),
      /mnist digit 4: value 2 at index 783/,
    ],
  ])('rejects %s with a FormatError', (_name, make, message) => {
    expect(() => mnistFromDigits(make())).toThrow(FormatError);
    expect(() => mnistFromDigits(make())).toThrow(message);
  });

  it('rejects an unknown scale', () => {
    expect(() =>
      mnistFromDigits(synthetic([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), { scale: 'x' as 'unit' }),
    ).toThrow('mnist option scale: received "x"; expected one of symmetric, unit.');
  });
});

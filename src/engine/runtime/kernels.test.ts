import { describe, expect, it } from 'vitest';
import { Random } from '../../util/random.js';
import { popcount32 } from '../reference/bits.js';
import { Kernels } from './kernels.js';
import { accThresholds } from './prepare.js';

/** popcount(a_i XOR b_j) over `words` 32-bit words, straight from the definition. */
function reference(a: Uint32Array, b: Uint32Array, m: number, n: number, words: number): Int32Array {
  const c = new Int32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < words; t++) s += popcount32(a[i * words + t] ^ b[j * words + t]);
      c[i * n + j] = s;
    }
  return c;
}

describe('binary GEMM kernels', () => {
  // Odd m and n (tile remainders), rows longer than 31 SIMD steps (several byte-counter flushes:
  // 31 * 128 = 3968 bits), and more weight rows than one cache block (128 KiB / row bytes).
  const shapes: [number, number, number][] = [
    [1, 1, 128],
    [3, 5, 512],
    [7, 9, 3968],
    [5, 4, 3968 + 128],
    [4, 3, 8192 + 256],
    [2, 300, 8192],
    [33, 65, 1024],
  ];
  for (const [m, n, bits] of shapes)
    it(`${m} x ${n} x ${bits} bits: scalar and SIMD popcount equal the definition`, async () => {
      const rng = new Random(m * 1000 + n + bits);
      const k = await Kernels.create();
      const words = bits / 32;
      const a = k.alloc(m * words * 4);
      const b = k.alloc(n * words * 4);
      const c = k.alloc(m * n * 4);
      const av = Uint32Array.from({ length: m * words }, () => (rng.next() * 2 ** 32) >>> 0);
      const bv = Uint32Array.from({ length: n * words }, () => (rng.next() * 2 ** 32) >>> 0);
      k.u32(a, av.length).set(av);
      k.u32(b, bv.length).set(bv);
      const want = Array.from(reference(av, bv, m, n, words));
      for (const strategy of ['scalar', 'simd'] as const) {
        k.i32(c, m * n).fill(-1);
        k.bgemm(strategy, a, b, c, m, n, words * 4);
        expect(Array.from(k.i32(c, m * n)), strategy).toEqual(want);
      }
    });

  // Rows of an odd number of 8-byte units: the scalar kernel's one-u64 tail (SIMD needs 16-byte rows),
  // and every short-row kernel (1 to 8 u64 words held in registers).
  for (const [m, n, bits] of [
    [3, 5, 64],
    [4, 9, 192],
    [7, 3, 256],
    [5, 7, 320],
    [2, 33, 384],
    [9, 5, 448],
    [6, 65, 64 * 9],
    [2, 2, 64 * 63],
  ] as [number, number, number][])
    it(`${m} x ${n} x ${bits} bits: scalar popcount on 8-byte-aligned rows equals the definition`, async () => {
      const rng = new Random(m * 7 + n + bits);
      const k = await Kernels.create();
      const words = bits / 32;
      const a = k.alloc(m * words * 4);
      const b = k.alloc(n * words * 4);
      const c = k.alloc(m * n * 4);
      const av = Uint32Array.from({ length: m * words }, () => (rng.next() * 2 ** 32) >>> 0);
      const bv = Uint32Array.from({ length: n * words }, () => (rng.next() * 2 ** 32) >>> 0);
      k.u32(a, av.length).set(av);
      k.u32(b, bv.length).set(bv);
      k.bgemm('scalar', a, b, c, m, n, words * 4);
      expect(Array.from(k.i32(c, m * n))).toEqual(Array.from(reference(av, bv, m, n, words)));
    });

  it('all-equal and all-opposite rows give 0 and K mismatches', async () => {
    const k = await Kernels.create();
    const words = 4096 / 32;
    const a = k.alloc(2 * words * 4);
    const b = k.alloc(2 * words * 4);
    const c = k.alloc(16);
    k.u32(a, 2 * words).fill(0x12345678);
    k.u32(b, words).fill(0x12345678);
    k.u32(b + words * 4, words).fill(~0x12345678 >>> 0);
    for (const strategy of ['scalar', 'simd'] as const) {
      k.bgemm(strategy, a, b, c, 2, 2, words * 4);
      expect(Array.from(k.i32(c, 4)), strategy).toEqual([0, 4096, 0, 4096]);
    }
  });
});

describe('sgemm (float GEMM)', () => {
  // ldb 1024 blocks B into 64-row blocks (partial sums through c between blocks); m not a multiple of 4.
  for (const [m, k, ldb] of [
    [7, 300, 1024],
    [5, 9, 32],
    [1, 130, 2048],
    [9, 65, 12],
  ] as [number, number, number][])
    it(`${m} x ${k} x ${ldb}: every element adds its terms in order of t from +0 (bit for bit float32)`, async () => {
      const rng = new Random(m * 31 + k + ldb);
      const kern = await Kernels.create();
      const a = Float32Array.from({ length: m * k }, () => rng.normal());
      const b = Float32Array.from({ length: k * ldb }, () => rng.normal());
      const pa = kern.put(a);
      const pb = kern.put(b);
      const pc = kern.alloc(m * ldb * 4);
      kern.sgemm(pa, pb, pc, m, k, ldb);
      const got = kern.f32(pc, m * ldb);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < ldb; j += 7) {
          let s = 0;
          for (let t = 0; t < k; t++) s = Math.fround(s + Math.fround(a[i * k + t] * b[t * ldb + j]));
          expect(got[i * ldb + j], `c[${i}, ${j}]`).toBe(s);
        }
    });
});

describe('bit outputs tested on the popcount (accThresholds)', () => {
  it('(acc ^ accFlip) > accThr equals sign * (K - 2 acc) < thr for every acc, sign and threshold, extremes included', () => {
    for (const k of [1, 2, 7, 64, 288]) {
      const thresholds = [
        -(2 ** 31),
        -k - 3,
        -k - 1,
        -k,
        -k + 1,
        -1,
        0,
        1,
        2,
        k - 1,
        k,
        k + 1,
        k + 2,
        2 ** 31 - 1,
      ];
      const sign = Int32Array.from(thresholds.flatMap(() => [-1, 0, 1]));
      const thr = Int32Array.from(thresholds.flatMap((t) => [t, t, t]));
      const { accFlip, accThr } = accThresholds(sign, thr, k);
      for (let c = 0; c < sign.length; c++)
        for (let acc = 0; acc <= k; acc++) {
          const want = sign[c] * (k - 2 * acc) < thr[c];
          const got = (acc ^ accFlip[c]) > accThr[c];
          if (got !== want) expect(`K ${k} sign ${sign[c]} thr ${thr[c]} acc ${acc}: ${got}`).toBe(`${want}`);
        }
    }
  });
});

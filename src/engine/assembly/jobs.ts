// Row-range jobs for the worker pool: a kernel's arguments sit in a block of 32-bit slots in memory,
// and any thread runs rows [r0, r0 + count) of it (images for convolutions, GEMM rows for transforms).
// Every kernel here treats its rows independently, so the split changes nothing in the results.

import { maxPoolF32 } from './float-ops';
import { denseSigns } from './dense-signs';
import { convPoolF32 } from './fused';
import { convPoolU8 } from './fused-u8';
import { im2colBits } from './im2col';
import { denseU8 } from './sgemm';
import { bgemmScalar, bgemmSimd } from './bgemm';
import { thresholdSigns } from './threshold';
import { maxPoolBits, outBits, outBitsAcc, outFloat } from './transform';

/** Job kinds, and kinds of the blocks a binary layer reads (mirrored by JOB in runtime/kernels.ts). */
export const JOB_CONV_POOL: i32 = 1;
export const JOB_IM2COL_BITS: i32 = 2;
export const JOB_OUT_BITS: i32 = 3;
export const JOB_OUT_FLOAT: i32 = 4;
export const JOB_THRESHOLD_SIGNS: i32 = 5;
export const JOB_DENSE_U8: i32 = 6;
export const JOB_MAX_POOL: i32 = 7;
export const JOB_CONV_POOL_U8: i32 = 8;
export const JOB_OUT_BITS_ACC: i32 = 9;
export const JOB_DENSE_SIGNS: i32 = 10;
export const JOB_BINARY_LAYER: i32 = 11;

@inline function I(args: usize, i: i32): i32 {
  return load<i32>(args + (<usize>i << 2));
}

@inline function U(args: usize, i: i32): usize {
  return <usize>load<u32>(args + (<usize>i << 2));
}

@inline function F(args: usize, i: i32): f32 {
  return load<f32>(args + (<usize>i << 2));
}

/**
 * Runs rows [r0, r0 + count) of the job whose kind is slot 0 of `args`; `scratch` is this thread's own.
 * Slot layouts (after the kind):
 * - conv-pool: src dst h w c kh kw sh sw dh dw padTop padLeft oh ow padValue(f32) weights ldb units mult
 *   bias ylo(f32) yhi(f32) pkh pkw psh psw pPadTop pPadLeft poh pow monotone; rows = images.
 * - threshold-signs: src dst c sign thr special range rowWords plain; rows = rows of c floats.
 * - dense-u8: q c k units ldb idx colsum, then scale and offset as f64 in slots 8-9 and 10-11 (bytes
 *   32 and 40); rows = samples; scratch: denseU8's tables.
 * - max-pool: src dst h w c kh kw sh sw padTop padLeft oh ow bits; rows = images (c = words when bits).
 * - conv-pool-u8: src(bytes) dst h w c kh kw sh sw dh dw oh ow weights ldb units scale(f32) cbias mult
 *   bias ylo(f32) yhi(f32) pkh pkw psh psw pPadTop pPadLeft poh pow monotone; rows = images.
 * - dense-signs: a dst k units w sign thr special range wsum wg; rows = samples; scratch:
 *   denseSignsScratchBytes.
 * - binary-layer: im2col a weights units rowWords simd out pixels chunk pool; rows = items of `pixels`
 *   GEMM rows (images, or rows of a dense layer). im2col: 0 when the GEMM rows are at a, else the
 *   address of an im2col-bits block; weights: packed rows [units, rowWords]; simd: 1 for bgemmSimd, 0
 *   for bgemmScalar; out: an out-bits, out-float or out-bits-acc block (its dst unused with a pool);
 *   pool: 0, or a max-pool job's slots over the bits (bits 1, src unused; h w: the item's pixels);
 *   chunk: items per step. scratch: chunk * pixels * (rowBytes with im2col, + units * 4, + words * 4
 *   with a pool) bytes.
 * Blocks a binary layer reads (a kind, then slots; not run as jobs themselves):
 * - im2col-bits: src h w cw kh kw sh sw dh dw padTop padLeft oh ow rowWords.
 * - out-bits: dst n k sign thr corr pixels (corr and pixels: the zero-padding corrections by pixel).
 * - out-float: dst n k mult bias dlo dhi ylo(f32) yhi(f32) corr pixels.
 * - out-bits-acc: dst n accFlip accThr.
 */
export function runJob(args: usize, r0: i32, count: i32, scratch: usize): void {
  const kind = I(args, 0);
  if (kind == JOB_CONV_POOL) {
    const h = I(args, 3), w = I(args, 4), c = I(args, 5), units = I(args, 19), poh = I(args, 30), pw = I(args, 31);
    convPoolF32(
      U(args, 1) + (<usize>r0 * h * w * c) * 4, U(args, 2) + (<usize>r0 * poh * pw * units) * 4, count,
      h, w, c, I(args, 6), I(args, 7), I(args, 8), I(args, 9), I(args, 10), I(args, 11), I(args, 12), I(args, 13),
      I(args, 14), I(args, 15), F(args, 16), U(args, 17), I(args, 18), units, U(args, 20), U(args, 21),
      F(args, 22), F(args, 23), I(args, 24), I(args, 25), I(args, 26), I(args, 27), I(args, 28), I(args, 29),
      poh, pw, scratch, I(args, 32) != 0,
    );
  } else if (kind == JOB_DENSE_U8) {
    const k = I(args, 3), ldb = I(args, 5);
    denseU8(
      U(args, 1) + <usize>r0 * k, U(args, 6), U(args, 2) + (<usize>r0 * ldb) * 4, count, k, I(args, 4), ldb,
      scratch, U(args, 7), load<f64>(args + 32), load<f64>(args + 40),
    );
  } else if (kind == JOB_MAX_POOL) {
    const h = I(args, 3), w = I(args, 4), c = I(args, 5), oh = I(args, 12), ow = I(args, 13);
    const src = U(args, 1) + (<usize>r0 * h * w * c) * 4;
    const dst = U(args, 2) + (<usize>r0 * oh * ow * c) * 4;
    if (I(args, 14) != 0)
      maxPoolBits(src, dst, count, h, w, c, I(args, 6), I(args, 7), I(args, 8), I(args, 9), I(args, 10), I(args, 11), oh, ow);
    else maxPoolF32(src, dst, count, h, w, c, I(args, 6), I(args, 7), I(args, 8), I(args, 9), I(args, 10), I(args, 11), oh, ow);
  } else if (kind == JOB_CONV_POOL_U8) {
    const h = I(args, 3), w = I(args, 4), c = I(args, 5), units = I(args, 16), poh = I(args, 29), pw = I(args, 30);
    convPoolU8(
      U(args, 1) + <usize>r0 * h * w * c, U(args, 2) + (<usize>r0 * poh * pw * units) * 4, count,
      h, w, c, I(args, 6), I(args, 7), I(args, 8), I(args, 9), I(args, 10), I(args, 11), I(args, 12), I(args, 13),
      U(args, 14), I(args, 15), units, F(args, 17), U(args, 18), U(args, 19), U(args, 20), F(args, 21), F(args, 22),
      I(args, 23), I(args, 24), I(args, 25), I(args, 26), I(args, 27), I(args, 28), poh, pw, scratch, I(args, 31) != 0,
    );
  } else if (kind == JOB_BINARY_LAYER) {
    binaryLayer(args, r0, count, scratch);
  } else if (kind == JOB_DENSE_SIGNS) {
    const k = I(args, 3), units = I(args, 4);
    denseSigns(
      U(args, 1) + (<usize>r0 * k) * 4, U(args, 5), U(args, 2) + (<usize>r0 * ((units + 31) >> 5)) * 4, count, k, units,
      U(args, 6), U(args, 7), U(args, 8), U(args, 9), U(args, 10), U(args, 11), scratch,
    );
  } else if (kind == JOB_THRESHOLD_SIGNS) {
    const c = I(args, 3), rw = I(args, 8);
    thresholdSigns(
      U(args, 1) + (<usize>r0 * c) * 4, U(args, 2) + (<usize>r0 * rw) * 4, count, c,
      U(args, 4), U(args, 5), U(args, 6), U(args, 7), rw, I(args, 9) != 0,
    );
  }
}

/**
 * Items [r0, r0 + count) of a binary layer (see runJob's binary-layer slots), `chunk` items at a time,
 * each step's GEMM rows, sums and bits in this thread's scratch (sized for L1 and L2): the rows
 * (im2col's, or slot 2's), their binary GEMM with the weights, the output transform, and the max pool
 * over the bits.
 */
function binaryLayer(args: usize, r0: i32, count: i32, scratch: usize): void {
  const im = U(args, 1), units = I(args, 4), rowBytes = I(args, 5) * 4, simd = I(args, 6) != 0;
  const out = U(args, 7), pixels = I(args, 8), chunk = I(args, 9), pool = U(args, 10);
  const rows = <usize>chunk * pixels;
  const acc = scratch + (im == 0 ? 0 : (rows * rowBytes + 15) & ~15);
  const bits = acc + rows * units * 4;
  const words = (units + 31) >> 5;
  for (let i0 = r0; i0 < r0 + count; i0 += chunk) {
    const items = min(chunk, r0 + count - i0);
    let a = U(args, 2) + <usize>i0 * pixels * rowBytes;
    if (im != 0) {
      a = scratch;
      const h = I(im, 2), w = I(im, 3), cw = I(im, 4);
      im2colBits(
        U(im, 1) + (<usize>i0 * h * w * cw) * 4, a, items, h, w, cw, I(im, 5), I(im, 6), I(im, 7), I(im, 8),
        I(im, 9), I(im, 10), I(im, 11), I(im, 12), I(im, 13), I(im, 14), I(im, 15),
      );
    }
    if (simd) bgemmSimd(a, U(args, 3), acc, items * pixels, units, rowBytes);
    else bgemmScalar(a, U(args, 3), acc, items * pixels, units, rowBytes);
    if (pool == 0) {
      const dst = U(out, 1) + (<usize>i0 * pixels * (I(out, 0) == JOB_OUT_FLOAT ? units : words)) * 4;
      transformRows(out, acc, dst, i0 * pixels, items * pixels);
    } else {
      transformRows(out, acc, bits, i0 * pixels, items * pixels);
      const oh = I(pool, 12), ow = I(pool, 13);
      maxPoolBits(
        bits, U(pool, 2) + (<usize>i0 * oh * ow * words) * 4, items, I(pool, 3), I(pool, 4), words,
        I(pool, 6), I(pool, 7), I(pool, 8), I(pool, 9), I(pool, 10), I(pool, 11), oh, ow,
      );
    }
  }
}

/**
 * GEMM rows [r0, r0 + count) through an out-bits, out-float or out-bits-acc block `args`: their sums
 * read from acc, their outputs written from dst on (both at row r0).
 */
function transformRows(args: usize, acc: usize, dst: usize, r0: i32, count: i32): void {
  const kind = I(args, 0), n = I(args, 2);
  if (kind == JOB_OUT_BITS) outBits(acc, dst, count, n, I(args, 3), U(args, 4), U(args, 5), U(args, 6), I(args, 7), r0);
  else if (kind == JOB_OUT_FLOAT)
    outFloat(
      acc, dst, count, n, I(args, 3), U(args, 4), U(args, 5), I(args, 6), I(args, 7), F(args, 8), F(args, 9),
      U(args, 10), I(args, 11), r0,
    );
  else outBitsAcc(acc, dst, count, n, U(args, 3), U(args, 4));
}

// Row-range jobs for the worker pool: a kernel's arguments sit in a block of 32-bit slots in memory,
// and any thread runs rows [r0, r0 + count) of it (images for convolutions, GEMM rows for transforms).
// Every kernel here treats its rows independently, so the split changes nothing in the results.

import { maxPoolF32 } from './float-ops';
import { denseSigns, denseSignsU8 } from './dense-signs';
import { convPoolF32 } from './fused';
import { convPoolU8 } from './fused-u8';
import { im2colBits } from './im2col';
import { denseU8 } from './sgemm';
import { thresholdSigns } from './threshold';
import { maxPoolBits, outBits, outBitsAcc, outFloat } from './transform';

/** Job kinds (mirrored by JOB_* in runtime/kernels.ts). */
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
export const JOB_DENSE_SIGNS_U8: i32 = 11;

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
 * - im2col-bits: src dst h w cw kh kw sh sw dh dw padTop padLeft oh ow rowWords; rows = images.
 * - out-bits: acc dst n k sign thr corr pixels row0; rows = GEMM rows (row0: index of acc's first row
 *   in the whole GEMM, for the zero-padding corrections).
 * - out-float: acc dst n k mult bias dlo dhi ylo(f32) yhi(f32) corr pixels row0; rows = GEMM rows.
 * - threshold-signs: src dst c sign thr special range rowWords plain; rows = rows of c floats.
 * - dense-u8: q c k units ldb idx colsum, then scale and offset as f64 in slots 8-9 and 10-11 (bytes
 *   32 and 40); rows = samples; scratch: denseU8's tables.
 * - max-pool: src dst h w c kh kw sh sw padTop padLeft oh ow bits; rows = images (c = words when bits).
 * - out-bits-acc: acc dst n accSign accThr; rows = GEMM rows.
 * - conv-pool-u8: src(bytes) dst h w c kh kw sh sw dh dw oh ow weights ldb units scale(f32) cbias mult
 *   bias ylo(f32) yhi(f32) pkh pkw psh psw pPadTop pPadLeft poh pow monotone; rows = images.
 * - dense-signs: a dst k units w sign thr special range wsum wg; rows = samples; scratch:
 *   denseSignsScratchBytes.
 * - dense-signs-u8: q(bytes) c ldb w dst k units sign thr special range xtab, then absErr as f64 in
 *   slots 14-15 (byte 56); rows = samples; scratch: denseSignsU8ScratchBytes.
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
  } else if (kind == JOB_IM2COL_BITS) {
    const h = I(args, 3), w = I(args, 4), cw = I(args, 5), oh = I(args, 14), ow = I(args, 15), rw = I(args, 16);
    im2colBits(
      U(args, 1) + (<usize>r0 * h * w * cw) * 4, U(args, 2) + (<usize>r0 * oh * ow * rw) * 4, count,
      h, w, cw, I(args, 6), I(args, 7), I(args, 8), I(args, 9), I(args, 10), I(args, 11), I(args, 12), I(args, 13),
      oh, ow, rw,
    );
  } else if (kind == JOB_OUT_BITS) {
    const n = I(args, 3);
    outBits(
      U(args, 1) + (<usize>r0 * n) * 4, U(args, 2) + (<usize>r0 * ((n + 31) >> 5)) * 4, count, n,
      I(args, 4), U(args, 5), U(args, 6), U(args, 7), I(args, 8), r0 + I(args, 9),
    );
  } else if (kind == JOB_OUT_FLOAT) {
    const n = I(args, 3);
    outFloat(
      U(args, 1) + (<usize>r0 * n) * 4, U(args, 2) + (<usize>r0 * n) * 4, count, n,
      I(args, 4), U(args, 5), U(args, 6), I(args, 7), I(args, 8), F(args, 9), F(args, 10), U(args, 11), I(args, 12),
      r0 + I(args, 13),
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
  } else if (kind == JOB_OUT_BITS_ACC) {
    const n = I(args, 3);
    outBitsAcc(
      U(args, 1) + (<usize>r0 * n) * 4, U(args, 2) + (<usize>r0 * ((n + 31) >> 5)) * 4, count, n, U(args, 4), U(args, 5),
    );
  } else if (kind == JOB_DENSE_SIGNS) {
    const k = I(args, 3), units = I(args, 4);
    denseSigns(
      U(args, 1) + (<usize>r0 * k) * 4, U(args, 5), U(args, 2) + (<usize>r0 * ((units + 31) >> 5)) * 4, count, k, units,
      U(args, 6), U(args, 7), U(args, 8), U(args, 9), U(args, 10), U(args, 11), scratch,
    );
  } else if (kind == JOB_DENSE_SIGNS_U8) {
    const ldb = I(args, 3), k = I(args, 6), units = I(args, 7);
    denseSignsU8(
      U(args, 1) + <usize>r0 * k, U(args, 2) + (<usize>r0 * ldb) * 4, ldb, U(args, 4),
      U(args, 5) + (<usize>r0 * ((units + 31) >> 5)) * 4, count, k, units,
      U(args, 8), U(args, 9), U(args, 10), U(args, 11), U(args, 12), load<f64>(args + 56), scratch,
    );
  } else if (kind == JOB_THRESHOLD_SIGNS) {
    const c = I(args, 3), rw = I(args, 8);
    thresholdSigns(
      U(args, 1) + (<usize>r0 * c) * 4, U(args, 2) + (<usize>r0 * rw) * 4, count, c,
      U(args, 4), U(args, 5), U(args, 6), U(args, 7), rw, I(args, 9) != 0,
    );
  }
}

// Fused float kernels: the same arithmetic as the separate kernels in the same order (so bit for bit
// the same values), without writing the large intermediate tensors to memory and reading them back.

import { copyFloats, countEqual, foregroundCounts, minF32, onBackground } from './background';

/**
 * conv2d (float) + its output transform + max pool, for pools whose windows do not overlap
 * (strides >= pool size), so each conv output pixel is computed at most once. One row of pooled
 * pixels at a time, so the intermediates stay in L1 instead of going through memory, and no im2col:
 * each image is copied once into a padded image (taps outside the input hold padValue, as im2colF32),
 * and the GEMM reads tap t of a conv pixel at the pixel's corner + a per-tap offset.
 *
 * Per pooled pixel and pool tap inside the conv output: acc = sum over taps t, in order from +0, of
 * x_t * weights[t, :] (as sgemm, [K, ldb]), y = clamp(f32(acc * mult) + bias, ylo, yhi) (as affineRows),
 * then the running max in tap order (as maxPoolF32, from -Infinity; f32.max's NaN rule).
 * `monotone` (every multiplier > 0): the transform t(x) = clamp(f32(x m) + b) is then non-decreasing,
 * so max over taps of t(acc) = t(max over taps of acc) exactly, and it is applied once per pooled pixel.
 * Background: a pooled pixel whose conv taps all read the image's minimum c (bit for bit; an image's
 * background on either pixel scaling, padding included where the pad value is c) gets the value of an
 * image all c, computed once per image: the same arithmetic on the same inputs.
 * `scratch`: see convPoolScratchBytes. Output [n, poh, pow, units], dense.
 */
export function convPoolF32(
  src: usize, dst: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, padTop: i32, padLeft: i32,
  oh: i32, ow: i32, padValue: f32,
  weights: usize, ldb: i32, units: i32, mult: usize, bias: usize, ylo: f32, yhi: f32,
  pkh: i32, pkw: i32, psh: i32, psw: i32, pPadTop: i32, pPadLeft: i32, poh: i32, pow: i32,
  scratch: usize, monotone: bool,
): void {
  const k = kh * kw * c;
  const hp = padded(h, padTop, oh, sh, kh, dh);
  const wp = padded(w, padLeft, ow, sw, kw, dw);
  const img = scratch;
  const offs = img + <usize>hp * wp * c * 4;
  const ptrs = offs + <usize>k * 4;
  const conv = (ptrs + <usize>pow * pkh * pkw * 4 + 15) & ~15;
  const bgConv = conv + <usize>pow * pkh * pkw * ldb * 4;
  const bgPooled = bgConv + <usize>ldb * 4;
  const bgImg = bgPooled + (<usize>((units + 3) & ~3) << 2);
  const bgLen = patchFloats(kh, kw, dh, dw, wp, c);
  const bgPtr = bgImg + <usize>bgLen * 4;
  const skip = bgPtr + 4;
  const sat = (skip + <usize>pow + 3) & ~3;
  // Byte offset of tap (ky, kx, ci) from the conv pixel's corner in the padded image.
  let t = 0;
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++)
      for (let ci = 0; ci < c; ci++) store<u32>(offs + <usize>(t++) * 4, <u32>(((ky * dh * wp + kx * dw) * c + ci) * 4));
  // No tap outside the input ('valid'): the taps are read from the input itself.
  const inPlace = padTop == 0 && padLeft == 0 && hp == h && wp == w;
  let q = dst;
  for (let b = 0; b < n; b++) {
    let base = img;
    if (inPlace) base = src + (<usize>b * h * w * c) * 4;
    else {
      // The padded image: padValue everywhere, the input at (padTop, padLeft).
      const len = hp * wp * c;
      for (let i = 0; i < len; i++) store<f32>(img + <usize>i * 4, padValue);
      for (let y = 0; y < h; y++)
        memory.copy(
          img + (<usize>((y + padTop) * wp + padLeft) * c) * 4,
          src + (<usize>((b * h + y) * w) * c) * 4,
          <usize>w * c * 4,
        );
    }
    const bg = reinterpret<u32>(minF32(base, hp * wp * c));
    // A background needs at least one conv pixel's taps (a k-float patch) equal to it.
    const withBg = countEqual<u32>(base, hp * wp * c, bg) >= k;
    if (withBg) foregroundCounts<u32>(base, hp, wp, c, bg, sat);
    let bgReady = false;
    for (let py = 0; py < poh; py++) {
      // Corners of every conv pixel this row of pooled pixels reads, in (px, ty, tx) order, but for
      // pooled pixels on the background.
      let m = 0;
      for (let px = 0; px < pow; px++) {
        // The conv pixels of the pooled pixel, and the rectangle of padded pixels their taps read.
        const oy0 = max(py * psh - pPadTop, 0);
        const ox0 = max(px * psw - pPadLeft, 0);
        const oy1 = min(py * psh - pPadTop + pkh, oh) - 1;
        const ox1 = min(px * psw - pPadLeft + pkw, ow) - 1;
        const onBg = withBg && onBackground(sat, wp, oy0, ox0, oy1, ox1, sh, sw, kh, kw, dh, dw);
        store<u8>(skip + <usize>px, <u8>onBg);
        if (!onBg)
          for (let oy = oy0; oy <= oy1; oy++)
            for (let ox = ox0; ox <= ox1; ox++)
              store<u32>(ptrs + <usize>(m++) * 4, <u32>(base + (<usize>(oy * sh * wp + ox * sw) * c) * 4));
        if (onBg && !bgReady) {
          // The background's pooled pixel: one conv pixel of an image all bg.
          for (let i = 0; i < bgLen; i++) store<u32>(bgImg + <usize>i * 4, bg);
          store<u32>(bgPtr, <u32>bgImg);
          gemmOffsets(bgPtr, offs, weights, bgConv, 1, k, ldb);
          poolTaps(bgConv, bgPooled, 1, units, ldb, mult, bias, ylo, yhi, monotone);
          bgReady = true;
        }
      }
      gemmOffsets(ptrs, offs, weights, conv, m, k, ldb);
      // Transform and running max over each pooled pixel's taps, in the same order.
      let r = conv;
      for (let px = 0; px < pow; px++) {
        if (load<u8>(skip + <usize>px)) copyFloats(q, bgPooled, units);
        else {
          const taps = windowTaps(py, px, pkh, pkw, psh, psw, pPadTop, pPadLeft, oh, ow);
          poolTaps(r, q, taps, units, ldb, mult, bias, ylo, yhi, monotone);
          r += <usize>taps * ldb * 4;
        }
        q += <usize>units * 4;
      }
    }
  }
}

/** Floats from a conv pixel's corner to its last tap, + 1: an image all background covers one pixel's taps. */
@inline function patchFloats(kh: i32, kw: i32, dh: i32, dw: i32, wp: i32, c: i32): i32 {
  return ((kh - 1) * dh * wp + (kw - 1) * dw + 1) * c;
}

/** Rows (or columns) of the padded image: the input after padBefore, extended to the last tap read. */
function padded(size: i32, padBefore: i32, out: i32, stride: i32, kernel: i32, dil: i32): i32 {
  return max(size + padBefore, (out - 1) * stride + (kernel - 1) * dil + 1);
}

/**
 * Bytes of scratch convPoolF32 needs: the padded image, the tap offsets, the corner pointers of a row
 * of pooled pixels and their conv rows, then the background's conv row, pooled pixel and image, a
 * flag per pooled pixel of a row and the summed-area table of foreground pixels.
 */
export function convPoolScratchBytes(
  h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32, ldb: i32, units: i32, pkh: i32, pkw: i32, pow: i32,
): i32 {
  const hp = padded(h, padTop, oh, sh, kh, dh);
  const wp = padded(w, padLeft, ow, sw, kw, dw);
  const bg = (ldb + ((units + 3) & ~3) + patchFloats(kh, kw, dh, dw, wp, c) + 1) * 4 + pow + 3 + (hp + 1) * (wp + 1) * 4;
  return (hp * wp * c + kh * kw * c + pow * pkh * pkw) * 4 + 16 + pow * pkh * pkw * ldb * 4 + bg;
}

/**
 * conv[m, ldb] = A B with row r of A at ptrs[r] + offs[t] (t < k) and B = weights [k, ldb]: sgemm's
 * 4 x 8 tile and its order of terms (t ascending from +0), reading the rows in place.
 */
function gemmOffsets(ptrs: usize, offs: usize, weights: usize, conv: usize, m: i32, k: i32, ldb: i32): void {
  const rowB = <usize>ldb * 4;
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const a0 = <usize>load<u32>(ptrs + <usize>i * 4);
    const a1 = <usize>load<u32>(ptrs + <usize>i * 4, 4);
    const a2 = <usize>load<u32>(ptrs + <usize>i * 4, 8);
    const a3 = <usize>load<u32>(ptrs + <usize>i * 4, 12);
    const q = conv + <usize>i * rowB;
    let j = 0;
    for (; j + 7 < ldb; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
      let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let pb = weights + <usize>j * 4;
      for (let t = 0; t < k; t++) {
        const off = <usize>load<u32>(offs + <usize>t * 4);
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        const x0 = v128.load32_splat(a0 + off);
        const x1 = v128.load32_splat(a1 + off);
        const x2 = v128.load32_splat(a2 + off);
        const x3 = v128.load32_splat(a3 + off);
        c00 = f32x4.add(c00, f32x4.mul(x0, b0)); c01 = f32x4.add(c01, f32x4.mul(x0, b1));
        c10 = f32x4.add(c10, f32x4.mul(x1, b0)); c11 = f32x4.add(c11, f32x4.mul(x1, b1));
        c20 = f32x4.add(c20, f32x4.mul(x2, b0)); c21 = f32x4.add(c21, f32x4.mul(x2, b1));
        c30 = f32x4.add(c30, f32x4.mul(x3, b0)); c31 = f32x4.add(c31, f32x4.mul(x3, b1));
        pb += rowB;
      }
      const o = q + <usize>j * 4;
      v128.store(o, c00); v128.store(o, c01, 16);
      v128.store(o + rowB, c10); v128.store(o + rowB, c11, 16);
      v128.store(o + 2 * rowB, c20); v128.store(o + 2 * rowB, c21, 16);
      v128.store(o + 3 * rowB, c30); v128.store(o + 3 * rowB, c31, 16);
    }
    for (; j < ldb; j += 4) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let pb = weights + <usize>j * 4;
      for (let t = 0; t < k; t++) {
        const off = <usize>load<u32>(offs + <usize>t * 4);
        const b0 = v128.load(pb);
        c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(a0 + off), b0));
        c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(a1 + off), b0));
        c2 = f32x4.add(c2, f32x4.mul(v128.load32_splat(a2 + off), b0));
        c3 = f32x4.add(c3, f32x4.mul(v128.load32_splat(a3 + off), b0));
        pb += rowB;
      }
      const o = q + <usize>j * 4;
      v128.store(o, c0); v128.store(o + rowB, c1); v128.store(o + 2 * rowB, c2); v128.store(o + 3 * rowB, c3);
    }
  }
  for (; i < m; i++) {
    const a0 = <usize>load<u32>(ptrs + <usize>i * 4);
    for (let j = 0; j < ldb; j += 4) {
      let c0 = f32x4.splat(0);
      let pb = weights + <usize>j * 4;
      for (let t = 0; t < k; t++) {
        c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(a0 + <usize>load<u32>(offs + <usize>t * 4)), v128.load(pb)));
        pb += rowB;
      }
      v128.store(conv + (<usize>i * ldb + j) * 4, c0);
    }
  }
}

/** Number of pool taps of pooled pixel (py, px) inside the conv output [oh, ow]. */
@inline export function windowTaps(
  py: i32, px: i32, pkh: i32, pkw: i32, psh: i32, psw: i32, pPadTop: i32, pPadLeft: i32, oh: i32, ow: i32,
): i32 {
  const y0 = py * psh - pPadTop;
  const x0 = px * psw - pPadLeft;
  const ny = min(y0 + pkh, oh) - max(y0, 0);
  const nx = min(x0 + pkw, ow) - max(x0, 0);
  return ny > 0 && nx > 0 ? ny * nx : 0;
}

/**
 * One pooled pixel from its `taps` conv rows (stride ldb floats) at `conv`: the running max from
 * -Infinity of the transformed rows, or, when `monotone`, the transform of the rows' max (the same
 * value: see convPoolF32).
 */
@inline export function poolTaps(
  conv: usize, q: usize, taps: i32, units: i32, ldb: i32, mult: usize, bias: usize, ylo: f32, yhi: f32, monotone: bool,
): void {
  const u4 = units & ~3;
  if (monotone && taps > 0) {
    const lo = f32x4.splat(ylo);
    const hi = f32x4.splat(yhi);
    const nan = f32x4.splat(NaN);
    let u = 0;
    for (; u < u4; u += 4) {
      const o = <usize>u * 4;
      // The running max as pmax (a < b ? b : a: one x86 instruction, f32x4.max takes about eight) plus
      // a NaN flag: the same value as max, since the conv values pooled here are never -0 (sums from
      // +0, or f32(f32(D) scale) + cbias in convPoolU8), the only other case where the two differ.
      let x = v128.load(conv + o);
      let unordered = f32x4.ne(x, x);
      for (let t = 1; t < taps; t++) {
        const v = v128.load(conv + <usize>t * ldb * 4 + o);
        x = f32x4.pmax(x, v);
        unordered = v128.or(unordered, f32x4.ne(v, v));
      }
      x = v128.bitselect(nan, x, unordered);
      let y = f32x4.add(f32x4.mul(x, v128.load(mult + o)), v128.load(bias + o));
      v128.store(q + o, f32x4.pmin(f32x4.pmax(y, lo), hi));
    }
    for (; u < units; u++) {
      const o = <usize>u * 4;
      let x = load<f32>(conv + o);
      for (let t = 1; t < taps; t++) x = max(x, load<f32>(conv + <usize>t * ldb * 4 + o));
      let y: f32 = x * load<f32>(mult + o);
      y = y + load<f32>(bias + o);
      if (y < ylo) y = ylo;
      if (y > yhi) y = yhi;
      store<f32>(q + o, y);
    }
    return;
  }
  let u = 0;
  for (; u < u4; u += 4) v128.store(q + <usize>u * 4, f32x4.splat(-Infinity));
  for (; u < units; u++) store<f32>(q + <usize>u * 4, -Infinity);
  for (let t = 0; t < taps; t++) poolRow(conv + <usize>t * ldb * 4, q, units, mult, bias, ylo, yhi);
}

/** q[u] = max(q[u], clamp(f32(conv[u] * mult[u]) + bias[u], ylo, yhi)), SIMD then scalar tail (as affineRows, maxPoolF32). */
@inline export function poolRow(conv: usize, q: usize, units: i32, mult: usize, bias: usize, ylo: f32, yhi: f32): void {
  const lo = f32x4.splat(ylo);
  const hi = f32x4.splat(yhi);
  const u4 = units & ~3;
  let u = 0;
  for (; u < u4; u += 4) {
    const o = <usize>u * 4;
    let y = f32x4.add(f32x4.mul(v128.load(conv + o), v128.load(mult + o)), v128.load(bias + o));
    y = f32x4.pmin(f32x4.pmax(y, lo), hi);
    v128.store(q + o, f32x4.max(v128.load(q + o), y));
  }
  for (; u < units; u++) {
    const o = <usize>u * 4;
    let y: f32 = load<f32>(conv + o) * load<f32>(mult + o);
    y = y + load<f32>(bias + o);
    if (y < ylo) y = ylo;
    if (y > yhi) y = yhi;
    store<f32>(q + o, max(load<f32>(q + o), y));
  }
}

// conv2d + transform + max pool on 8-bit images with +-1 weights, in integers (the uint8-input
// counterpart of convPoolF32 for a first convolution; see GraphInput.uint8).

import { copyFloats, countEqual, foregroundCounts, minU8, onBackground } from './background';
import { poolTaps, windowTaps } from './fused';

/**
 * convPoolF32 for a 'valid' convolution (every tap inside the image) of 8-bit data q with +-1 weights:
 * D = sum over taps t of q_t w_t, exact in i16 lanes (K * 255 <= 32767), 8 output channels per vector
 * (4 pixels x 16 channels per step: twice the channels of the float kernel); the conv value is
 * f32(f32(D) * scale + cbias[u]) with cbias[u] = f32(offset * sum_t w_tu), i.e. the product of the
 * dequantized input x = q * scale + offset; then the transform and the max as convPoolF32 (`monotone` too).
 * A pooled pixel whose taps all read the image's smallest byte (its background) gets, as in
 * convPoolF32, the value computed once per image for an image all background.
 * `weights` i16 [K, ldb] (ldb a multiple of 16, zero columns past units); `cbias` f32 [ldb];
 * `scratch`: convPoolU8ScratchBytes. Output [n, poh, pow, units] floats.
 */
export function convPoolU8(
  src: usize, dst: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  weights: usize, ldb: i32, units: i32, scale: f32, cbias: usize, mult: usize, bias: usize, ylo: f32, yhi: f32,
  pkh: i32, pkw: i32, psh: i32, psw: i32, pPadTop: i32, pPadLeft: i32, poh: i32, pow: i32,
  scratch: usize, monotone: bool,
): void {
  const k = kh * kw * c;
  const offs = scratch;
  const ptrs = offs + <usize>k * 4;
  const conv = (ptrs + <usize>pow * pkh * pkw * 4 + 15) & ~15;
  // The background: a row of pooled pixels computed apart, the background's pooled pixel, an image
  // patch all background and 4 pointers to it, a flag per pooled pixel, the summed-area table.
  const pooledRow = conv + <usize>pow * pkh * pkw * ldb * 4;
  const bgPooled = pooledRow + <usize>pow * units * 4;
  const bgPtrs = bgPooled + <usize>units * 4;
  const bgImg = bgPtrs + 16;
  const bgLen = ((kh - 1) * dh * w + (kw - 1) * dw + 1) * c;
  const skip = bgImg + <usize>bgLen;
  const sat = (skip + <usize>pow + 3) & ~3;
  let t = 0;
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++)
      for (let ci = 0; ci < c; ci++) store<u32>(offs + <usize>(t++) * 4, <u32>((ky * dh * w + kx * dw) * c + ci));
  const vs = f32x4.splat(scale);
  // As in convPoolF32: a non-decreasing transform and 4 conv pixels in every pool window.
  const full4 =
    monotone &&
    pkh * pkw == 4 &&
    pPadTop == 0 &&
    pPadLeft == 0 &&
    (poh - 1) * psh + pkh <= oh &&
    (pow - 1) * psw + pkw <= ow;
  let q = dst;
  for (let b = 0; b < n; b++) {
    const img = src + <usize>b * h * w * c;
    const bg = minU8(img, h * w * c);
    const withBg = countEqual<u8>(img, h * w * c, bg) >= k;
    if (withBg) foregroundCounts<u8>(img, h, w, c, bg, sat);
    let bgReady = false;
    for (let py = 0; py < poh; py++) {
      // Corners of the conv pixels of the row's pooled pixels, in (px, ty, tx) order, but for pooled
      // pixels on the background.
      let m = 0;
      let skipped = 0;
      for (let px = 0; px < pow; px++) {
        const oy0 = max(py * psh - pPadTop, 0);
        const ox0 = max(px * psw - pPadLeft, 0);
        const oy1 = min(py * psh - pPadTop + pkh, oh) - 1;
        const ox1 = min(px * psw - pPadLeft + pkw, ow) - 1;
        const onBg = withBg && onBackground(sat, w, oy0, ox0, oy1, ox1, sh, sw, kh, kw, dh, dw);
        store<u8>(skip + <usize>px, <u8>onBg);
        if (onBg) {
          skipped++;
          if (!bgReady) {
            backgroundPixel(bg, bgImg, bgLen, bgPtrs, offs, weights, conv, bgPooled, k, ldb, units, vs, cbias, mult, bias, ylo, yhi, monotone, full4);
            bgReady = true;
          }
          continue;
        }
        for (let oy = oy0; oy <= oy1; oy++)
          for (let ox = ox0; ox <= ox1; ox++)
            store<u32>(ptrs + <usize>(m++) * 4, <u32>(img + <usize>(oy * sh * w + ox * sw) * c));
      }
      if (full4) {
        // Rows 4p..4p+3 are pooled pixel p's conv pixels: pooled on the integer sums in registers.
        gemmU8Pool4(ptrs, offs, weights, skipped ? pooledRow : q, pow - skipped, k, ldb, units, vs, cbias, mult, bias, ylo, yhi);
        if (skipped) {
          let r = pooledRow;
          for (let px = 0; px < pow; px++) {
            if (load<u8>(skip + <usize>px)) copyFloats(q + <usize>px * units * 4, bgPooled, units);
            else {
              copyFloats(q + <usize>px * units * 4, r, units);
              r += <usize>units * 4;
            }
          }
        }
        q += <usize>pow * units * 4;
        continue;
      }
      gemmU8(ptrs, offs, weights, conv, m, k, ldb, vs, cbias);
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

/**
 * The pooled pixel of an image all `bg` into bgPooled: a patch of bytes bg read as 4 conv pixels
 * (gemmU8Pool4 when `full4`, else one conv pixel and its pool), the same steps as the image's own
 * pooled pixels on the background.
 */
function backgroundPixel(
  bg: u8, bgImg: usize, bgLen: i32, bgPtrs: usize, offs: usize, weights: usize, conv: usize, bgPooled: usize,
  k: i32, ldb: i32, units: i32, vs: v128, cbias: usize, mult: usize, bias: usize, ylo: f32, yhi: f32,
  monotone: bool, full4: bool,
): void {
  memory.fill(bgImg, bg, <usize>bgLen);
  for (let i = 0; i < 4; i++) store<u32>(bgPtrs + <usize>i * 4, <u32>bgImg);
  if (full4) gemmU8Pool4(bgPtrs, offs, weights, bgPooled, 1, k, ldb, units, vs, cbias, mult, bias, ylo, yhi);
  else {
    gemmU8(bgPtrs, offs, weights, conv, 1, k, ldb, vs, cbias);
    poolTaps(conv, bgPooled, 1, units, ldb, mult, bias, ylo, yhi, monotone);
  }
}


/**
 * Scratch bytes of convPoolU8: tap offsets, corner pointers and conv rows of one row of pooled pixels,
 * then the background's buffers (see convPoolU8).
 */
export function convPoolU8ScratchBytes(
  h: i32, w: i32, c: i32, kh: i32, kw: i32, dh: i32, dw: i32, ldb: i32, units: i32, pkh: i32, pkw: i32, pow: i32,
): i32 {
  const k = kh * kw * c;
  const bg = (pow * units + units + 4) * 4 + ((kh - 1) * dh * w + (kw - 1) * dw + 1) * c + pow + 3 + (h + 1) * (w + 1) * 4;
  return (k + pow * pkh * pkw) * 4 + 16 + pow * pkh * pkw * ldb * 4 + bg;
}

@inline function toFloat(d: v128, vs: v128, cb: usize, o: usize, p: usize): void {
  v128.store(p + o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(d)), vs), v128.load(cb + o)));
  v128.store(p + o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(d)), vs), v128.load(cb + o, 16)), 16);
}

/** conv[m, ldb] floats from D = A W in i16, row r of A (bytes) at ptrs[r] + offs[t]; 4 rows x 16 columns per tile. */
function gemmU8(ptrs: usize, offs: usize, weights: usize, conv: usize, m: i32, k: i32, ldb: i32, vs: v128, cbias: usize): void {
  const rowW = <usize>ldb * 2;
  const rowC = <usize>ldb * 4;
  let i = 0;
  for (; i < m; i += 4) {
    const rows = min(4, m - i);
    // A short last tile repeats its last row (results not stored).
    const a0 = <usize>load<u32>(ptrs + <usize>i * 4);
    const a1 = <usize>load<u32>(ptrs + <usize>min(i + 1, m - 1) * 4);
    const a2 = <usize>load<u32>(ptrs + <usize>min(i + 2, m - 1) * 4);
    const a3 = <usize>load<u32>(ptrs + <usize>min(i + 3, m - 1) * 4);
    const p = conv + <usize>i * rowC;
    for (let j = 0; j < ldb; j += 16) {
      let c00 = i16x8.splat(0), c01 = i16x8.splat(0), c10 = i16x8.splat(0), c11 = i16x8.splat(0);
      let c20 = i16x8.splat(0), c21 = i16x8.splat(0), c30 = i16x8.splat(0), c31 = i16x8.splat(0);
      let pw = weights + <usize>j * 2;
      for (let t = 0; t < k; t++) {
        const off = <usize>load<u32>(offs + <usize>t * 4);
        const w0 = v128.load(pw);
        const w1 = v128.load(pw, 16);
        const x0 = i16x8.splat(<i16>load<u8>(a0 + off));
        const x1 = i16x8.splat(<i16>load<u8>(a1 + off));
        const x2 = i16x8.splat(<i16>load<u8>(a2 + off));
        const x3 = i16x8.splat(<i16>load<u8>(a3 + off));
        c00 = i16x8.add(c00, i16x8.mul(x0, w0)); c01 = i16x8.add(c01, i16x8.mul(x0, w1));
        c10 = i16x8.add(c10, i16x8.mul(x1, w0)); c11 = i16x8.add(c11, i16x8.mul(x1, w1));
        c20 = i16x8.add(c20, i16x8.mul(x2, w0)); c21 = i16x8.add(c21, i16x8.mul(x2, w1));
        c30 = i16x8.add(c30, i16x8.mul(x3, w0)); c31 = i16x8.add(c31, i16x8.mul(x3, w1));
        pw += rowW;
      }
      const o = <usize>j * 4;
      toFloat(c00, vs, cbias, o, p);
      toFloat(c01, vs, cbias, o + 32, p);
      if (rows > 1) {
        toFloat(c10, vs, cbias, o, p + rowC);
        toFloat(c11, vs, cbias, o + 32, p + rowC);
      }
      if (rows > 2) {
        toFloat(c20, vs, cbias, o, p + 2 * rowC);
        toFloat(c21, vs, cbias, o + 32, p + 2 * rowC);
      }
      if (rows > 3) {
        toFloat(c30, vs, cbias, o, p + 3 * rowC);
        toFloat(c31, vs, cbias, o + 32, p + 3 * rowC);
      }
    }
  }
}

/**
 * gemmU8 fused with a max pool of 4 conv pixels per pooled pixel (rows 4p..4p+3) and a non-decreasing
 * transform. The conv value f(D) = f32(f32(D) * scale + cbias[u]) is non-decreasing in the integer sum
 * D (scale > 0: the file validator's rule), so the max over the 4 conv values is f(max D): one
 * conversion per pooled pixel, bit for bit poolTaps' max of the converted rows.
 * Then clamp(f32(x * mult) + bias, ylo, yhi) into q[p * units + u] (columns past units not written).
 */
function gemmU8Pool4(
  ptrs: usize, offs: usize, weights: usize, q: usize, pooled: i32, k: i32, ldb: i32, units: i32, vs: v128,
  cbias: usize, mult: usize, bias: usize, ylo: f32, yhi: f32,
): void {
  const rowW = <usize>ldb * 2;
  const lo = f32x4.splat(ylo);
  const hi = f32x4.splat(yhi);
  for (let p = 0; p < pooled; p++) {
    const a0 = <usize>load<u32>(ptrs + <usize>p * 16);
    const a1 = <usize>load<u32>(ptrs + <usize>p * 16, 4);
    const a2 = <usize>load<u32>(ptrs + <usize>p * 16, 8);
    const a3 = <usize>load<u32>(ptrs + <usize>p * 16, 12);
    const o = q + <usize>p * units * 4;
    for (let j = 0; j < ldb; j += 16) {
      let c00 = i16x8.splat(0), c01 = i16x8.splat(0), c10 = i16x8.splat(0), c11 = i16x8.splat(0);
      let c20 = i16x8.splat(0), c21 = i16x8.splat(0), c30 = i16x8.splat(0), c31 = i16x8.splat(0);
      let pw = weights + <usize>j * 2;
      for (let t = 0; t < k; t++) {
        const off = <usize>load<u32>(offs + <usize>t * 4);
        const w0 = v128.load(pw);
        const w1 = v128.load(pw, 16);
        const x0 = i16x8.splat(<i16>load<u8>(a0 + off));
        const x1 = i16x8.splat(<i16>load<u8>(a1 + off));
        const x2 = i16x8.splat(<i16>load<u8>(a2 + off));
        const x3 = i16x8.splat(<i16>load<u8>(a3 + off));
        c00 = i16x8.add(c00, i16x8.mul(x0, w0)); c01 = i16x8.add(c01, i16x8.mul(x0, w1));
        c10 = i16x8.add(c10, i16x8.mul(x1, w0)); c11 = i16x8.add(c11, i16x8.mul(x1, w1));
        c20 = i16x8.add(c20, i16x8.mul(x2, w0)); c21 = i16x8.add(c21, i16x8.mul(x2, w1));
        c30 = i16x8.add(c30, i16x8.mul(x3, w0)); c31 = i16x8.add(c31, i16x8.mul(x3, w1));
        pw += rowW;
      }
      const d0 = i16x8.max_s(i16x8.max_s(i16x8.max_s(c00, c10), c20), c30);
      const d1 = i16x8.max_s(i16x8.max_s(i16x8.max_s(c01, c11), c21), c31);
      pooledStore(i32x4.extend_low_i16x8_s(d0), o, j, units, vs, cbias, mult, bias, lo, hi);
      pooledStore(i32x4.extend_high_i16x8_s(d0), o, j + 4, units, vs, cbias, mult, bias, lo, hi);
      pooledStore(i32x4.extend_low_i16x8_s(d1), o, j + 8, units, vs, cbias, mult, bias, lo, hi);
      pooledStore(i32x4.extend_high_i16x8_s(d1), o, j + 12, units, vs, cbias, mult, bias, lo, hi);
    }
  }
}

/** Columns j..j+3 (those below units) of a pooled pixel from its integer sums d (as toFloat, then the transform). */
@inline function pooledStore(
  d: v128, o: usize, j: i32, units: i32, vs: v128, cbias: usize, mult: usize, bias: usize, lo: v128, hi: v128,
): void {
  if (j >= units) return;
  const c = <usize>j * 4;
  const x = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(d), vs), v128.load(cbias + c));
  const y = f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(x, v128.load(mult + c)), v128.load(bias + c)), lo), hi);
  if (j + 4 <= units) {
    v128.store(o + c, y);
    return;
  }
  store<f32>(o + c, f32x4.extract_lane(y, 0));
  if (j + 1 < units) store<f32>(o + c, f32x4.extract_lane(y, 1), 4);
  if (j + 2 < units) store<f32>(o + c, f32x4.extract_lane(y, 2), 8);
}

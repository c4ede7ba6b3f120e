// im2col: one row per output pixel holding the kh * kw input pixels its window reads, so a
// convolution becomes a GEMM against the weights [Cout, kh, kw, C] (LCE's bconv2d does the same).

/**
 * Packed im2col. Each input pixel is `cw` words; an output row is kh * kw * cw words followed by zero
 * words up to `rowWords`. Taps outside the input are zero words: bit 0 = +1, i.e. one-padding
 * (zero padding is corrected afterwards per output pixel, see outFloat/outBits `corr`).
 */
export function im2colBits(
  src: usize, dst: usize, n: i32, h: i32, w: i32, cw: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32, rowWords: i32,
): void {
  const pixBytes = <usize>cw * 4;
  const tail = <usize>(rowWords - kh * kw * cw) * 4;
  let q = dst;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - padTop + ky * dh;
          const ix0 = ox * sw - padLeft;
          // A whole kernel row inside the input with dilation 1 is one contiguous run of kw pixels.
          if (dw == 1 && iy >= 0 && iy < h && ix0 >= 0 && ix0 + kw <= w) {
            const p = src + (<usize>((b * h + iy) * w + ix0)) * pixBytes;
            const words = kw * cw;
            if (words <= 16) for (let i = 0; i < words; i++) store<u32>(q + <usize>i * 4, load<u32>(p + <usize>i * 4));
            else memory.copy(q, p, <usize>words * 4);
            q += <usize>words * 4;
            continue;
          }
          for (let kx = 0; kx < kw; kx++) {
            const ix = ix0 + kx * dw;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
              const p = src + (<usize>((b * h + iy) * w + ix)) * pixBytes;
              if (cw == 1) store<u32>(q, load<u32>(p));
              else if (cw == 2) store<u64>(q, load<u64>(p));
              else if (cw <= 8) for (let i = 0; i < cw; i++) store<u32>(q + <usize>i * 4, load<u32>(p + <usize>i * 4));
              else memory.copy(q, p, pixBytes);
            } else if (cw <= 8) for (let i = 0; i < cw; i++) store<u32>(q + <usize>i * 4, 0);
            else memory.fill(q, 0, pixBytes);
            q += pixBytes;
          }
        }
        if (tail > 0) {
          memory.fill(q, 0, tail);
          q += tail;
        }
      }
}

/** Copies `rows` rows of `inWords` words into rows of `outWords` words, zero-filling the rest. */
export function padRows(src: usize, dst: usize, rows: i32, inWords: i32, outWords: i32): void {
  const inBytes = <usize>inWords * 4;
  const tail = <usize>(outWords - inWords) * 4;
  for (let r = 0; r < rows; r++) {
    const q = dst + <usize>r * outWords * 4;
    memory.copy(q, src + <usize>r * inBytes, inBytes);
    if (tail > 0) memory.fill(q + inBytes, 0, tail);
  }
}

/**
 * Float im2col: an output row is kh * kw * c floats (taps in (ky, kx, c) order, matching HWIO
 * weights [kh, kw, Cin, Cout] read as [K, Cout]); taps outside the input hold `padValue`.
 */
export function im2colF32(
  src: usize, dst: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32, padValue: f32,
): void {
  const pixBytes = <usize>c * 4;
  let q = dst;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - padTop + ky * dh;
          const ix0 = ox * sw - padLeft;
          if (dw == 1 && iy >= 0 && iy < h && ix0 >= 0 && ix0 + kw <= w) {
            const p = src + (<usize>((b * h + iy) * w + ix0)) * pixBytes;
            const count = kw * c;
            // memory.copy has a call's overhead: copy short runs (first layers: 1 to 4 channels) inline.
            if (count <= 32) for (let i = 0; i < count; i++) store<f32>(q + <usize>i * 4, load<f32>(p + <usize>i * 4));
            else memory.copy(q, p, <usize>count * 4);
            q += <usize>count * 4;
            continue;
          }
          for (let kx = 0; kx < kw; kx++) {
            const ix = ix0 + kx * dw;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
              const p = src + (<usize>((b * h + iy) * w + ix)) * pixBytes;
              if (c <= 8) for (let i = 0; i < c; i++) store<f32>(q + <usize>i * 4, load<f32>(p + <usize>i * 4));
              else memory.copy(q, p, pixBytes);
            } else {
              for (let i = 0; i < c; i++) store<f32>(q + <usize>i * 4, padValue);
            }
            q += pixBytes;
          }
        }
}

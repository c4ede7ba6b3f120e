// Backgrounds: inputs whose values sit on one value over whole regions (an image's background, its
// smallest value on either pixel scaling), found so that kernels compute such regions once. Shared by
// the fused conv + pool kernels (fused.ts, fused-u8.ts).

/** The minimum of n >= 1 floats (NaN if any is NaN). */
export function minF32(p: usize, n: i32): f32 {
  let m4 = f32x4.splat(load<f32>(p));
  let i = 0;
  for (; i + 3 < n; i += 4) m4 = f32x4.min(m4, v128.load(p + <usize>i * 4));
  let m = min(min(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)), min(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
  for (; i < n; i++) m = min(m, load<f32>(p + <usize>i * 4));
  return m;
}

/** How many of n elements (u32: float bits; u8: bytes) equal bg. */
export function countEqual<T>(p: usize, n: i32, bg: T): i32 {
  let total = 0;
  let i = 0;
  if (sizeof<T>() == 4) {
    const v = i32x4.splat(<u32>bg);
    let counts = i32x4.splat(0);
    for (; i + 3 < n; i += 4) counts = i32x4.sub(counts, i32x4.eq(v128.load(p + <usize>i * 4), v));
    total =
      i32x4.extract_lane(counts, 0) + i32x4.extract_lane(counts, 1) + i32x4.extract_lane(counts, 2) + i32x4.extract_lane(counts, 3);
  }
  for (; i < n; i++) total += <i32>(load<T>(p + <usize>i * sizeof<T>()) == bg);
  return total;
}

/**
 * The summed-area table of foreground pixels (some channel != bg; T: u32 float bits or u8 bytes) of an
 * image [hp, wp, c]: sat[(y + 1) (wp + 1) + x + 1] = their count in rows 0..y, columns 0..x (row 0
 * and column 0 hold 0).
 */
export function foregroundCounts<T>(img: usize, hp: i32, wp: i32, c: i32, bg: T, sat: usize): void {
  const stride = <usize>(wp + 1) * 4;
  memory.fill(sat, 0, stride);
  for (let y = 0; y < hp; y++) {
    const row = sat + <usize>(y + 1) * stride;
    store<i32>(row, 0);
    let run = 0;
    for (let x = 0; x < wp; x++) {
      const p = img + (<usize>(y * wp + x) * c) * sizeof<T>();
      let fg = 0;
      for (let ci = 0; ci < c; ci++) fg |= <i32>(load<T>(p + <usize>ci * sizeof<T>()) != bg);
      run += fg;
      store<i32>(row + <usize>(x + 1) * 4, load<i32>(row - stride + <usize>(x + 1) * 4) + run);
    }
  }
}

/**
 * Whether the conv pixels oy0..oy1 x ox0..ox1 (none if empty) read only background: no foreground pixel
 * in the rectangle of (padded) image pixels that holds all their taps (summed-area table `sat`).
 */
@inline export function onBackground(
  sat: usize, wp: i32, oy0: i32, ox0: i32, oy1: i32, ox1: i32, sh: i32, sw: i32, kh: i32, kw: i32, dh: i32, dw: i32,
): bool {
  if (oy0 > oy1 || ox0 > ox1) return false;
  const stride = <usize>(wp + 1) * 4;
  const x0 = ox0 * sw;
  const x1 = ox1 * sw + (kw - 1) * dw;
  const top = sat + <usize>(oy0 * sh) * stride;
  const bottom = sat + <usize>(oy1 * sh + (kh - 1) * dh + 1) * stride;
  return (
    load<i32>(bottom + <usize>(x1 + 1) * 4) - load<i32>(bottom + <usize>x0 * 4) -
      load<i32>(top + <usize>(x1 + 1) * 4) + load<i32>(top + <usize>x0 * 4) == 0
  );
}

/** Copies n floats (a short run: a loop, not memory.copy's call). */
@inline export function copyFloats(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 3 < n; i += 4) v128.store(dst + <usize>i * 4, v128.load(src + <usize>i * 4));
  for (; i < n; i++) store<f32>(dst + <usize>i * 4, load<f32>(src + <usize>i * 4));
}

/** The smallest of n >= 1 bytes. */
export function minU8(p: usize, n: i32): u8 {
  let m16 = i8x16.splat(<i8>load<u8>(p));
  let i = 0;
  for (; i + 15 < n; i += 16) m16 = i8x16.min_u(m16, v128.load(p + <usize>i));
  m16 = i8x16.min_u(m16, i8x16.shuffle(m16, m16, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  m16 = i8x16.min_u(m16, i8x16.shuffle(m16, m16, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  m16 = i8x16.min_u(m16, i8x16.shuffle(m16, m16, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  m16 = i8x16.min_u(m16, i8x16.shuffle(m16, m16, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
  let m = <u8>i8x16.extract_lane_u(m16, 0);
  for (; i < n; i++) m = min(m, load<u8>(p + <usize>i));
  return m;
}

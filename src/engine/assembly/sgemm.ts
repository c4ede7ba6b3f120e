// Float GEMM for the float layers (first conv on real-valued input, last dense): c = a b with
// a [m, k] row-major, b [k, ldb] row-major (ldb a multiple of 4, zero columns past n), c [m, ldb].
// f32x4 SIMD over the output columns, 4 x 8 register tile.

export function sgemm(a: usize, b: usize, c: usize, m: i32, k: i32, ldb: i32): void {
  const rowB = <usize>ldb * 4;
  // Blocks of B rows of about 256 KiB stay in L2 while every 4-row tile of A passes over them; the
  // partial sums go through c between blocks, so each element still adds its terms in order of t.
  let kb = 65536 / ldb;
  if (kb < 8) kb = 8;
  const m4 = m & ~3;
  for (let t0 = 0; t0 < k; t0 += kb) {
    const t1 = min(t0 + kb, k);
    const first = t0 == 0;
    for (let i = 0; i < m4; i += 4) {
      const a0 = a + (<usize>i * k) * 4;
      const a1 = a0 + <usize>k * 4;
      const a2 = a1 + <usize>k * 4;
      const a3 = a2 + <usize>k * 4;
      let j = 0;
      for (; j + 7 < ldb; j += 8) {
        const q = c + (<usize>i * ldb + j) * 4;
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
        let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
        let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
        if (!first) {
          c00 = v128.load(q); c01 = v128.load(q, 16);
          c10 = v128.load(q + rowB); c11 = v128.load(q + rowB, 16);
          c20 = v128.load(q + 2 * rowB); c21 = v128.load(q + 2 * rowB, 16);
          c30 = v128.load(q + 3 * rowB); c31 = v128.load(q + 3 * rowB, 16);
        }
        let pb = b + (<usize>t0 * ldb + j) * 4;
        for (let t = t0; t < t1; t++) {
          const off = <usize>t * 4;
          const b0 = v128.load(pb);
          const b1 = v128.load(pb, 16);
          const x0 = f32x4.splat(load<f32>(a0 + off));
          const x1 = f32x4.splat(load<f32>(a1 + off));
          const x2 = f32x4.splat(load<f32>(a2 + off));
          const x3 = f32x4.splat(load<f32>(a3 + off));
          c00 = f32x4.add(c00, f32x4.mul(x0, b0)); c01 = f32x4.add(c01, f32x4.mul(x0, b1));
          c10 = f32x4.add(c10, f32x4.mul(x1, b0)); c11 = f32x4.add(c11, f32x4.mul(x1, b1));
          c20 = f32x4.add(c20, f32x4.mul(x2, b0)); c21 = f32x4.add(c21, f32x4.mul(x2, b1));
          c30 = f32x4.add(c30, f32x4.mul(x3, b0)); c31 = f32x4.add(c31, f32x4.mul(x3, b1));
          pb += rowB;
        }
        v128.store(q, c00); v128.store(q, c01, 16);
        v128.store(q + rowB, c10); v128.store(q + rowB, c11, 16);
        v128.store(q + 2 * rowB, c20); v128.store(q + 2 * rowB, c21, 16);
        v128.store(q + 3 * rowB, c30); v128.store(q + 3 * rowB, c31, 16);
      }
      for (; j < ldb; j += 4) {
        const q = c + (<usize>i * ldb + j) * 4;
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
        if (!first) {
          c0 = v128.load(q); c1 = v128.load(q + rowB); c2 = v128.load(q + 2 * rowB); c3 = v128.load(q + 3 * rowB);
        }
        let pb = b + (<usize>t0 * ldb + j) * 4;
        for (let t = t0; t < t1; t++) {
          const off = <usize>t * 4;
          const b0 = v128.load(pb);
          c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(a0 + off)), b0));
          c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(load<f32>(a1 + off)), b0));
          c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(load<f32>(a2 + off)), b0));
          c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(load<f32>(a3 + off)), b0));
          pb += rowB;
        }
        v128.store(q, c0); v128.store(q + rowB, c1); v128.store(q + 2 * rowB, c2); v128.store(q + 3 * rowB, c3);
      }
    }
  }
  let i = m4;
  // Leftover rows (batch 1: the whole GEMV) one at a time, 8 independent accumulators (32 columns)
  // so the f32x4.add latency is hidden, then 4 columns at a time.
  for (; i < m; i++) {
    const a0 = a + (<usize>i * k) * 4;
    const c0 = c + (<usize>i * ldb) * 4;
    let j = 0;
    for (; j + 31 < ldb; j += 32) {
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
      let pb = b + <usize>j * 4;
      for (let t = 0; t < k; t++) {
        const x = v128.load32_splat(a0 + <usize>t * 4);
        s0 = f32x4.add(s0, f32x4.mul(x, v128.load(pb)));
        s1 = f32x4.add(s1, f32x4.mul(x, v128.load(pb, 16)));
        s2 = f32x4.add(s2, f32x4.mul(x, v128.load(pb, 32)));
        s3 = f32x4.add(s3, f32x4.mul(x, v128.load(pb, 48)));
        s4 = f32x4.add(s4, f32x4.mul(x, v128.load(pb, 64)));
        s5 = f32x4.add(s5, f32x4.mul(x, v128.load(pb, 80)));
        s6 = f32x4.add(s6, f32x4.mul(x, v128.load(pb, 96)));
        s7 = f32x4.add(s7, f32x4.mul(x, v128.load(pb, 112)));
        pb += rowB;
      }
      const o = c0 + <usize>j * 4;
      v128.store(o, s0);
      v128.store(o, s1, 16);
      v128.store(o, s2, 32);
      v128.store(o, s3, 48);
      v128.store(o, s4, 64);
      v128.store(o, s5, 80);
      v128.store(o, s6, 96);
      v128.store(o, s7, 112);
    }
    for (; j < ldb; j += 4) {
      let c1 = f32x4.splat(0);
      let pb = b + <usize>j * 4;
      for (let t = 0; t < k; t++) {
        c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(load<f32>(a0 + <usize>t * 4)), v128.load(pb)));
        pb += rowB;
      }
      v128.store(c0 + <usize>j * 4, c1);
    }
  }
}


/**
 * Dense layer with +-1 weights on 8-bit input, exactly in integers, by 16-way table lookup
 * (i8x16.swizzle; T-MAC, Wei et al. 2024): for each group of 4 input bytes q0..q3 the 16 signed sums
 * T[idx] = sum over b < 4 of (bit b of idx ? -q_b : q_b) (|T| <= 1020) are stored as low and high
 * bytes; one swizzle of each by the 16 weight nibbles of 16 outputs gives 16 partial sums (64 MACs),
 * re-joined into i16 lanes and accumulated (32 groups at most, |sum| <= 32640, then widened to i32).
 * D_j = sum_i q_i w_ij is exact; the output is c[j] = f32(scale * D_j + offset * colsum[j]) (in f64),
 * the dense product of the dequantized input x = q * scale + offset with the weights.
 * `q` [m, k] bytes; `idx` [ceil(units / 16), ceil(k / 4), 16] weight nibbles (bit set = -1, zero past k
 * and past units); `colsum` i32 [units] = sum_i w_ij; `tables` ceil(k / 4) * 32 + 128 bytes;
 * c [m, ldb] floats, zero past units.
 */
export function denseU8(
  q: usize, idx: usize, c: usize, m: i32, k: i32, units: i32, ldb: i32,
  tables: usize, colsum: usize, scale: f64, offset: f64,
): void {
  const groups = (k + 3) >> 2;
  const blocks = (units + 15) >> 4;
  const lanes = tables + (<usize>groups << 5);
  for (let i = 0; i < m; i++) {
    const q0 = q + <usize>i * k;
    // The tables of this row: T[x] for x = 0..7 and 8..15 as i16 lanes, U +- a3 with
    // U = a0 s0 + a1 s1 + a2 s2 (s_b[x] = bit b of x ? -1 : +1; first = U + a3 for x < 8, second =
    // U - a3 for x >= 8), then split into the low bytes and the high bytes of the 16 entries.
    for (let g = 0; g < groups; g++) {
      const e = g << 2;
      const a0 = <i32>load<u8>(q0 + <usize>e);
      const a1 = e + 1 < k ? <i32>load<u8>(q0 + <usize>e + 1) : 0;
      const a2 = e + 2 < k ? <i32>load<u8>(q0 + <usize>e + 2) : 0;
      const a3 = e + 3 < k ? <i32>load<u8>(q0 + <usize>e + 3) : 0;
      let u = i16x8.mul(i16x8.splat(<i16>a0), i16x8(1, -1, 1, -1, 1, -1, 1, -1));
      u = i16x8.add(u, i16x8.mul(i16x8.splat(<i16>a1), i16x8(1, 1, -1, -1, 1, 1, -1, -1)));
      u = i16x8.add(u, i16x8.mul(i16x8.splat(<i16>a2), i16x8(1, 1, 1, 1, -1, -1, -1, -1)));
      const v3 = i16x8.splat(<i16>a3);
      const first = i16x8.add(u, v3);
      const second = i16x8.sub(u, v3);
      const t = tables + (<usize>g << 5);
      v128.store(t, i8x16.shuffle(first, second, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
      v128.store(t, i8x16.shuffle(first, second, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), 16);
    }
    const c0 = c + (<usize>i * ldb) * 4;
    let jb = 0;
    // Two blocks of 16 outputs per pass share each group's table loads.
    for (; jb + 1 < blocks; jb += 2) {
      let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
      let s4 = i32x4.splat(0), s5 = i32x4.splat(0), s6 = i32x4.splat(0), s7 = i32x4.splat(0);
      let pi = idx + (<usize>jb * groups << 4);
      const second = <usize>groups << 4;
      let g = 0;
      while (g < groups) {
        const end = min(g + 32, groups);
        let h0 = i16x8.splat(0), h1 = i16x8.splat(0), h2 = i16x8.splat(0), h3 = i16x8.splat(0);
        for (; g < end; g++) {
          const t = tables + (<usize>g << 5);
          const tlo = v128.load(t);
          const thi = v128.load(t, 16);
          const iv = v128.load(pi);
          const iw = v128.load(pi + second);
          const lo = i8x16.swizzle(tlo, iv);
          const hi = i8x16.swizzle(thi, iv);
          const lo2 = i8x16.swizzle(tlo, iw);
          const hi2 = i8x16.swizzle(thi, iw);
          h0 = i16x8.add(h0, i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
          h1 = i16x8.add(h1, i8x16.shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
          h2 = i16x8.add(h2, i8x16.shuffle(lo2, hi2, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
          h3 = i16x8.add(h3, i8x16.shuffle(lo2, hi2, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
          pi += 16;
        }
        s0 = i32x4.add(s0, i32x4.extend_low_i16x8_s(h0));
        s1 = i32x4.add(s1, i32x4.extend_high_i16x8_s(h0));
        s2 = i32x4.add(s2, i32x4.extend_low_i16x8_s(h1));
        s3 = i32x4.add(s3, i32x4.extend_high_i16x8_s(h1));
        s4 = i32x4.add(s4, i32x4.extend_low_i16x8_s(h2));
        s5 = i32x4.add(s5, i32x4.extend_high_i16x8_s(h2));
        s6 = i32x4.add(s6, i32x4.extend_low_i16x8_s(h3));
        s7 = i32x4.add(s7, i32x4.extend_high_i16x8_s(h3));
      }
      v128.store(lanes, s0);
      v128.store(lanes, s1, 16);
      v128.store(lanes, s2, 32);
      v128.store(lanes, s3, 48);
      v128.store(lanes, s4, 64);
      v128.store(lanes, s5, 80);
      v128.store(lanes, s6, 96);
      v128.store(lanes, s7, 112);
      const j0 = jb << 4;
      const j1 = min(j0 + 32, units);
      for (let j = j0; j < j1; j++) {
        const d = <f64>load<i32>(lanes + (<usize>(j - j0) << 2));
        const y = scale * d + offset * <f64>load<i32>(colsum + (<usize>j << 2));
        store<f32>(c0 + (<usize>j << 2), <f32>y);
      }
    }
    for (; jb < blocks; jb++) {
      let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
      let pi = idx + (<usize>jb * groups << 4);
      let g = 0;
      while (g < groups) {
        const end = min(g + 32, groups);
        let h0 = i16x8.splat(0);
        let h1 = i16x8.splat(0);
        for (; g < end; g++) {
          const iv = v128.load(pi);
          const t = tables + (<usize>g << 5);
          const lo = i8x16.swizzle(v128.load(t), iv);
          const hi = i8x16.swizzle(v128.load(t, 16), iv);
          h0 = i16x8.add(h0, i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
          h1 = i16x8.add(h1, i8x16.shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
          pi += 16;
        }
        s0 = i32x4.add(s0, i32x4.extend_low_i16x8_s(h0));
        s1 = i32x4.add(s1, i32x4.extend_high_i16x8_s(h0));
        s2 = i32x4.add(s2, i32x4.extend_low_i16x8_s(h1));
        s3 = i32x4.add(s3, i32x4.extend_high_i16x8_s(h1));
      }
      v128.store(lanes, s0);
      v128.store(lanes, s1, 16);
      v128.store(lanes, s2, 32);
      v128.store(lanes, s3, 48);
      const j0 = jb << 4;
      const j1 = min(j0 + 16, units);
      for (let j = j0; j < j1; j++) {
        const d = <f64>load<i32>(lanes + (<usize>(j - j0) << 2));
        const y = scale * d + offset * <f64>load<i32>(colsum + (<usize>j << 2));
        store<f32>(c0 + (<usize>j << 2), <f32>y);
      }
    }
    for (let j = units; j < ldb; j++) store<f32>(c0 + (<usize>j << 2), 0);
  }
}

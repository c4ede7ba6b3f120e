// Binary GEMM kernels: c[i * n + j] = popcount(a_row_i XOR b_row_j), the number of sign mismatches
// between packed row i of `a` (activations) and packed row j of `b` (weights); the +-1 dot product is
// K - 2 c (XNOR-Net, Rastegari et al. 2016; LCE's bgemm). Rows are `rowBytes` long, a multiple of 16
// (SIMD) or of 8 (scalar), padded with zero bits in both operands so padding adds no mismatches.
//
// Two popcount strategies (see engine.md): scalar i64.popcnt (one POPCNT instruction on x86) with a
// 2x2 register tile, and SIMD i8x16.popcnt (one instruction on ARM64, about ten on x86 without
// AVX512-BITALG) with byte counters widened to 32 bits at least every 31 steps (31 * 8 = 248 <= 255).
//
// Cache blocking: the weight rows are walked in blocks of about 128 KiB (kept in L2) while every
// activation row pair streams through L1.

const BLOCK_BYTES: i32 = 128 * 1024;

function blockRows(rowBytes: i32): i32 {
  let rows = BLOCK_BYTES / rowBytes;
  if (rows < 2) rows = 2;
  return rows & ~1;
}

@inline function dot1(pa: usize, pb: usize, k: i32): i32 {
  let s: i64 = 0;
  for (let t = 0; t < k; t++) {
    s += popcnt<i64>(load<u64>(pa) ^ load<u64>(pb));
    pa += 8;
    pb += 8;
  }
  return <i32>s;
}


// Short rows (up to 8 u64 words, e.g. a 3x3 kernel on 32 channels: 9 words of 32 bits, 40 bytes): one
// activation row is held in registers while every weight row streams past it, fully unrolled, which
// beats the 2x2 tile when the tile's K loop runs only a few steps. Generated for 1 to 8 words.

function bgemmRow1(a: usize, b: usize, c: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const pa = a + <usize>i * 8;
    const x0 = load<u64>(pa, 0);
    const pc = c + (<usize>i * n) * 4;
    let pb = b;
    for (let j = 0; j < n; j++) {
      store<i32>(pc + <usize>j * 4, <i32>(popcnt<u64>(x0 ^ load<u64>(pb, 0))));
      pb += 8;
    }
  }
}

function bgemmRow2(a: usize, b: usize, c: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const pa = a + <usize>i * 16;
    const x0 = load<u64>(pa, 0), x1 = load<u64>(pa, 8);
    const pc = c + (<usize>i * n) * 4;
    let pb = b;
    for (let j = 0; j < n; j++) {
      store<i32>(pc + <usize>j * 4, <i32>(popcnt<u64>(x0 ^ load<u64>(pb, 0)) + popcnt<u64>(x1 ^ load<u64>(pb, 8))));
      pb += 16;
    }
  }
}

function bgemmRow3(a: usize, b: usize, c: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const pa = a + <usize>i * 24;
    const x0 = load<u64>(pa, 0), x1 = load<u64>(pa, 8), x2 = load<u64>(pa, 16);
    const pc = c + (<usize>i * n) * 4;
    let pb = b;
    for (let j = 0; j < n; j++) {
      store<i32>(pc + <usize>j * 4, <i32>(popcnt<u64>(x0 ^ load<u64>(pb, 0)) + popcnt<u64>(x1 ^ load<u64>(pb, 8)) + popcnt<u64>(x2 ^ load<u64>(pb, 16))));
      pb += 24;
    }
  }
}

function bgemmRow4(a: usize, b: usize, c: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const pa = a + <usize>i * 32;
    const x0 = load<u64>(pa, 0), x1 = load<u64>(pa, 8), x2 = load<u64>(pa, 16), x3 = load<u64>(pa, 24);
    const pc = c + (<usize>i * n) * 4;
    let pb = b;
    for (let j = 0; j < n; j++) {
      store<i32>(pc + <usize>j * 4, <i32>(popcnt<u64>(x0 ^ load<u64>(pb, 0)) + popcnt<u64>(x1 ^ load<u64>(pb, 8)) + popcnt<u64>(x2 ^ load<u64>(pb, 16)) + popcnt<u64>(x3 ^ load<u64>(pb, 24))));
      pb += 32;
    }
  }
}

function bgemmRow5(a: usize, b: usize, c: usize, m: i32, n: i32): void {
  let i = 0;
  // Two activation rows per pass share each weight row's loads.
  for (; i + 1 < m; i += 2) {
    const pa = a + <usize>i * 40;
    const x0 = load<u64>(pa, 0), x1 = load<u64>(pa, 8), x2 = load<u64>(pa, 16), x3 = load<u64>(pa, 24), x4 = load<u64>(pa, 32);
    const y0 = load<u64>(pa, 40), y1 = load<u64>(pa, 48), y2 = load<u64>(pa, 56), y3 = load<u64>(pa, 64), y4 = load<u64>(pa, 72);
    const pc = c + (<usize>i * n) * 4;
    const pd = pc + <usize>n * 4;
    let pb = b;
    for (let j = 0; j < n; j++) {
      const w0 = load<u64>(pb, 0), w1 = load<u64>(pb, 8), w2 = load<u64>(pb, 16), w3 = load<u64>(pb, 24), w4 = load<u64>(pb, 32);
      store<i32>(pc + <usize>j * 4, <i32>(popcnt<u64>(x0 ^ w0) + popcnt<u64>(x1 ^ w1) + popcnt<u64>(x2 ^ w2) + popcnt<u64>(x3 ^ w3) + popcnt<u64>(x4 ^ w4)));
      store<i32>(pd + <usize>j * 4, <i32>(popcnt<u64>(y0 ^ w0) + popcnt<u64>(y1 ^ w1) + popcnt<u64>(y2 ^ w2) + popcnt<u64>(y3 ^ w3) + popcnt<u64>(y4 ^ w4)));
      pb += 40;
    }
  }
  for (; i < m; i++) {
    const pa = a + <usize>i * 40;
    const x0 = load<u64>(pa, 0), x1 = load<u64>(pa, 8), x2 = load<u64>(pa, 16), x3 = load<u64>(pa, 24), x4 = load<u64>(pa, 32);
    const pc = c + (<usize>i * n) * 4;
    let pb = b;
    for (let j = 0; j < n; j++) {
      store<i32>(pc + <usize>j * 4, <i32>(popcnt<u64>(x0 ^ load<u64>(pb, 0)) + popcnt<u64>(x1 ^ load<u64>(pb, 8)) + popcnt<u64>(x2 ^ load<u64>(pb, 16)) + popcnt<u64>(x3 ^ load<u64>(pb, 24)) + popcnt<u64>(x4 ^ load<u64>(pb, 32))));
      pb += 40;
    }
  }
}

function bgemmRow6(a: usize, b: usize, c: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const pa = a + <usize>i * 48;
    const x0 = load<u64>(pa, 0), x1 = load<u64>(pa, 8), x2 = load<u64>(pa, 16), x3 = load<u64>(pa, 24), x4 = load<u64>(pa, 32), x5 = load<u64>(pa, 40);
    const pc = c + (<usize>i * n) * 4;
    let pb = b;
    for (let j = 0; j < n; j++) {
      store<i32>(pc + <usize>j * 4, <i32>(popcnt<u64>(x0 ^ load<u64>(pb, 0)) + popcnt<u64>(x1 ^ load<u64>(pb, 8)) + popcnt<u64>(x2 ^ load<u64>(pb, 16)) + popcnt<u64>(x3 ^ load<u64>(pb, 24)) + popcnt<u64>(x4 ^ load<u64>(pb, 32)) + popcnt<u64>(x5 ^ load<u64>(pb, 40))));
      pb += 48;
    }
  }
}

function bgemmRow7(a: usize, b: usize, c: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const pa = a + <usize>i * 56;
    const x0 = load<u64>(pa, 0), x1 = load<u64>(pa, 8), x2 = load<u64>(pa, 16), x3 = load<u64>(pa, 24), x4 = load<u64>(pa, 32), x5 = load<u64>(pa, 40), x6 = load<u64>(pa, 48);
    const pc = c + (<usize>i * n) * 4;
    let pb = b;
    for (let j = 0; j < n; j++) {
      store<i32>(pc + <usize>j * 4, <i32>(popcnt<u64>(x0 ^ load<u64>(pb, 0)) + popcnt<u64>(x1 ^ load<u64>(pb, 8)) + popcnt<u64>(x2 ^ load<u64>(pb, 16)) + popcnt<u64>(x3 ^ load<u64>(pb, 24)) + popcnt<u64>(x4 ^ load<u64>(pb, 32)) + popcnt<u64>(x5 ^ load<u64>(pb, 40)) + popcnt<u64>(x6 ^ load<u64>(pb, 48))));
      pb += 56;
    }
  }
}

function bgemmRow8(a: usize, b: usize, c: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const pa = a + <usize>i * 64;
    const x0 = load<u64>(pa, 0), x1 = load<u64>(pa, 8), x2 = load<u64>(pa, 16), x3 = load<u64>(pa, 24), x4 = load<u64>(pa, 32), x5 = load<u64>(pa, 40), x6 = load<u64>(pa, 48), x7 = load<u64>(pa, 56);
    const pc = c + (<usize>i * n) * 4;
    let pb = b;
    for (let j = 0; j < n; j++) {
      store<i32>(pc + <usize>j * 4, <i32>(popcnt<u64>(x0 ^ load<u64>(pb, 0)) + popcnt<u64>(x1 ^ load<u64>(pb, 8)) + popcnt<u64>(x2 ^ load<u64>(pb, 16)) + popcnt<u64>(x3 ^ load<u64>(pb, 24)) + popcnt<u64>(x4 ^ load<u64>(pb, 32)) + popcnt<u64>(x5 ^ load<u64>(pb, 40)) + popcnt<u64>(x6 ^ load<u64>(pb, 48)) + popcnt<u64>(x7 ^ load<u64>(pb, 56))));
      pb += 64;
    }
  }
}

/** Scalar strategy for rows of at most 64 bytes (see bgemmRow1 .. bgemmRow8); false for longer rows. */
function bgemmShort(a: usize, b: usize, c: usize, m: i32, n: i32, rowBytes: i32): bool {
  switch (rowBytes >> 3) {
    case 1: bgemmRow1(a, b, c, m, n); return true;
    case 2: bgemmRow2(a, b, c, m, n); return true;
    case 3: bgemmRow3(a, b, c, m, n); return true;
    case 4: bgemmRow4(a, b, c, m, n); return true;
    case 5: bgemmRow5(a, b, c, m, n); return true;
    case 6: bgemmRow6(a, b, c, m, n); return true;
    case 7: bgemmRow7(a, b, c, m, n); return true;
    case 8: bgemmRow8(a, b, c, m, n); return true;
  }
  return false;
}

/** Scalar strategy: 64-bit XOR + POPCNT, 2x2 register tile, unrolled twice along K (rowBytes % 8 == 0). */
export function bgemmScalar(a: usize, b: usize, c: usize, m: i32, n: i32, rowBytes: i32): void {
  if (rowBytes <= 64 && bgemmShort(a, b, c, m, n, rowBytes)) return;
  const k = rowBytes >> 3;
  const nb = blockRows(rowBytes);
  for (let j0 = 0; j0 < n; j0 += nb) {
    const j1 = min(j0 + nb, n);
    let i = 0;
    for (; i + 1 < m; i += 2) {
      const pa0 = a + <usize>i * rowBytes;
      const pa1 = pa0 + rowBytes;
      const pc0 = c + (<usize>i * n) * 4;
      const pc1 = pc0 + <usize>n * 4;
      let j = j0;
      for (; j + 1 < j1; j += 2) {
        const pb0 = b + <usize>j * rowBytes;
        const pb1 = pb0 + rowBytes;
        let s00: i64 = 0;
        let s01: i64 = 0;
        let s10: i64 = 0;
        let s11: i64 = 0;
        // Two u64 steps per iteration while a whole 16-byte unit is left, then one 8-byte step.
        let t: usize = 0;
        for (; t + 16 <= <usize>rowBytes; t += 16) {
          let x0 = load<u64>(pa0 + t);
          let x1 = load<u64>(pa1 + t);
          let w0 = load<u64>(pb0 + t);
          let w1 = load<u64>(pb1 + t);
          s00 += popcnt<i64>(x0 ^ w0);
          s01 += popcnt<i64>(x0 ^ w1);
          s10 += popcnt<i64>(x1 ^ w0);
          s11 += popcnt<i64>(x1 ^ w1);
          x0 = load<u64>(pa0 + t, 8);
          x1 = load<u64>(pa1 + t, 8);
          w0 = load<u64>(pb0 + t, 8);
          w1 = load<u64>(pb1 + t, 8);
          s00 += popcnt<i64>(x0 ^ w0);
          s01 += popcnt<i64>(x0 ^ w1);
          s10 += popcnt<i64>(x1 ^ w0);
          s11 += popcnt<i64>(x1 ^ w1);
        }
        if (t < <usize>rowBytes) {
          const x0 = load<u64>(pa0 + t);
          const x1 = load<u64>(pa1 + t);
          const w0 = load<u64>(pb0 + t);
          const w1 = load<u64>(pb1 + t);
          s00 += popcnt<i64>(x0 ^ w0);
          s01 += popcnt<i64>(x0 ^ w1);
          s10 += popcnt<i64>(x1 ^ w0);
          s11 += popcnt<i64>(x1 ^ w1);
        }
        store<i32>(pc0 + <usize>j * 4, <i32>s00);
        store<i32>(pc0 + <usize>j * 4, <i32>s01, 4);
        store<i32>(pc1 + <usize>j * 4, <i32>s10);
        store<i32>(pc1 + <usize>j * 4, <i32>s11, 4);
      }
      for (; j < j1; j++) {
        const pb = b + <usize>j * rowBytes;
        store<i32>(pc0 + <usize>j * 4, dot1(pa0, pb, k));
        store<i32>(pc1 + <usize>j * 4, dot1(pa1, pb, k));
      }
    }
    for (; i < m; i++) {
      const pa0 = a + <usize>i * rowBytes;
      for (let j = j0; j < j1; j++) store<i32>(c + (<usize>i * n + j) * 4, dot1(pa0, b + <usize>j * rowBytes, k));
    }
  }
}

@inline function widen(bytes: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(bytes));
}

@inline function hsum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

function dot1Simd(pa: usize, pb: usize, k: i32): i32 {
  let acc = i32x4.splat(0);
  let t = 0;
  while (t < k) {
    const end = min(t + 31, k);
    let bytes = i8x16.splat(0);
    for (; t < end; t++) {
      bytes = i8x16.add(bytes, i8x16.popcnt(v128.xor(v128.load(pa), v128.load(pb))));
      pa += 16;
      pb += 16;
    }
    acc = i32x4.add(acc, widen(bytes));
  }
  return hsum(acc);
}

/** SIMD strategy: 128-bit XOR + i8x16.popcnt, byte counters flushed every 31 steps, 2x2 tile. */
export function bgemmSimd(a: usize, b: usize, c: usize, m: i32, n: i32, rowBytes: i32): void {
  const k = rowBytes >> 4;
  const nb = blockRows(rowBytes);
  for (let j0 = 0; j0 < n; j0 += nb) {
    const j1 = min(j0 + nb, n);
    let i = 0;
    for (; i + 1 < m; i += 2) {
      const pa0 = a + <usize>i * rowBytes;
      const pa1 = pa0 + rowBytes;
      const pc0 = c + (<usize>i * n) * 4;
      const pc1 = pc0 + <usize>n * 4;
      let j = j0;
      for (; j + 1 < j1; j += 2) {
        let pa = pa0;
        let pq = pa1;
        let pb = b + <usize>j * rowBytes;
        let pd = pb + rowBytes;
        let s00 = i32x4.splat(0);
        let s01 = i32x4.splat(0);
        let s10 = i32x4.splat(0);
        let s11 = i32x4.splat(0);
        let t = 0;
        while (t < k) {
          const end = min(t + 31, k);
          let b00 = i8x16.splat(0);
          let b01 = i8x16.splat(0);
          let b10 = i8x16.splat(0);
          let b11 = i8x16.splat(0);
          for (; t < end; t++) {
            const x0 = v128.load(pa);
            const x1 = v128.load(pq);
            const w0 = v128.load(pb);
            const w1 = v128.load(pd);
            b00 = i8x16.add(b00, i8x16.popcnt(v128.xor(x0, w0)));
            b01 = i8x16.add(b01, i8x16.popcnt(v128.xor(x0, w1)));
            b10 = i8x16.add(b10, i8x16.popcnt(v128.xor(x1, w0)));
            b11 = i8x16.add(b11, i8x16.popcnt(v128.xor(x1, w1)));
            pa += 16;
            pq += 16;
            pb += 16;
            pd += 16;
          }
          s00 = i32x4.add(s00, widen(b00));
          s01 = i32x4.add(s01, widen(b01));
          s10 = i32x4.add(s10, widen(b10));
          s11 = i32x4.add(s11, widen(b11));
        }
        store<i32>(pc0 + <usize>j * 4, hsum(s00));
        store<i32>(pc0 + <usize>j * 4, hsum(s01), 4);
        store<i32>(pc1 + <usize>j * 4, hsum(s10));
        store<i32>(pc1 + <usize>j * 4, hsum(s11), 4);
      }
      for (; j < j1; j++) {
        const pb = b + <usize>j * rowBytes;
        store<i32>(pc0 + <usize>j * 4, dot1Simd(pa0, pb, k));
        store<i32>(pc1 + <usize>j * 4, dot1Simd(pa1, pb, k));
      }
    }
    for (; i < m; i++) {
      const pa0 = a + <usize>i * rowBytes;
      for (let j = j0; j < j1; j++) store<i32>(c + (<usize>i * n + j) * 4, dot1Simd(pa0, b + <usize>j * rowBytes, k));
    }
  }
}


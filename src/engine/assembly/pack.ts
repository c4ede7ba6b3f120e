// Packing floats to sign bits: bit = 1 iff x < 0 (sign(0) = +1; -0 and NaN give bit 0), element i
// of a 32-bit word in bit i. SIMD: f32x4.lt against zero, then i32x4.bitmask gives 4 bits at once.

/** Packs `rows` rows of `cols` floats (contiguous) into `rowWords` words each (zero-padded). */
export function packSigns(src: usize, dst: usize, rows: i32, cols: i32, rowWords: i32): void {
  const zero = f32x4.splat(0);
  const full = cols >> 5;
  for (let r = 0; r < rows; r++) {
    let p = src + (<usize>r * cols) * 4;
    let q = dst + (<usize>r * rowWords) * 4;
    for (let w = 0; w < full; w++) {
      let word: u32 = 0;
      for (let g = 0; g < 8; g++) {
        word |= (<u32>i32x4.bitmask(f32x4.lt(v128.load(p), zero))) << (<u32>g * 4);
        p += 16;
      }
      store<u32>(q, word);
      q += 4;
    }
    let written = full;
    const rest = cols & 31;
    if (rest > 0) {
      let word: u32 = 0;
      let i = 0;
      for (; i + 3 < rest; i += 4) {
        word |= (<u32>i32x4.bitmask(f32x4.lt(v128.load(p), zero))) << <u32>i;
        p += 16;
      }
      for (; i < rest; i++) {
        if (load<f32>(p) < 0) word |= (<u32>1) << <u32>i;
        p += 4;
      }
      store<u32>(q, word);
      q += 4;
      written++;
    }
    for (let w = written; w < rowWords; w++) {
      store<u32>(q, 0);
      q += 4;
    }
  }
}

// The threshold rule of a binarizing chain (floatThreshold in reference/transform.ts), shared by the
// kernels that write sign bits from float values: bit = sign * a < thr for finite a in [lo, hi], 0
// for finite a outside it, and the bits of NaN, -Infinity and +Infinity from `special` (bits 0, 1, 2).

/** The bit of value a under one unit's rule. */
@inline export function ruleBit(a: f32, sg: f32, th: f32, special: u8, lo: f32, hi: f32): u32 {
  if (a != a) return <u32>special & 1;
  if (a == -Infinity) return (<u32>special >> 1) & 1;
  if (a == Infinity) return (<u32>special >> 2) & 1;
  if (a < lo || a > hi) return 0;
  return sg * a < th ? 1 : 0;
}

/**
 * A chain of affine / relu nodes + binarize on float values: `rows` rows of `c` floats into
 * `rowWords` words each (zero-padded), each value's bit by its channel's rule; sign, thr f32 [c],
 * special u8 [c], range f32 [2, c] (lo then hi). Four channels at a time, where all four values are
 * finite and in range (the rule is then one multiply and one comparison). `plain`: every channel's
 * rule is that multiply and comparison on every float, NaN and infinities included (see
 * isPlainThreshold in reference/transform.ts), and no value is checked.
 */
export function thresholdSigns(
  src: usize, dst: usize, rows: i32, c: i32, sign: usize, thr: usize, special: usize, range: usize, rowWords: i32,
  plain: bool,
): void {
  const words = (c + 31) >> 5;
  const hiBase = range + <usize>c * 4;
  for (let r = 0; r < rows; r++) {
    const p = src + (<usize>r * c) * 4;
    const q = dst + (<usize>r * rowWords) * 4;
    if (plain) {
      plainRow(p, q, c, sign, thr);
      for (let wi = words; wi < rowWords; wi++) store<u32>(q + <usize>wi * 4, 0);
      continue;
    }
    for (let wi = 0; wi < words; wi++) {
      const c0 = wi << 5;
      const c1 = min(c0 + 32, c);
      let word: u32 = 0;
      let k = c0;
      for (; k + 3 < c1; k += 4) {
        const o = <usize>k * 4;
        const v = v128.load(p + o);
        const inside = v128.and(f32x4.ge(v, v128.load(range + o)), f32x4.le(v, v128.load(hiBase + o)));
        if (i32x4.all_true(inside)) {
          const bits = f32x4.lt(f32x4.mul(v, v128.load(sign + o)), v128.load(thr + o));
          word |= (<u32>i32x4.bitmask(bits)) << <u32>(k - c0);
        } else
          for (let j = k; j < k + 4; j++) word |= bitAt(p, j, sign, thr, special, range, hiBase) << <u32>(j - c0);
      }
      for (; k < c1; k++) word |= bitAt(p, k, sign, thr, special, range, hiBase) << <u32>(k - c0);
      store<u32>(q + <usize>wi * 4, word);
    }
    for (let wi = words; wi < rowWords; wi++) store<u32>(q + <usize>wi * 4, 0);
  }
}

/** One row of c values to ceil(c / 32) words by bit = sign * a < thr alone. */
@inline function plainRow(p: usize, q: usize, c: i32, sign: usize, thr: usize): void {
  for (let c0 = 0; c0 < c; c0 += 32) {
    const c1 = min(c0 + 32, c);
    let word: u32 = 0;
    let k = c0;
    for (; k + 3 < c1; k += 4) {
      const o = <usize>k * 4;
      const bits = f32x4.lt(f32x4.mul(v128.load(p + o), v128.load(sign + o)), v128.load(thr + o));
      word |= (<u32>i32x4.bitmask(bits)) << <u32>(k - c0);
    }
    for (; k < c1; k++) {
      const o = <usize>k * 4;
      word |= <u32>(load<f32>(p + o) * load<f32>(sign + o) < load<f32>(thr + o)) << <u32>(k - c0);
    }
    store<u32>(q + (<usize>(c0 >> 5) << 2), word);
  }
}

@inline function bitAt(p: usize, j: i32, sign: usize, thr: usize, special: usize, lo: usize, hi: usize): u32 {
  const o = <usize>j * 4;
  return ruleBit(load<f32>(p + o), load<f32>(sign + o), load<f32>(thr + o), load<u8>(special + <usize>j), load<f32>(lo + o), load<f32>(hi + o));
}

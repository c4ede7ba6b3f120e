// Output transforms applied to the binary GEMM's mismatch counts acc (LCE's OutputTransform):
// dot = K - 2 acc - corr, where corr is the zero-padding correction of the output pixel (0 for
// one-padding), then either a float result or packed bits for a binarizing consumer.

/**
 * Float output: y = clamp(f32(clamp(dot, dlo, dhi)) * mult[c] + bias[c], ylo, yhi), rounded to f32 after
 * each operation. `corr` (0 = none) is an i32 table [pixels, n] indexed by ((row + rowOffset) % pixels, c)
 * (rowOffset: the first row's index in the whole GEMM, when a thread runs a range of rows).
 */
export function outFloat(
  acc: usize, dst: usize, m: i32, n: i32, k: i32, mult: usize, bias: usize,
  dlo: i32, dhi: i32, ylo: f32, yhi: f32, corr: usize, pixels: i32, rowOffset: i32,
): void {
  const n4 = n & ~3;
  const vk = i32x4.splat(k);
  const vdlo = i32x4.splat(dlo);
  const vdhi = i32x4.splat(dhi);
  const vylo = f32x4.splat(ylo);
  const vyhi = f32x4.splat(yhi);
  for (let r = 0; r < m; r++) {
    const pc: usize = corr == 0 ? 0 : corr + (<usize>((r + rowOffset) % pixels) * n) * 4;
    const pa = acc + (<usize>r * n) * 4;
    const pd = dst + (<usize>r * n) * 4;
    let c = 0;
    // Four channels at a time; the same integer and f32 operations as the scalar tail (pmax/pmin are
    // the scalar comparisons' semantics).
    for (; c < n4; c += 4) {
      const o = <usize>c * 4;
      let dot = i32x4.sub(vk, i32x4.shl(v128.load(pa + o), 1));
      if (pc != 0) dot = i32x4.sub(dot, v128.load(pc + o));
      dot = i32x4.min_s(i32x4.max_s(dot, vdlo), vdhi);
      let y = f32x4.mul(f32x4.convert_i32x4_s(dot), v128.load(mult + o));
      y = f32x4.add(y, v128.load(bias + o));
      v128.store(pd + o, f32x4.pmin(f32x4.pmax(y, vylo), vyhi));
    }
    for (; c < n; c++) {
      const o = <usize>c * 4;
      let dot = k - 2 * load<i32>(pa + o);
      if (pc != 0) dot -= load<i32>(pc + o);
      if (dot < dlo) dot = dlo;
      if (dot > dhi) dot = dhi;
      let y: f32 = <f32>dot * load<f32>(mult + o);
      y = y + load<f32>(bias + o);
      if (y < ylo) y = ylo;
      if (y > yhi) y = yhi;
      store<f32>(pd + o, y);
    }
  }
}

/**
 * Bit output: bit c of the row's packed words = (sign[c] * dot < thr[c]); ceil(n / 32) words per row.
 * Four channels at a time (i32x4 compare + bitmask), the same integer arithmetic as the scalar tail.
 */
export function outBits(
  acc: usize, dst: usize, m: i32, n: i32, k: i32, sign: usize, thr: usize, corr: usize, pixels: i32,
  rowOffset: i32,
): void {
  const words = (n + 31) >> 5;
  const vk = i32x4.splat(k);
  for (let r = 0; r < m; r++) {
    const pc: usize = corr == 0 ? 0 : corr + (<usize>((r + rowOffset) % pixels) * n) * 4;
    const pa = acc + (<usize>r * n) * 4;
    const q = dst + (<usize>r * words) * 4;
    for (let wi = 0; wi < words; wi++) {
      let word: u32 = 0;
      const c0 = wi << 5;
      const c1 = min(c0 + 32, n);
      let c = c0;
      for (; c + 3 < c1; c += 4) {
        const o = <usize>c * 4;
        let dot = i32x4.sub(vk, i32x4.shl(v128.load(pa + o), 1));
        if (pc != 0) dot = i32x4.sub(dot, v128.load(pc + o));
        const lt = i32x4.lt_s(i32x4.mul(v128.load(sign + o), dot), v128.load(thr + o));
        word |= (<u32>i32x4.bitmask(lt)) << <u32>(c - c0);
      }
      for (; c < c1; c++) {
        let dot = k - 2 * load<i32>(pa + <usize>c * 4);
        if (pc != 0) dot -= load<i32>(pc + <usize>c * 4);
        if (load<i32>(sign + <usize>c * 4) * dot < load<i32>(thr + <usize>c * 4)) word |= (<u32>1) << <u32>(c - c0);
      }
      store<u32>(q + <usize>wi * 4, word);
    }
  }
}

/**
 * outBits without zero-padding corrections, tested on the popcount itself: bit c = ((acc ^ accFlip[c])
 * > accThr[c]), the same bits (see accThresholds in runtime/prepare.ts); four channels per step.
 */
export function outBitsAcc(acc: usize, dst: usize, m: i32, n: i32, accFlip: usize, accThr: usize): void {
  const words = (n + 31) >> 5;
  for (let r = 0; r < m; r++) {
    const pa = acc + (<usize>r * n) * 4;
    const q = dst + (<usize>r * words) * 4;
    for (let wi = 0; wi < words; wi++) {
      let word: u32 = 0;
      const c0 = wi << 5;
      const c1 = min(c0 + 32, n);
      let c = c0;
      for (; c + 3 < c1; c += 4) {
        const o = <usize>c * 4;
        const gt = i32x4.gt_s(v128.xor(v128.load(accFlip + o), v128.load(pa + o)), v128.load(accThr + o));
        word |= (<u32>i32x4.bitmask(gt)) << <u32>(c - c0);
      }
      for (; c < c1; c++) {
        const o = <usize>c * 4;
        if ((load<i32>(accFlip + o) ^ load<i32>(pa + o)) > load<i32>(accThr + o)) word |= (<u32>1) << <u32>(c - c0);
      }
      store<u32>(q + <usize>wi * 4, word);
    }
  }
}

/**
 * Float rows (stride ldc) to y = clamp(f32(x * mult[c]) + bias[c], ylo, yhi), written densely [m, n].
 * SIMD clamps use pmax/pmin (y < lo ? lo : y), the scalar comparison's exact semantics (-0, NaN kept).
 */
export function affineRows(
  src: usize, dst: usize, m: i32, n: i32, ldc: i32, mult: usize, bias: usize, ylo: f32, yhi: f32,
): void {
  const n4 = n & ~3;
  const lo = f32x4.splat(ylo);
  const hi = f32x4.splat(yhi);
  for (let r = 0; r < m; r++) {
    const ps = src + <usize>r * ldc * 4;
    const pd = dst + <usize>r * n * 4;
    let c = 0;
    for (; c < n4; c += 4) {
      const o = <usize>c * 4;
      let y = f32x4.add(f32x4.mul(v128.load(ps + o), v128.load(mult + o)), v128.load(bias + o));
      y = f32x4.pmin(f32x4.pmax(y, lo), hi);
      v128.store(pd + o, y);
    }
    for (; c < n; c++) {
      const o = <usize>c * 4;
      let y: f32 = load<f32>(ps + o) * load<f32>(mult + o);
      y = y + load<f32>(bias + o);
      if (y < ylo) y = ylo;
      if (y > yhi) y = yhi;
      store<f32>(pd + o, y);
    }
  }
}

/** Max pool on packed bits: the AND of the words of the taps inside the input (max of +-1 = -1 only if all are -1). */
export function maxPoolBits(
  src: usize, dst: usize, n: i32, h: i32, w: i32, cw: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
): void {
  let q = dst;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let k = 0; k < cw; k++) {
          let v: u32 = 0xffffffff;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - padTop + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - padLeft + kx;
              if (ix < 0 || ix >= w) continue;
              v &= load<u32>(src + (<usize>((b * h + iy) * w + ix) * cw + k) * 4);
            }
          }
          store<u32>(q, v);
          q += 4;
        }
}

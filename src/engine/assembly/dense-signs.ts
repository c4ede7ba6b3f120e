// A float dense layer with +-1 weights whose output only feeds a binarization (through per-channel
// monotone maps such as a BatchNorm): its packed bits straight from a fast table-lookup sum, each
// certified against the exact sum's threshold, and recomputed in sgemm's order where the fast sum
// cannot decide.

import { ruleBit } from './threshold';

/** 2^-24, the unit roundoff of float32. */
const UNIT: f64 = 5.9604644775390625e-8;
/** Rows whose sum of |x| reaches 2^100 (or is not finite) are summed exactly, output by output. */
const S_MAX: f64 = 1.2676506002282294e30;

/**
 * Bytes of scratch denseSigns needs: 32 KiB of tables, a block's sums by row, two blocks' i16 partial
 * sums, the union of their groups, the last step, two blocks' state and a block's undecided units.
 */
export function denseSignsScratchBytes(k: i32, units: i32): i32 {
  const groups = (k + 7) >> 3;
  const units4 = (units + 3) & ~3;
  return CHUNK * 8192 + units4 * 16 + units * 32 + groups * 4 + 32 + 2 * blockBytes(groups, units4) + openBytes(units);
}

/** A block's list of undecided units (pairs unit, row: i32 [8 units, 2]) and four exact sums. */
@inline function openBytes(units: i32): i32 {
  return units * 64 + 16;
}

/**
 * bits[r, u] = 1 iff H_u(acc[r, u]) < 0, where acc = the dense product of the float rows `a` [m, k]
 * with the +-1 weights `w` (packed rows [units, ceil(k / 32)] words, bit set = -1) summed as sgemm
 * sums it (x_t w_t added in order of t from +0, which is tfjs-backend-wasm's order), and H_u is the
 * monotone chain the caller reduced to `bit = sign[u] * acc < thr[u]` for finite acc in
 * [range[u], range[units + u]] (outside it 0), plus the bits of NaN (bit 0 of special[u]), -Infinity
 * (bit 1) and +Infinity (bit 2) (see floatThreshold; the range holds [-2^101, 2^101]).
 *
 * The fast sum is a table lookup (T-MAC, Wei et al. 2024), 4 rows per vector (one lane per row):
 * every 8 inputs, the 256 signed sums of a block's rows are built once, and each output adds one
 * entry per group. Each row is shifted by its background c (see backgroundGroups): fast = (the lookup
 * sum of y_t = f32(x_t - c)) + c wsum[u] (wsum: the unit's weight sum, an integer), and the groups
 * where every row of a block is on its background add 0 and are skipped. Both sums round: a sum whose
 * terms each go through at most h roundings differs from the exact one by at most gamma_h times the
 * sum of their magnitudes, gamma_h = h u / (1 - h u), u = 2^-24 (Higham, Accuracy and Stability of
 * Numerical Algorithms, 2002, sec. 4.2). sgemm's sum is tighter than that: its i-th add rounds by at
 * most u times its partial sum, which is at most (1 + u)^i sum over t <= i of |x_t|, so its error is
 * at most u / (1 - K u) sum_t (K - t) |x_t| (t from 0; Higham's eq. 4.3), half of u (K - 1) sum |x_t|
 * on an image whose background is -1. Here: 7 roundings in a table entry, ceil(K / 8) - 1 across
 * groups, one in x_t - c and one in the final add for the y_t, one in c wsum and one in the add for
 * that term, so |fast - sgemm| <= B = u / (1 - n u) (sum (K - t) |x_t| + (ceil(K / 8) + 8) sum |y_t|
 * + 2 |c| K), n = K + ceil(K / 8) + 8. Where sign * fast - thr > B the bit
 * is 0 (the subtraction rounds monotonically), where it is < -B the bit is 1, and otherwise (near the
 * threshold, about two outputs in a thousand on MNIST) the sum is redone in sgemm's order: the result
 * is bit for bit what sgemm followed by the chain gives.
 * A block of 2 to 8 rows of 8-bit levels (x_t = mn + step q_t + e_t, integers q_t in [0, 255], E = sum
 * |e_t| small: image pixels on any linear scaling; see quantizeRows) takes integer tables instead: 8 rows
 * per i16 entry, so half the table loads and builds, two such blocks (16 rows) sharing each weight
 * byte and table address (levelPairSums), and exact sums S[u] of the +-q_t; then fast =
 * f32(f32(mn wsum[u]) + f32(step S[u])), and B = u / (1 - (K - 1) u) sum (K - t) |x_t| + E + 4 u (|mn|
 * K + step sum q_t) (the sum of the x_t differs from mn wsum + step S by at most E; three roundings here).
 * Other blocks (and a lone row) take the float tables.
 * sign, thr: f32 [units] (sign in {-1, 0, 1}); special: u8 [units]; range: f32 [2, units] (lo, hi);
 * dst [m, ceil(units / 32)] words.
 */
export function denseSigns(
  a: usize, w: usize, dst: usize, m: i32, k: i32, units: i32,
  sign: usize, thr: usize, special: usize, range: usize, wsum: usize, wg: usize, scratch: usize,
): void {
  const groups = (k + 7) >> 3;
  const words = (units + 31) >> 5;
  const units4 = (units + 3) & ~3;
  const tables = scratch;
  // A block's sums by row ([4, units4]), two blocks' i16 partial sums (levelPairSums: [units, 2, 8]),
  // the union of their groups, the last step that fit a row, then each block's own buffers.
  const byRow = tables + <usize>CHUNK * 8192;
  const acc16 = byRow + <usize>units4 * 16;
  const union = acc16 + <usize>units * 32;
  const stepNow = (union + <usize>groups * 4 + 15) & ~15;
  f32.store(stepNow, 0);
  const b0 = stepNow + 16;
  const b1 = b0 + <usize>blockBytes(groups, units4);
  // The undecided units of a block (see decideOpen).
  const open = b1 + <usize>blockBytes(groups, units4);
  for (let r0 = 0; r0 < m; r0 += 16) {
    const rows0 = min(8, m - r0);
    const rows1 = min(8, max(0, m - r0 - 8));
    const x0 = a + <usize>r0 * k * 4;
    const x1 = x0 + <usize>k * 32;
    const active0 = backgroundGroups(x0, rows0, k, b0, groups, units4);
    const active1 = rows1 > 0 ? backgroundGroups(x1, rows1, k, b1, groups, units4) : 0;
    // Two blocks of 8-bit levels: one pass over the tables for both (each weight byte read once).
    let paired = false;
    if (rows0 > 1 && rows1 > 1 && k <= 65536) {
      const n = unionOf(blockList(b0, units4), active0, blockList(b1, units4), active1, union);
      zeroLevels(blockLevels(b0, groups, units4), union, n);
      zeroLevels(blockLevels(b1, groups, units4), union, n);
      paired =
        quantizeRows(x0, rows0, k, b0, groups, units4, active0, stepNow) &&
        quantizeRows(x1, rows1, k, b1, groups, units4, active1, stepNow);
      if (paired)
        levelPairSums(
          blockLevels(b0, groups, units4), blockLevels(b1, groups, units4), wg, units, tables, b0,
          b0 + <usize>units4 * 16, b1, b1 + <usize>units4 * 16, acc16, union, n,
        );
    }
    store<i32>(blockCs(b0, units4) + FLAG, paired ? 1 : 0);
    store<i32>(blockCs(b1, units4) + FLAG, paired ? 1 : 0);
    if (!paired) {
      blockSums(x0, rows0, k, b0, groups, units4, active0, wg, units, tables, wsum, stepNow);
      if (rows1 > 0) blockSums(x1, rows1, k, b1, groups, units4, active1, wg, units, tables, wsum, stepNow);
    }
    const q = dst + <usize>r0 * words * 4;
    decideBlock(x0, rows0, k, b0, groups, units4, w, units, wsum, sign, thr, special, range, q, byRow, open);
    if (rows1 > 0)
      decideBlock(
        x1, rows1, k, b1, groups, units4, w, units, wsum, sign, thr, special, range, q + <usize>words * 32, byRow, open,
      );
  }
}

// A block of up to 8 rows keeps its state in scratch at `b`: its sums by unit, rows 0-3 then 4-7
// ([units4, 4] f32 or i32 each), then, from blockCs on: cs (f32 [8]), sums (f64 [8, 2], then f64 [8]:
// sum |x_t|, sum |x_t - c|, sum (k - t) |x_t|), mins (f32 [8]), steps (f32 [8]), fits (f64 [16]),
// whether its sums are of levels (i32, padded to 16 bytes), list (i32 [groups]), flags (u8 [groups]),
// and the levels (u16 [groups * 8, 8], 16-byte aligned). The fields' offsets from cs:
const SUMS: usize = 32;
const MINS: usize = 224;
const STEPS: usize = 256;
const FITS: usize = 288;
const FLAG: usize = 416;
const LIST: usize = 432;

@inline function blockCs(b: usize, units4: i32): usize {
  return b + <usize>units4 * 32;
}

@inline function blockList(b: usize, units4: i32): usize {
  return blockCs(b, units4) + LIST;
}

@inline function blockLevels(b: usize, groups: i32, units4: i32): usize {
  return (blockList(b, units4) + <usize>groups * 5 + 15) & ~15;
}

/** Bytes of a block's state (see above), a multiple of 16. */
@inline function blockBytes(groups: i32, units4: i32): i32 {
  return units4 * 32 + <i32>LIST + ((groups * 5 + 15) & ~15) + groups * 128;
}

/**
 * A block's sums (the state at b, see above) on its own: from the levels (quantizeRows, levelSums) or
 * from the float tables (lutSums, or lutSumsRow for a lone row); records which in the block's flag.
 */
function blockSums(
  x: usize, rows: i32, k: i32, b: usize, groups: i32, units4: i32, active: i32, wg: usize, units: i32,
  tables: usize, wsum: usize, stepNow: usize,
): void {
  const list = blockList(b, units4);
  const accA = b;
  const accB = b + <usize>units4 * 16;
  const cs = blockCs(b, units4);
  const levels = blockLevels(b, groups, units4);
  zeroLevels(levels, list, active);
  const onLevels = rows > 1 && k <= 65536 && quantizeRows(x, rows, k, b, groups, units4, active, stepNow);
  store<i32>(cs + FLAG, onLevels ? 1 : 0);
  if (onLevels) levelSums(levels, wg, units, tables, accA, accB, list, active);
  else {
    shiftedSums(x, rows, k, cs, cs + SUMS);
    if (rows == 1) lutSumsRow(x, k, wg, units, tables, accA, list, active, load<f32>(cs), wsum);
    else
      lutSums(
        x, min(4, rows), max(0, rows - 4), k, wg, units, tables, accA, accB, list, active,
        v128.load(cs), v128.load(cs, 16), wsum,
      );
  }
}

/**
 * A block's bits (rows of `words` words at q) from its sums (the state at b): each row's bound, its
 * certain bits, and its undecided units summed in tfjs's order.
 */
function decideBlock(
  x: usize, rows: i32, k: i32, b: usize, groups: i32, units4: i32, w: usize, units: i32, wsum: usize,
  sign: usize, thr: usize, special: usize, range: usize, q: usize, byRow: usize, open: usize,
): void {
  const words = (units + 31) >> 5;
  const cs = blockCs(b, units4);
  const sums = cs + SUMS;
  const mins = cs + MINS;
  const steps = cs + STEPS;
  const fits = cs + FITS;
  const onLevels = load<i32>(cs + FLAG) != 0;
  let opened = 0;
  for (let i0 = 0; i0 < rows; i0 += 4) {
    transpose(b + (<usize>(i0 >> 2) * units4 << 4), byRow, units4);
    for (let i = i0; i < min(rows, i0 + 4); i++) {
      const acc = byRow + (<usize>(i - i0) * units4 << 2);
      const sx = load<f64>(sums + (<usize>i << 4));
      const sw = load<f64>(sums + (<usize>i << 3), 128);
      let bound: f32;
      if (onLevels) {
        // acc = f32(f32(mn wsum[u]) + f32(step S[u])) from the integer sums S of the levels: off the
        // sum of the x_t by at most E (the levels' error sum, bounded by fitLevels) plus three
        // roundings of terms at most |mn| k and step sum(q) (4 u covers them and float64's own).
        const mn = load<f32>(mins + (<usize>i << 2));
        const step = load<f32>(steps + (<usize>i << 2));
        const sq = load<f64>(fits + (<usize>i << 3));
        const e = load<f64>(fits + (<usize>i << 3), 64);
        const terms = abs<f64>(<f64>mn) * <f64>k + <f64>step * sq;
        levelFloats(acc, units, mn, step, wsum);
        bound = rowBound(k - 1, sw, sx, e + 4 * UNIT * terms);
      } else {
        // B (see above): sgemm's partial sums; the fast sum's groups + 8 roundings of the y_t; and
        // two of c * wsum[u], |wsum[u]| <= k.
        const c = load<f32>(cs + (<usize>i << 2));
        const sy = load<f64>(sums + (<usize>i << 4), 8);
        const s = sw + <f64>(groups + 8) * sy + 2 * abs<f64>(<f64>c) * <f64>k;
        bound = rowBound(k + groups + 8, s, sx, 0);
      }
      opened = certifyRow(acc, units, bound, sign, thr, q + <usize>i * words * 4, open, opened, i);
    }
  }
  decideOpen(x, k, w, units, open, opened, sign, thr, special, range, q, words);
}

/** The sorted union of two sorted lists of groups into out; returns its length. */
function unionOf(l0: usize, n0: i32, l1: usize, n1: i32, out: usize): i32 {
  let i = 0, j = 0, n = 0;
  while (i < n0 || j < n1) {
    const g0 = i < n0 ? load<i32>(l0 + (<usize>i << 2)) : I32.MAX_VALUE;
    const g1 = j < n1 ? load<i32>(l1 + (<usize>j << 2)) : I32.MAX_VALUE;
    const g = min(g0, g1);
    store<i32>(out + (<usize>(n++) << 2), g);
    if (g0 == g) i++;
    if (g1 == g) j++;
  }
  return n;
}

/** Zeroes the levels (see quantizeRows) of the n groups listed. */
function zeroLevels(levels: usize, list: usize, n: i32): void {
  for (let j = 0; j < n; j++) {
    const p = levels + (<usize>load<i32>(list + (<usize>j << 2)) << 7);
    for (let i: usize = 0; i < 128; i += 16) v128.store(p + i, i32x4.splat(0));
  }
}

/**
 * Input sparsity around a background value, into the block state at b (see denseSigns): for each of
 * `rows` rows (up to 8) of x, c = its minimum (an image's background on either pixel scaling) where
 * some group of 8 inputs all equal it, else 0, into cs[8] (0 for rows past `rows`), the minimum into
 * mins[r], and upper bounds on the row's sum |x_t| and sum (k - t) |x_t| (float64) into sums[2 r] and sums[16 + r]
 * (shiftedSums puts sum |f32(x_t - c)| into sums[2 r + 1]); lists in `list` the groups where some row
 * differs from its c (the others sum to 0 after the shift x - c, and their tables and lookups are
 * skipped) and returns their count. flags: a byte per group.
 */
function backgroundGroups(x: usize, rows: i32, k: i32, b: usize, groups: i32, units4: i32): i32 {
  const cs = blockCs(b, units4);
  const sums = cs + SUMS;
  const mins = cs + MINS;
  const list = blockList(b, units4);
  const flags = list + <usize>groups * 4;
  const full = k >> 3;
  memory.fill(flags, 0, groups);
  v128.store(cs, i32x4.splat(0));
  v128.store(cs, i32x4.splat(0), 16);
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * k * 4;
    const bit = <u8>1 << <u8>r;
    const c = rowMin(row, k);
    store<f32>(mins + (<usize>r << 2), c);
    const cv = f32x4.splat(c);
    // sum |x_t| and sum (k - t) |x_t| in float32 lanes (weights exact below 2^24), made upper bounds
    // below: a float32 sum of n >= 0 terms is at least (1 - u)^n times theirs.
    let sx = f32x4.splat(0);
    let sw = f32x4.splat(0);
    let w0 = f32x4.sub(f32x4.splat(<f32>k), f32x4(0, 1, 2, 3));
    let w1 = f32x4.sub(w0, f32x4.splat(4));
    const eight = f32x4.splat(8);
    let any = false;
    for (let g = 0; g < full; g++) {
      const p = row + (<usize>g << 5);
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      const same = i32x4.all_true(v128.and(f32x4.eq(v0, cv), f32x4.eq(v1, cv)));
      if (!same) store<u8>(flags + <usize>g, load<u8>(flags + <usize>g) | bit);
      any = any || same;
      const a0 = f32x4.abs(v0);
      const a1 = f32x4.abs(v1);
      sx = f32x4.add(sx, f32x4.add(a0, a1));
      sw = f32x4.add(sw, f32x4.add(f32x4.mul(a0, w0), f32x4.mul(a1, w1)));
      w0 = f32x4.sub(w0, eight);
      w1 = f32x4.sub(w1, eight);
    }
    // Each lane adds at most k / 4 + 2 rounded terms (products rounded too), then 3 adds across lanes.
    const grow = 1 + 2 * <f64>(k + 16) * UNIT;
    let tx = lanesSum(sx) * grow;
    let tw = lanesSum(sw) * grow;
    if (full < groups) {
      let same = true;
      for (let t = full << 3; t < k; t++) {
        const v = load<f32>(row + <usize>t * 4);
        same = same && v == c;
        tx += abs<f64>(<f64>v);
        tw += <f64>(k - t) * abs<f64>(<f64>v);
      }
      if (!same) store<u8>(flags + <usize>full, load<u8>(flags + <usize>full) | bit);
      any = any || same;
    }
    if (any) store<f32>(cs + (<usize>r << 2), c);
    else {
      // No group to skip: no shift, and every group of the row counts.
      for (let g = 0; g < groups; g++) store<u8>(flags + <usize>g, load<u8>(flags + <usize>g) | bit);
    }
    store<f64>(sums + (<usize>r << 4), tx);
    store<f64>(sums + (<usize>r << 3), tw, 128);
  }
  let n = 0;
  for (let g = 0; g < groups; g++) if (load<u8>(flags + <usize>g)) store<i32>(list + (<usize>(n++) << 2), g);
  return n;
}

/** The sum of v's 4 float32 lanes, in float64. */
@inline function lanesSum(v: v128): f64 {
  return (
    <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3))
  );
}

/**
 * The minimum of a row's n >= 1 floats by pmin (one instruction each; a NaN is passed over, and a row
 * with one has a NaN sum |x_t|, so every unit of it is summed exactly anyway).
 */
function rowMin(p: usize, n: i32): f32 {
  let m4 = f32x4.splat(load<f32>(p));
  let i = 0;
  for (; i + 3 < n; i += 4) m4 = f32x4.pmin(m4, v128.load(p + <usize>i * 4));
  let m = load<f32>(p);
  for (let j = 0; j < 4; j++) {
    const v = f32x4.extract_lane(m4, 0);
    if (v < m) m = v;
    m4 = v128.shuffle<f32>(m4, m4, 1, 2, 3, 0);
  }
  for (; i < n; i++) {
    const v = load<f32>(p + <usize>i * 4);
    if (v < m) m = v;
  }
  return m;
}

/** |v0| + |v1| in float64, two lanes (each lane the sum of 4 of the 8 values). */
@inline function absSum8(v0: v128, v1: v128): v128 {
  const a0 = f32x4.abs(v0);
  const a1 = f32x4.abs(v1);
  return f64x2.add(
    f64x2.add(f64x2.promote_low_f32x4(a0), f64x2.promote_low_f32x4(v128.shuffle<f32>(a0, a0, 2, 3, 0, 1))),
    f64x2.add(f64x2.promote_low_f32x4(a1), f64x2.promote_low_f32x4(v128.shuffle<f32>(a1, a1, 2, 3, 0, 1))),
  );
}

/** For each of `rows` rows of x, sum |f32(x_t - c)| (float64, c = cs[r]) into sums[2 r + 1]. */
function shiftedSums(x: usize, rows: i32, k: i32, cs: usize, sums: usize): void {
  const full = k >> 3;
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * k * 4;
    const c = load<f32>(cs + (<usize>r << 2));
    const cv = f32x4.splat(c);
    let sy = f64x2.splat(0);
    for (let g = 0; g < full; g++) {
      const p = row + (<usize>g << 5);
      sy = f64x2.add(sy, absSum8(f32x4.sub(v128.load(p), cv), f32x4.sub(v128.load(p, 16), cv)));
    }
    let ty = f64x2.extract_lane(sy, 0) + f64x2.extract_lane(sy, 1);
    for (let t = full << 3; t < k; t++) ty += abs<f64>(<f64>(load<f32>(row + <usize>t * 4) - c));
    store<f64>(sums + (<usize>r << 4), ty, 8);
  }
}

/** [units4, 4] sums (4 lanes: rows) to [4, units4] (4 x 4 transposes). */
@inline function transpose(acc: usize, byRow: usize, units4: i32): void {
  const row = <usize>units4 << 2;
  for (let u = 0; u < units4; u += 4) {
    const p = acc + (<usize>u << 4);
    const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
    const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5);
    const t1 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
    const t2 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
    const t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
    const o = byRow + (<usize>u << 2);
    v128.store(o, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
    v128.store(o + row, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
    v128.store(o + 2 * row, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
    v128.store(o + 3 * row, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
  }
}

/**
 * A row's certification bound: u / (1 - n u) s + absErr (u = 2^-24; s: the sum over terms of |term|
 * times the roundings the term goes through along both sums, at most n), rounded up to float32 (the
 * error of a term after h <= n roundings is at most gamma_h = h u / (1 - h u) times it). NaN where the
 * row's sum |x_t|, sx, is NaN, infinite or >= 2^100: every comparison then fails and each unit is
 * summed exactly.
 */
@inline function rowBound(n: i32, s: f64, sx: f64, absErr: f64): f32 {
  const nu = <f64>n * UNIT;
  return sx < S_MAX && nu < 0.5 ? <f32>((UNIT / (1 - nu) * s + absErr) * 1.000001) : NaN;
}

/**
 * The packed bits of row `row` of a block (see denseSigns) from fast sums acc[u] (contiguous floats),
 * each within `bound` of tfjs's sum of the row, into q; four units at a time. The undecided units are
 * appended to the block's list `open` (pairs unit, row) from index `opened` on; returns the new count.
 */
@inline function certifyRow(
  acc: usize, units: i32, bound: f32, sign: usize, thr: usize, q: usize, open: usize, opened: i32, row: i32,
): i32 {
  const words = (units + 31) >> 5;
  const hi = f32x4.splat(bound);
  const lo = f32x4.splat(-bound);
  for (let wi = 0; wi < words; wi++) {
    let word: u32 = 0;
    const u1 = min(units, (wi + 1) << 5);
    let u = wi << 5;
    for (; u + 3 < u1; u += 4) {
      const o = <usize>u * 4;
      const d = f32x4.sub(f32x4.mul(v128.load(acc + o), v128.load(sign + o)), v128.load(thr + o));
      const one = i32x4.bitmask(f32x4.lt(d, lo));
      let rest = ~(one | i32x4.bitmask(f32x4.gt(d, hi))) & 15;
      word |= (<u32>one) << <u32>(u & 31);
      while (rest) {
        const p = open + (<usize>(opened++) << 3);
        store<i32>(p, u + ctz(rest));
        store<i32>(p, row, 4);
        rest &= rest - 1;
      }
    }
    for (; u < u1; u++) {
      const o = <usize>u * 4;
      const d = load<f32>(acc + o) * load<f32>(sign + o) - load<f32>(thr + o);
      if (d < -bound) word |= (<u32>1) << <u32>(u & 31);
      else if (!(d > bound)) {
        const p = open + (<usize>(opened++) << 3);
        store<i32>(p, u);
        store<i32>(p, row, 4);
      }
    }
    store<u32>(q + <usize>wi * 4, word);
  }
  return opened;
}

/**
 * The bits of a block's undecided units (`opened` pairs unit, row in `open`, then room for 4 floats)
 * from their sums in tfjs's order, four at a time as four independent chains (of any rows), into the
 * block's rows of bits q (rows of `words` words); x: the block's rows of k floats.
 */
function decideOpen(
  x: usize, k: i32, w: usize, units: i32, open: usize, opened: i32, sign: usize, thr: usize, special: usize,
  range: usize, q: usize, words: i32,
): void {
  const sums = open + (<usize>opened << 3);
  const rowBytes = <usize>k * 4;
  for (let i = 0; i < opened; i += 4) {
    // Up to four pairs; a short last group repeats its first pair.
    const n = min(4, opened - i);
    const p = open + (<usize>i << 3);
    const j1 = n > 1 ? 8 : 0, j2 = n > 2 ? 16 : 0, j3 = n > 3 ? 24 : 0;
    exactSums4(
      x + <usize>load<i32>(p, 4) * rowBytes, x + <usize>load<i32>(p + j1, 4) * rowBytes,
      x + <usize>load<i32>(p + j2, 4) * rowBytes, x + <usize>load<i32>(p + j3, 4) * rowBytes,
      k, w, load<i32>(p), load<i32>(p + j1), load<i32>(p + j2), load<i32>(p + j3), sums,
    );
    for (let j = 0; j < n; j++) {
      const u = load<i32>(p + (<usize>j << 3));
      const o = <usize>u * 4;
      const bit = ruleBit(
        load<f32>(sums + (<usize>j << 2)), load<f32>(sign + o), load<f32>(thr + o),
        load<u8>(special + <usize>u), load<f32>(range + o), load<f32>(range + o + <usize>units * 4),
      );
      const qw = q + (<usize>load<i32>(p + (<usize>j << 3), 4) * words + (u >> 5) << 2);
      store<u32>(qw, load<u32>(qw) | (bit << <u32>(u & 31)));
    }
  }
}

/**
 * The sums of units u0..u3 over rows x0..x3 (k floats each) in sgemm's order (x_t * (+-1) added in
 * order of t from +0) into out[0..3]: four independent chains, each sign flip branch-free (weight bit
 * set: x_t's sign bit flipped).
 */
function exactSums4(
  x0: usize, x1: usize, x2: usize, x3: usize, k: i32, w: usize, u0: i32, u1: i32, u2: i32, u3: i32, out: usize,
): void {
  const rowBytes = <usize>((k + 31) >> 5) * 4;
  const r0 = w + <usize>u0 * rowBytes;
  const r1 = w + <usize>u1 * rowBytes;
  const r2 = w + <usize>u2 * rowBytes;
  const r3 = w + <usize>u3 * rowBytes;
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  for (let t0 = 0; t0 < k; t0 += 32) {
    const o = <usize>(t0 >> 5) << 2;
    let w0 = load<u32>(r0 + o), w1 = load<u32>(r1 + o), w2 = load<u32>(r2 + o), w3 = load<u32>(r3 + o);
    const t1 = min(k, t0 + 32);
    for (let t = t0; t < t1; t++) {
      const e = <usize>t * 4;
      s0 += reinterpret<f32>(load<u32>(x0 + e) ^ (w0 << 31));
      s1 += reinterpret<f32>(load<u32>(x1 + e) ^ (w1 << 31));
      s2 += reinterpret<f32>(load<u32>(x2 + e) ^ (w2 << 31));
      s3 += reinterpret<f32>(load<u32>(x3 + e) ^ (w3 << 31));
      w0 >>= 1;
      w1 >>= 1;
      w2 >>= 1;
      w3 >>= 1;
    }
  }
  store<f32>(out, s0);
  store<f32>(out, s1, 4);
  store<f32>(out, s2, 8);
  store<f32>(out, s3, 12);
}

/** Groups of 8 inputs whose tables (4 KiB each) are built and read together: 32 KiB, an L1 data cache. */
const CHUNK = 4;

/**
 * For two blocks of up to 4 rows (A at a, B at a + 4 k floats; rowsB may be 0) with background values
 * cA, cB (a lane per row): acc*[u] (4 lanes: the block's rows) = (the sum over the `active` groups g
 * listed in `list`, in order from +0, of entry (byte g of weight row u) of group g's table) + c *
 * wsum[u], where entry idx of group g holds, in lane i, the sum over b < 8 of (bit b of idx ? -y : y),
 * y = x_i[8g + b] - c_i, added in order of b from +0 (rows past the block and inputs past k count as
 * 0). Both blocks share each weight byte and address (half the index work per row). The tables are
 * built CHUNK groups at a time (2 x 16 KiB), and the partial sums go through acc between chunks, which
 * keeps every table read in L1.
 */
function lutSums(
  a: usize, rowsA: i32, rowsB: i32, k: i32, wg: usize, units: i32, tables: usize, accA: usize,
  accB: usize, list: usize, active: i32, cA: v128, cB: v128, wsum: usize,
): void {
  const b = a + <usize>k * 16;
  const tablesB = tables + <usize>CHUNK * 4096;
  for (let j0 = 0; j0 < active; j0 += CHUNK) {
    const n = min(active, j0 + CHUNK) - j0;
    for (let j = 0; j < n; j++) {
      const g = load<i32>(list + (<usize>(j0 + j) << 2));
      buildTable(a, rowsA, k, g, tables + (<usize>j << 12), cA);
      // Without block B its tables are not built; its sums (read from whatever is there) are not used.
      if (rowsB > 0) buildTable(b, rowsB, k, g, tablesB + (<usize>j << 12), cB);
    }
    const first = j0 == 0;
    // A full chunk's groups: their rows of weight bytes (a short chunk takes the loop below).
    const g0 = wg + <usize>load<i32>(list + (<usize>j0 << 2)) * units;
    const g1 = n > 1 ? wg + <usize>load<i32>(list + (<usize>(j0 + 1) << 2)) * units : g0;
    const g2 = n > 2 ? wg + <usize>load<i32>(list + (<usize>(j0 + 2) << 2)) * units : g0;
    const g3 = n > 3 ? wg + <usize>load<i32>(list + (<usize>(j0 + 3) << 2)) * units : g0;
    let u = 0;
    if (n == CHUNK)
      // Two outputs of two blocks at a time: four independent chains of table loads.
      for (; u + 1 < units; u += 2) {
        const oA = accA + (<usize>u << 4);
        const oB = accB + (<usize>u << 4);
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
        if (!first) {
          a0 = v128.load(oA); a1 = v128.load(oA, 16); b0 = v128.load(oB); b1 = v128.load(oB, 16);
        }
        // The two units' bytes of each group, one 16-bit load.
        let v = <usize>load<u16>(g0 + <usize>u);
        let e0 = tables + ((v & 255) << 4);
        let e1 = tables + ((v >> 8) << 4);
        a0 = f32x4.add(a0, v128.load(e0)); b0 = f32x4.add(b0, v128.load(e0, CHUNK * 4096));
        a1 = f32x4.add(a1, v128.load(e1)); b1 = f32x4.add(b1, v128.load(e1, CHUNK * 4096));
        v = <usize>load<u16>(g1 + <usize>u);
        e0 = tables + 4096 + ((v & 255) << 4);
        e1 = tables + 4096 + ((v >> 8) << 4);
        a0 = f32x4.add(a0, v128.load(e0)); b0 = f32x4.add(b0, v128.load(e0, CHUNK * 4096));
        a1 = f32x4.add(a1, v128.load(e1)); b1 = f32x4.add(b1, v128.load(e1, CHUNK * 4096));
        v = <usize>load<u16>(g2 + <usize>u);
        e0 = tables + 8192 + ((v & 255) << 4);
        e1 = tables + 8192 + ((v >> 8) << 4);
        a0 = f32x4.add(a0, v128.load(e0)); b0 = f32x4.add(b0, v128.load(e0, CHUNK * 4096));
        a1 = f32x4.add(a1, v128.load(e1)); b1 = f32x4.add(b1, v128.load(e1, CHUNK * 4096));
        v = <usize>load<u16>(g3 + <usize>u);
        e0 = tables + 12288 + ((v & 255) << 4);
        e1 = tables + 12288 + ((v >> 8) << 4);
        a0 = f32x4.add(a0, v128.load(e0)); b0 = f32x4.add(b0, v128.load(e0, CHUNK * 4096));
        a1 = f32x4.add(a1, v128.load(e1)); b1 = f32x4.add(b1, v128.load(e1, CHUNK * 4096));
        v128.store(oA, a0); v128.store(oA, a1, 16); v128.store(oB, b0); v128.store(oB, b1, 16);
      }
    for (; u < units; u++) {
      const oA = accA + (<usize>u << 4);
      const oB = accB + (<usize>u << 4);
      let a0 = first ? f32x4.splat(0) : v128.load(oA);
      let b0 = first ? f32x4.splat(0) : v128.load(oB);
      for (let j = 0; j < n; j++) {
        const g = <usize>load<i32>(list + (<usize>(j0 + j) << 2));
        const e0 = tables + (<usize>j << 12) + (<usize>load<u8>(wg + g * units + <usize>u) << 4);
        a0 = f32x4.add(a0, v128.load(e0));
        b0 = f32x4.add(b0, v128.load(e0, CHUNK * 4096));
      }
      v128.store(oA, a0); v128.store(oB, b0);
    }
  }
  // The background's share c * wsum[u] (every sum is +0 where no group is active).
  for (let u = 0; u < units; u++) {
    const oA = accA + (<usize>u << 4);
    const oB = accB + (<usize>u << 4);
    const ws = f32x4.splat(load<f32>(wsum + (<usize>u << 2)));
    v128.store(oA, f32x4.add(active ? v128.load(oA) : f32x4.splat(0), f32x4.mul(cA, ws)));
    v128.store(oB, f32x4.add(active ? v128.load(oB) : f32x4.splat(0), f32x4.mul(cB, ws)));
  }
}

/**
 * Levels for a block of `rows` rows (2 to 8) of x: each row's x_t = mn + step q_t + e_t with integers
 * q_t in [0, 255] (mn: the row's minimum, mins[r]) and E = sum |e_t| at most an eighth of the row's
 * share of the bound (u sum (k - t) |x_t|), as 8-bit data gives (an image's pixels on any linear
 * scaling). The step tried first is (max - mn) / 255 (data that spans its 256 levels), then the last
 * step that fit a row (stepAt: data one level short of its range). Into the block state at b (see
 * denseSigns): levels [ceil(k / 8) * 8, 8] u16, lane r of input t: q_t of row r, written in the
 * groups listed (the caller zeroes the levels of every group read first, zeroLevels: lanes past the
 * rows and inputs past k stay 0; the groups not listed are all mn, q = 0); steps[r] (f32): the step;
 * fits[r], fits[8 + r] (f64): the row's sum of q_t and E. False when some row fits neither step, or
 * its sum |x_t| is not below 2^100.
 */
function quantizeRows(
  x: usize, rows: i32, k: i32, b: usize, groups: i32, units4: i32, active: i32, stepAt: usize,
): bool {
  const cs = blockCs(b, units4);
  const sums = cs + SUMS;
  const mins = cs + MINS;
  const steps = cs + STEPS;
  const fits = cs + FITS;
  const list = blockList(b, units4);
  const levels = blockLevels(b, groups, units4);
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * k * 4;
    const mn = load<f32>(mins + (<usize>r << 2));
    const sx = load<f64>(sums + (<usize>r << 4));
    if (!(sx < S_MAX)) return false;
    let hi4 = f32x4.splat(mn);
    let hi = mn;
    for (let j = 0; j < active; j++) {
      const e0 = load<i32>(list + (<usize>j << 2)) << 3;
      const p = row + (<usize>e0 << 2);
      if (e0 + 8 <= k) hi4 = f32x4.pmax(hi4, f32x4.pmax(v128.load(p), v128.load(p, 16)));
      else for (let t = e0; t < k; t++) hi = max(hi, load<f32>(row + <usize>t * 4));
    }
    hi = max(max(hi, max(f32x4.extract_lane(hi4, 0), f32x4.extract_lane(hi4, 1))), max(f32x4.extract_lane(hi4, 2), f32x4.extract_lane(hi4, 3)));
    let fit = false;
    for (let attempt = 0; attempt < 2 && !fit; attempt++) {
      const step: f32 = attempt == 0 ? (hi > mn ? (hi - mn) / 255 : 1) : load<f32>(stepAt);
      if (!(step > 0 && step < F32_INF)) continue;
      fit = fitLevels(row, k, r, list, active, mn, step, sx, UNIT * load<f64>(sums + (<usize>r << 3), 128) * 0.125, levels, fits);
      if (fit) {
        store<f32>(steps + (<usize>r << 2), step);
        store<f32>(stepAt, step);
      }
    }
    if (!fit) return false;
  }
  return true;
}

const F32_INF: f32 = Infinity;

/**
 * One row's levels q_t = clamp(round((x_t - mn) / step), 0, 255) in the listed groups (lane r of
 * levels), and E = sum |x_t - mn - step q_t| bounded from the float32 evaluation: each |e_t| there is
 * off by at most u (|x_t| + |mn| + step q_t + |e_t|), and their float32 sum S (4 lanes, then 3 adds)
 * is at least (1 - k u) times the sum, so E <= (1 + u) S / (1 - k u) + u (sum |x_t| + k |mn| + step
 * sum q_t) (u = 2^-24). True (and fits[r] = sum q_t, fits[8 + r] = that bound on E) when it is at most
 * `limit`.
 */
function fitLevels(
  row: usize, k: i32, r: i32, list: usize, active: i32, mn: f32, step: f32, sx: f64, limit: f64,
  levels: usize, fits: usize,
): bool {
  const inv: f32 = 1 / step;
  const mv = f32x4.splat(mn);
  const sv = f32x4.splat(step);
  const iv = f32x4.splat(inv);
  const top = f32x4.splat(255);
  const zero = f32x4.splat(0);
  let e4 = f32x4.splat(0);
  let q4 = i32x4.splat(0);
  let e: f32 = 0;
  let sq: i32 = 0;
  const lane = levels + (<usize>r << 1);
  for (let j = 0; j < active; j++) {
    const e0 = load<i32>(list + (<usize>j << 2)) << 3;
    if (e0 + 8 <= k) {
      const p = row + (<usize>e0 << 2);
      const y0 = f32x4.sub(v128.load(p), mv);
      const y1 = f32x4.sub(v128.load(p, 16), mv);
      // pmin / pmax: one instruction each on x86 (no NaN here: the row's sum |x_t| is finite).
      const f0 = f32x4.pmin(f32x4.pmax(f32x4.nearest(f32x4.mul(y0, iv)), zero), top);
      const f1 = f32x4.pmin(f32x4.pmax(f32x4.nearest(f32x4.mul(y1, iv)), zero), top);
      e4 = f32x4.add(e4, f32x4.add(f32x4.abs(f32x4.sub(y0, f32x4.mul(sv, f0))), f32x4.abs(f32x4.sub(y1, f32x4.mul(sv, f1)))));
      const q0 = i32x4.trunc_sat_f32x4_s(f0);
      const q1 = i32x4.trunc_sat_f32x4_s(f1);
      q4 = i32x4.add(q4, i32x4.add(q0, q1));
      const o = lane + (<usize>e0 << 4);
      store<u16>(o, <u16>i32x4.extract_lane(q0, 0));
      store<u16>(o, <u16>i32x4.extract_lane(q0, 1), 16);
      store<u16>(o, <u16>i32x4.extract_lane(q0, 2), 32);
      store<u16>(o, <u16>i32x4.extract_lane(q0, 3), 48);
      store<u16>(o, <u16>i32x4.extract_lane(q1, 0), 64);
      store<u16>(o, <u16>i32x4.extract_lane(q1, 1), 80);
      store<u16>(o, <u16>i32x4.extract_lane(q1, 2), 96);
      store<u16>(o, <u16>i32x4.extract_lane(q1, 3), 112);
    } else
      for (let t = e0; t < k; t++) {
        const y = load<f32>(row + <usize>t * 4) - mn;
        const q = min<f32>(max<f32>(nearest<f32>(y * inv), 0), 255);
        e += abs<f32>(y - step * q);
        sq += <i32>q;
        store<u16>(lane + (<usize>t << 4), <u16>q);
      }
  }
  e += f32x4.extract_lane(e4, 0) + f32x4.extract_lane(e4, 1) + (f32x4.extract_lane(e4, 2) + f32x4.extract_lane(e4, 3));
  sq += i32x4.extract_lane(q4, 0) + i32x4.extract_lane(q4, 1) + i32x4.extract_lane(q4, 2) + i32x4.extract_lane(q4, 3);
  const ku = <f64>k * UNIT;
  const bound = ku < 0.25
    ? (1 + UNIT) * <f64>e / (1 - ku) + UNIT * (sx + <f64>k * abs<f64>(<f64>mn) + <f64>step * <f64>sq)
    : Infinity;
  if (!(bound <= limit)) return false;
  store<f64>(fits + (<usize>r << 3), <f64>sq);
  store<f64>(fits + (<usize>r << 3), bound, 64);
  return true;
}

/** Groups of 8 inputs whose i16 tables (4 KiB each, 8 rows) levelSums builds and reads together. */
const LEVEL_CHUNK = 8;

/**
 * The integer sums S[u] (lane r: row r of the block) over the `active` groups listed of the levels'
 * table entries (entry idx of group g: the sum over b < 8 of (bit b of idx ? -q : q), q = the level of
 * input 8g + b), for the weight bytes wg: rows 0-3 into accA, rows 4-7 into accB ([units4, 4] i32
 * each). The i16 lanes hold a chunk's sums exactly (8 groups, |sum| <= 8 * 8 * 255) before they are
 * widened and added to acc.
 */
function levelSums(
  levels: usize, wg: usize, units: i32, tables: usize, accA: usize, accB: usize, list: usize, active: i32,
): void {
  if (active == 0) {
    memory.fill(accA, 0, <usize>((units + 3) & ~3) << 5);
    return;
  }
  for (let j0 = 0; j0 < active; j0 += LEVEL_CHUNK) {
    const n = min(active, j0 + LEVEL_CHUNK) - j0;
    for (let j = 0; j < n; j++)
      buildLevelTable(levels + (<usize>load<i32>(list + (<usize>(j0 + j) << 2)) << 7), tables + (<usize>j << 12));
    const first = j0 == 0;
    let u = 0;
    if (n == LEVEL_CHUNK) {
      const g0 = wg + <usize>load<i32>(list + (<usize>j0 << 2)) * units;
      const g1 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 4) * units;
      const g2 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 8) * units;
      const g3 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 12) * units;
      const g4 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 16) * units;
      const g5 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 20) * units;
      const g6 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 24) * units;
      const g7 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 28) * units;
      // Two outputs at a time: two independent chains of table loads, 8 rows per load.
      for (; u + 1 < units; u += 2) {
        let v = <usize>load<u16>(g0 + <usize>u);
        let p0 = v128.load(tables + ((v & 255) << 4));
        let p1 = v128.load(tables + ((v >> 8) << 4));
        v = <usize>load<u16>(g1 + <usize>u);
        p0 = i16x8.add(p0, v128.load(tables + ((v & 255) << 4), 4096));
        p1 = i16x8.add(p1, v128.load(tables + ((v >> 8) << 4), 4096));
        v = <usize>load<u16>(g2 + <usize>u);
        p0 = i16x8.add(p0, v128.load(tables + ((v & 255) << 4), 8192));
        p1 = i16x8.add(p1, v128.load(tables + ((v >> 8) << 4), 8192));
        v = <usize>load<u16>(g3 + <usize>u);
        p0 = i16x8.add(p0, v128.load(tables + ((v & 255) << 4), 12288));
        p1 = i16x8.add(p1, v128.load(tables + ((v >> 8) << 4), 12288));
        v = <usize>load<u16>(g4 + <usize>u);
        p0 = i16x8.add(p0, v128.load(tables + ((v & 255) << 4), 16384));
        p1 = i16x8.add(p1, v128.load(tables + ((v >> 8) << 4), 16384));
        v = <usize>load<u16>(g5 + <usize>u);
        p0 = i16x8.add(p0, v128.load(tables + ((v & 255) << 4), 20480));
        p1 = i16x8.add(p1, v128.load(tables + ((v >> 8) << 4), 20480));
        v = <usize>load<u16>(g6 + <usize>u);
        p0 = i16x8.add(p0, v128.load(tables + ((v & 255) << 4), 24576));
        p1 = i16x8.add(p1, v128.load(tables + ((v >> 8) << 4), 24576));
        v = <usize>load<u16>(g7 + <usize>u);
        p0 = i16x8.add(p0, v128.load(tables + ((v & 255) << 4), 28672));
        p1 = i16x8.add(p1, v128.load(tables + ((v >> 8) << 4), 28672));
        widenInto(accA, accB, u, p0, first);
        widenInto(accA, accB, u + 1, p1, first);
      }
    }
    for (; u < units; u++) {
      let p = i32x4.splat(0);
      for (let j = 0; j < n; j++) {
        const g = <usize>load<i32>(list + (<usize>(j0 + j) << 2));
        p = i16x8.add(p, v128.load(tables + (<usize>j << 12) + (<usize>load<u8>(wg + g * units + <usize>u) << 4)));
      }
      widenInto(accA, accB, u, p, first);
    }
  }
}

/**
 * levelSums for two blocks at once (levels levA, levB; rows 0-3 and 4-7 of A into accA0, accA1, of B
 * into accB0, accB1): each weight byte and table address serves 16 rows. CHUNK groups per pass (two
 * 4 KiB tables each, 32 KiB); the i16 partial sums go through acc16 ([units, 2, 8] i16) between passes
 * and are widened into the i32 sums every 16 groups (|sum| <= 16 * 8 * 255 < 2^15).
 */
function levelPairSums(
  levA: usize, levB: usize, wg: usize, units: i32, tables: usize, accA0: usize, accA1: usize,
  accB0: usize, accB1: usize, acc16: usize, list: usize, active: i32,
): void {
  const units4 = (units + 3) & ~3;
  if (active == 0) {
    memory.fill(accA0, 0, <usize>units4 << 5);
    memory.fill(accB0, 0, <usize>units4 << 5);
    return;
  }
  let pending = 0;
  let firstWide = true;
  for (let j0 = 0; j0 < active; j0 += CHUNK) {
    const n = min(active, j0 + CHUNK) - j0;
    for (let j = 0; j < n; j++) {
      const g = <usize>load<i32>(list + (<usize>(j0 + j) << 2)) << 7;
      buildLevelTable(levA + g, tables + (<usize>j << 13));
      buildLevelTable(levB + g, tables + (<usize>j << 13) + 4096);
    }
    const first = pending == 0;
    let u = 0;
    if (n == CHUNK) {
      const g0 = wg + <usize>load<i32>(list + (<usize>j0 << 2)) * units;
      const g1 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 4) * units;
      const g2 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 8) * units;
      const g3 = wg + <usize>load<i32>(list + (<usize>j0 << 2), 12) * units;
      // Two outputs of both blocks at a time: four independent chains of table loads.
      for (; u + 1 < units; u += 2) {
        let v = <usize>load<u16>(g0 + <usize>u);
        let e0 = tables + ((v & 255) << 4);
        let e1 = tables + ((v >> 8) << 4);
        let a0 = v128.load(e0), b0 = v128.load(e0, 4096), a1 = v128.load(e1), b1 = v128.load(e1, 4096);
        v = <usize>load<u16>(g1 + <usize>u);
        e0 = tables + ((v & 255) << 4);
        e1 = tables + ((v >> 8) << 4);
        a0 = i16x8.add(a0, v128.load(e0, 8192)); b0 = i16x8.add(b0, v128.load(e0, 12288));
        a1 = i16x8.add(a1, v128.load(e1, 8192)); b1 = i16x8.add(b1, v128.load(e1, 12288));
        v = <usize>load<u16>(g2 + <usize>u);
        e0 = tables + ((v & 255) << 4);
        e1 = tables + ((v >> 8) << 4);
        a0 = i16x8.add(a0, v128.load(e0, 16384)); b0 = i16x8.add(b0, v128.load(e0, 20480));
        a1 = i16x8.add(a1, v128.load(e1, 16384)); b1 = i16x8.add(b1, v128.load(e1, 20480));
        v = <usize>load<u16>(g3 + <usize>u);
        e0 = tables + ((v & 255) << 4);
        e1 = tables + ((v >> 8) << 4);
        a0 = i16x8.add(a0, v128.load(e0, 24576)); b0 = i16x8.add(b0, v128.load(e0, 28672));
        a1 = i16x8.add(a1, v128.load(e1, 24576)); b1 = i16x8.add(b1, v128.load(e1, 28672));
        const o = acc16 + (<usize>u << 5);
        if (!first) {
          a0 = i16x8.add(a0, v128.load(o)); b0 = i16x8.add(b0, v128.load(o, 16));
          a1 = i16x8.add(a1, v128.load(o, 32)); b1 = i16x8.add(b1, v128.load(o, 48));
        }
        v128.store(o, a0); v128.store(o, b0, 16); v128.store(o, a1, 32); v128.store(o, b1, 48);
      }
    }
    for (; u < units; u++) {
      const o = acc16 + (<usize>u << 5);
      let pa = first ? i32x4.splat(0) : v128.load(o);
      let pb = first ? i32x4.splat(0) : v128.load(o, 16);
      for (let j = 0; j < n; j++) {
        const g = <usize>load<i32>(list + (<usize>(j0 + j) << 2));
        const e = tables + (<usize>j << 13) + (<usize>load<u8>(wg + g * units + <usize>u) << 4);
        pa = i16x8.add(pa, v128.load(e));
        pb = i16x8.add(pb, v128.load(e, 4096));
      }
      v128.store(o, pa);
      v128.store(o, pb, 16);
    }
    pending += n;
    if (pending + CHUNK > 16 || j0 + CHUNK >= active) {
      for (let v = 0; v < units; v++) {
        const o = acc16 + (<usize>v << 5);
        widenInto(accA0, accA1, v, v128.load(o), firstWide);
        widenInto(accB0, accB1, v, v128.load(o, 16), firstWide);
      }
      pending = 0;
      firstWide = false;
    }
  }
}

/** Unit u's 8 lanes of i16 sums p, widened: rows 0-3 into accA[u], rows 4-7 into accB[u] (added unless first). */
@inline function widenInto(accA: usize, accB: usize, u: i32, p: v128, first: bool): void {
  const oA = accA + (<usize>u << 4);
  const oB = accB + (<usize>u << 4);
  const lo = i32x4.extend_low_i16x8_s(p);
  const hi = i32x4.extend_high_i16x8_s(p);
  v128.store(oA, first ? lo : i32x4.add(v128.load(oA), lo));
  v128.store(oB, first ? hi : i32x4.add(v128.load(oB), hi));
}

/** A group's i16 table (see levelSums) from its levels q (8 inputs x 8 rows, u16) at t0: 256 entries of 8 lanes. */
function buildLevelTable(q: usize, t0: usize): void {
  v128.store(t0, i32x4.splat(0));
  for (let b = 0; b < 8; b++) {
    const x = v128.load(q + (<usize>b << 4));
    const size = <usize>1 << b;
    for (let t: usize = 0; t < size; t++) {
      const p = t0 + (t << 4);
      const v = v128.load(p);
      v128.store(p + (size << 4), i16x8.sub(v, x));
      v128.store(p, i16x8.add(v, x));
    }
  }
}

/** A row's sums S[u] (i32, in place) to the floats f32(f32(mn wsum[u]) + f32(step f32(S[u]))). */
function levelFloats(acc: usize, units: i32, mn: f32, step: f32, wsum: usize): void {
  const mv = f32x4.splat(mn);
  const sv = f32x4.splat(step);
  let u = 0;
  for (; u + 3 < units; u += 4) {
    const p = acc + (<usize>u << 2);
    const ws = v128.load(wsum + (<usize>u << 2));
    v128.store(p, f32x4.add(f32x4.mul(mv, ws), f32x4.mul(sv, f32x4.convert_i32x4_s(v128.load(p)))));
  }
  for (; u < units; u++) {
    const p = acc + (<usize>u << 2);
    store<f32>(p, mn * load<f32>(wsum + (<usize>u << 2)) + step * <f32>load<i32>(p));
  }
}

/** Group g's table of a block of rows (see lutSums) at t0: 256 entries of 4 lanes, shifted by c. */
function buildTable(a: usize, rows: i32, k: i32, g: i32, t0: usize, c: v128): void {
  v128.store(t0, f32x4.splat(0));
  for (let b = 0; b < 8; b++) {
    const e = (g << 3) + b;
    let x = f32x4.splat(0);
    if (e < k) {
      const p = a + <usize>e * 4;
      const rk = <usize>k * 4;
      x = f32x4.replace_lane(x, 0, load<f32>(p));
      if (rows > 1) x = f32x4.replace_lane(x, 1, load<f32>(p + rk));
      if (rows > 2) x = f32x4.replace_lane(x, 2, load<f32>(p + 2 * rk));
      if (rows > 3) x = f32x4.replace_lane(x, 3, load<f32>(p + 3 * rk));
      // Lanes past `rows` have c = 0: they stay 0.
      x = f32x4.sub(x, c);
    }
    const size = <usize>1 << b;
    for (let t: usize = 0; t < size; t++) {
      const p = t0 + (t << 4);
      const v = v128.load(p);
      v128.store(p + (size << 4), f32x4.sub(v, x));
      v128.store(p, f32x4.add(v, x));
    }
  }
}

/**
 * lutSums for a block of one row (batch 1), in lane 0 of acc[u]: the same sums, with tables of one
 * float per entry (1 KiB per group, 8 CHUNK groups at a time) built 4 entries per vector operation.
 */
function lutSumsRow(
  a: usize, k: i32, wg: usize, units: i32, tables: usize, acc: usize, list: usize, active: i32,
  c: f32, wsum: usize,
): void {
  const chunk = 8 * CHUNK;
  for (let j0 = 0; j0 < active; j0 += chunk) {
    const j1 = min(active, j0 + chunk);
    for (let j = j0; j < j1; j++) {
      const g = load<i32>(list + (<usize>j << 2));
      const t0 = tables + (<usize>(j - j0) << 10);
      store<f32>(t0, 0);
      for (let b = 0; b < 8; b++) {
        const e = (g << 3) + b;
        const x: f32 = e < k ? load<f32>(a + <usize>e * 4) - c : 0;
        const size = <usize>1 << b;
        if (size >= 4) {
          const vx = f32x4.splat(x);
          for (let t: usize = 0; t < size; t += 4) {
            const p = t0 + (t << 2);
            const v = v128.load(p);
            v128.store(p + (size << 2), f32x4.sub(v, vx));
            v128.store(p, f32x4.add(v, vx));
          }
        } else
          for (let t: usize = 0; t < size; t++) {
            const p = t0 + (t << 2);
            const v = load<f32>(p);
            store<f32>(p + (size << 2), v - x);
            store<f32>(p, v + x);
          }
      }
    }
    const first = j0 == 0;
    let u = 0;
    // Four outputs at a time: independent chains of table loads.
    for (; u + 3 < units; u += 4) {
      const o = acc + (<usize>u << 4);
      let s0: f32 = first ? 0 : load<f32>(o);
      let s1: f32 = first ? 0 : load<f32>(o, 16);
      let s2: f32 = first ? 0 : load<f32>(o, 32);
      let s3: f32 = first ? 0 : load<f32>(o, 48);
      for (let j = j0; j < j1; j++) {
        // The four units' bytes of the group, one 32-bit load.
        const v = <usize>load<u32>(wg + <usize>load<i32>(list + (<usize>j << 2)) * units + <usize>u);
        const tg = tables + (<usize>(j - j0) << 10);
        s0 += load<f32>(tg + ((v & 255) << 2));
        s1 += load<f32>(tg + (((v >> 8) & 255) << 2));
        s2 += load<f32>(tg + (((v >> 16) & 255) << 2));
        s3 += load<f32>(tg + ((v >> 24) << 2));
      }
      store<f32>(o, s0);
      store<f32>(o, s1, 16);
      store<f32>(o, s2, 32);
      store<f32>(o, s3, 48);
    }
    for (; u < units; u++) {
      const o = acc + (<usize>u << 4);
      let s0: f32 = first ? 0 : load<f32>(o);
      for (let j = j0; j < j1; j++) {
        const g = <usize>load<i32>(list + (<usize>j << 2));
        s0 += load<f32>(tables + (<usize>(j - j0) << 10) + (<usize>load<u8>(wg + g * units + <usize>u) << 2));
      }
      store<f32>(o, s0);
    }
  }
  // The background's share c * wsum[u] (every sum is +0 where no group is active).
  for (let u = 0; u < units; u++) {
    const o = acc + (<usize>u << 4);
    store<f32>(o, (active ? load<f32>(o) : 0) + c * load<f32>(wsum + (<usize>u << 2)));
  }
}

// Elementwise training kernels for tfjs-backend-wasm, compiled to a small WebAssembly module that
// imports tfjs-backend-wasm's own memory, so they run on tensors in place (pointers are byte offsets
// into that memory). SIMD (f32x4) main loops with scalar tails. No static data and no allocation:
// the module must never write outside the buffers it is given. Built by scripts/build-heap-kernels.mjs
// (npm run build:heap-kernels).

/** Sign as TensorFlow and tfjs-backend-cpu give it: +1 for x > 0, -1 for x < 0, 0 for +-0 and NaN. */
export function signF32(x: usize, out: usize, n: i32): void {
  const one = f32x4.splat(1.0);
  const zero = f32x4.splat(0.0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + ((<usize>i) << 2));
    const pos = v128.and(f32x4.gt(v, zero), one);
    const neg = v128.and(f32x4.lt(v, zero), one);
    v128.store(out + ((<usize>i) << 2), f32x4.sub(pos, neg));
  }
  for (; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    store<f32>(out + ((<usize>i) << 2), v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0);
  }
}

/** out = dy where |x| <= clip (float32 compare), else +0; NaN in x passes nothing. */
export function clippedGradF32(x: usize, dy: usize, out: usize, n: i32, clip: f32): void {
  const c = f32x4.splat(clip);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    const mask = f32x4.le(f32x4.abs(v128.load(x + o)), c);
    v128.store(out + o, v128.and(v128.load(dy + o), mask));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, Mathf.abs(load<f32>(x + o)) <= clip ? load<f32>(dy + o) : 0.0);
  }
}

/**
 * One Adam step, every operation rounded to float32 in tfjs-core's order:
 * m' = m*b1 + g*c1; v' = v*b2 + (g*g)*c2; w' = ((m'/d1) / (sqrt(v'/d2) + eps)) * nlr + w.
 */
export function adamF32(
  w: usize,
  m: usize,
  v: usize,
  g: usize,
  w2: usize,
  m2: usize,
  v2: usize,
  n: i32,
  b1: f32,
  c1: f32,
  b2: f32,
  c2: f32,
  d1: f32,
  d2: f32,
  eps: f32,
  nlr: f32,
): void {
  const B1 = f32x4.splat(b1);
  const C1 = f32x4.splat(c1);
  const B2 = f32x4.splat(b2);
  const C2 = f32x4.splat(c2);
  const D1 = f32x4.splat(d1);
  const D2 = f32x4.splat(d2);
  const E = f32x4.splat(eps);
  const L = f32x4.splat(nlr);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), B1), f32x4.mul(gi, C1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), B2), f32x4.mul(f32x4.mul(gi, gi), C2));
    const den = f32x4.add(f32x4.sqrt(f32x4.div(vi, D2)), E);
    const upd = f32x4.mul(f32x4.div(f32x4.div(mi, D1), den), L);
    v128.store(w2 + o, f32x4.add(upd, v128.load(w + o)));
    v128.store(m2 + o, mi);
    v128.store(v2 + o, vi);
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    const gi = load<f32>(g + o);
    const mi: f32 = load<f32>(m + o) * b1 + gi * c1;
    const vi: f32 = load<f32>(v + o) * b2 + gi * gi * c2;
    const den: f32 = Mathf.sqrt(vi / d2) + eps;
    store<f32>(w2 + o, (mi / d1 / den) * nlr + load<f32>(w + o));
    store<f32>(m2 + o, mi);
    store<f32>(v2 + o, vi);
  }
}

/**
 * MaxPoolGrad of a 2x2 pool with stride 2 and no padding, NHWC: for every output (b, r, q, k) the
 * gradient dy goes to the first of the window's four positions (row-major) holding its largest value;
 * NaN never wins and a window with no value above -Infinity passes nothing. dx must be zero-filled.
 */
export function maxPoolGrad2x2F32(
  x: usize,
  dy: usize,
  dx: usize,
  nb: i32,
  h: i32,
  w: i32,
  c: i32,
  oh: i32,
  ow: i32,
): void {
  const ninf = f32x4.splat(-Infinity);
  const row = (<usize>(w * c)) << 2;
  const cb = (<usize>c) << 2;
  let o: usize = dy;
  for (let b = 0; b < nb; b++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        const p0 = (<usize>(((b * h + 2 * r) * w + 2 * q) * c)) << 2;
        const p1 = p0 + cb;
        const p2 = p0 + row;
        const p3 = p2 + cb;
        let k = 0;
        for (; k + 4 <= c; k += 4) {
          const kk = (<usize>k) << 2;
          const v0 = v128.load(x + p0 + kk);
          const v1 = v128.load(x + p1 + kk);
          const v2 = v128.load(x + p2 + kk);
          const v3 = v128.load(x + p3 + kk);
          const g0 = f32x4.gt(v0, ninf);
          let best = v128.bitselect(v0, ninf, g0);
          const g1 = f32x4.gt(v1, best);
          best = v128.bitselect(v1, best, g1);
          const g2 = f32x4.gt(v2, best);
          best = v128.bitselect(v2, best, g2);
          const g3 = f32x4.gt(v3, best);
          const d = v128.load(o + kk);
          // The last position that improved the maximum wins.
          const w2 = v128.andnot(g2, g3);
          const w1 = v128.andnot(v128.andnot(g1, g2), g3);
          const w0 = v128.andnot(v128.andnot(v128.andnot(g0, g1), g2), g3);
          v128.store(dx + p0 + kk, v128.and(d, w0));
          v128.store(dx + p1 + kk, v128.and(d, w1));
          v128.store(dx + p2 + kk, v128.and(d, w2));
          v128.store(dx + p3 + kk, v128.and(d, g3));
        }
        for (; k < c; k++) {
          const kk = (<usize>k) << 2;
          let best: f32 = -Infinity;
          let at: usize = 0;
          let found = false;
          const v0 = load<f32>(x + p0 + kk);
          if (v0 > best) {
            best = v0;
            at = p0;
            found = true;
          }
          const v1 = load<f32>(x + p1 + kk);
          if (v1 > best) {
            best = v1;
            at = p1;
            found = true;
          }
          const v2 = load<f32>(x + p2 + kk);
          if (v2 > best) {
            best = v2;
            at = p2;
            found = true;
          }
          const v3 = load<f32>(x + p3 + kk);
          if (v3 > best) {
            at = p3;
            found = true;
          }
          if (found) store<f32>(dx + at + kk, load<f32>(o + kk));
        }
        o += cb;
      }
    }
  }
}

/**
 * Conv2DBackpropFilter for one input channel (a network's first layer), NHWC, dilation 1:
 * dw[i, j, 0, o] += sum over (b, oy, ox) of x[b, oy*sh + i - top, ox*sw + j - left] * dy[b, oy, ox, o],
 * taps in the padding skipped. Vectorized over o; dw ([fh, fw, 1, co]) must be zero-filled.
 */
export function convFilterGradCi1F32(
  x: usize,
  dy: usize,
  dw: usize,
  nb: i32,
  h: i32,
  w: i32,
  oh: i32,
  ow: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  top: i32,
  left: i32,
  co: i32,
): void {
  const cb = (<usize>co) << 2;
  const co32 = co & ~31;
  for (let b = 0; b < nb; b++) {
    const xb = x + ((<usize>(b * h * w)) << 2);
    for (let oy = 0; oy < oh; oy++) {
      const drow = dy + (<usize>((b * oh + oy) * ow)) * cb;
      for (let i = 0; i < fh; i++) {
        const y = oy * sh + i - top;
        if (y < 0 || y >= h) continue;
        const xr = xb + ((<usize>(y * w)) << 2);
        for (let j = 0; j < fw; j++) {
          const acc = dw + <usize>(i * fw + j) * cb;
          // 32 output channels at a time in eight accumulators kept across the output row.
          for (let o = 0; o < co32; o += 32) {
            const ao = acc + ((<usize>o) << 2);
            let a0 = v128.load(ao);
            let a1 = v128.load(ao + 16);
            let a2 = v128.load(ao + 32);
            let a3 = v128.load(ao + 48);
            let a4 = v128.load(ao + 64);
            let a5 = v128.load(ao + 80);
            let a6 = v128.load(ao + 96);
            let a7 = v128.load(ao + 112);
            let d = drow + ((<usize>o) << 2);
            for (let ox = 0; ox < ow; ox++) {
              const xx = ox * sw + j - left;
              if (xx >= 0 && xx < w) {
                const sv = f32x4.splat(load<f32>(xr + ((<usize>xx) << 2)));
                a0 = f32x4.add(a0, f32x4.mul(sv, v128.load(d)));
                a1 = f32x4.add(a1, f32x4.mul(sv, v128.load(d + 16)));
                a2 = f32x4.add(a2, f32x4.mul(sv, v128.load(d + 32)));
                a3 = f32x4.add(a3, f32x4.mul(sv, v128.load(d + 48)));
                a4 = f32x4.add(a4, f32x4.mul(sv, v128.load(d + 64)));
                a5 = f32x4.add(a5, f32x4.mul(sv, v128.load(d + 80)));
                a6 = f32x4.add(a6, f32x4.mul(sv, v128.load(d + 96)));
                a7 = f32x4.add(a7, f32x4.mul(sv, v128.load(d + 112)));
              }
              d += cb;
            }
            v128.store(ao, a0);
            v128.store(ao + 16, a1);
            v128.store(ao + 32, a2);
            v128.store(ao + 48, a3);
            v128.store(ao + 64, a4);
            v128.store(ao + 80, a5);
            v128.store(ao + 96, a6);
            v128.store(ao + 112, a7);
          }
          if (co32 == co) continue;
          let d = drow;
          for (let ox = 0; ox < ow; ox++) {
            const xx = ox * sw + j - left;
            if (xx >= 0 && xx < w) {
              const s = load<f32>(xr + ((<usize>xx) << 2));
              const sv = f32x4.splat(s);
              let k = co32;
              for (; k + 4 <= co; k += 4) {
                const kk = (<usize>k) << 2;
                v128.store(acc + kk, f32x4.add(v128.load(acc + kk), f32x4.mul(sv, v128.load(d + kk))));
              }
              for (; k < co; k++) {
                const kk = (<usize>k) << 2;
                store<f32>(acc + kk, load<f32>(acc + kk) + s * load<f32>(d + kk));
              }
            }
            d += cb;
          }
        }
      }
    }
  }
}

/**
 * Conv2DBackpropInput for one input channel, NHWC, dilation 1: dx[b, y, x, 0] += sum over o of
 * dy[b, oy, ox, o] * w[i, j, 0, o] for every (oy, ox, i, j) with y = oy*sh + i - top, x = ox*sw + j - left
 * inside the input. Vectorized over o; dx must be zero-filled.
 */
export function convInputGradCi1F32(
  dy: usize,
  wt: usize,
  dx: usize,
  nb: i32,
  h: i32,
  w: i32,
  oh: i32,
  ow: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  top: i32,
  left: i32,
  co: i32,
): void {
  const cb = (<usize>co) << 2;
  const taps = fh * fw;
  let d: usize = dy;
  for (let b = 0; b < nb; b++) {
    const xb = dx + ((<usize>(b * h * w)) << 2);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        // Four taps at a time: four dot products over o, reduced together by one 4x4 transpose-add.
        let t = 0;
        for (; t + 4 <= taps; t += 4) {
          const f0 = wt + <usize>t * cb;
          const f1 = f0 + cb;
          const f2 = f1 + cb;
          const f3 = f2 + cb;
          let a0 = f32x4.splat(0);
          let a1 = f32x4.splat(0);
          let a2 = f32x4.splat(0);
          let a3 = f32x4.splat(0);
          let k = 0;
          for (; k + 4 <= co; k += 4) {
            const kk = (<usize>k) << 2;
            const dv = v128.load(d + kk);
            a0 = f32x4.add(a0, f32x4.mul(dv, v128.load(f0 + kk)));
            a1 = f32x4.add(a1, f32x4.mul(dv, v128.load(f1 + kk)));
            a2 = f32x4.add(a2, f32x4.mul(dv, v128.load(f2 + kk)));
            a3 = f32x4.add(a3, f32x4.mul(dv, v128.load(f3 + kk)));
          }
          const s01 = f32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
          const s23 = f32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
          let r = f32x4.add(i32x4.shuffle(s01, s23, 0, 1, 4, 5), i32x4.shuffle(s01, s23, 2, 3, 6, 7));
          for (; k < co; k++) {
            const kk = (<usize>k) << 2;
            const dk = f32x4.splat(load<f32>(d + kk));
            let fv = f32x4.replace_lane(f32x4.splat(load<f32>(f0 + kk)), 1, load<f32>(f1 + kk));
            fv = f32x4.replace_lane(fv, 2, load<f32>(f2 + kk));
            fv = f32x4.replace_lane(fv, 3, load<f32>(f3 + kk));
            r = f32x4.add(r, f32x4.mul(dk, fv));
          }
          for (let m = 0; m < 4; m++) {
            const tm = t + m;
            const y = oy * sh + tm / fw - top;
            const xx = ox * sw + (tm % fw) - left;
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            const v: f32 =
              m == 0
                ? f32x4.extract_lane(r, 0)
                : m == 1
                  ? f32x4.extract_lane(r, 1)
                  : m == 2
                    ? f32x4.extract_lane(r, 2)
                    : f32x4.extract_lane(r, 3);
            const p = xb + ((<usize>(y * w + xx)) << 2);
            store<f32>(p, load<f32>(p) + v);
          }
        }
        for (; t < taps; t++) {
          const y = oy * sh + t / fw - top;
          const xx = ox * sw + (t % fw) - left;
          if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
          const f = wt + <usize>t * cb;
          let acc = f32x4.splat(0);
          let k = 0;
          for (; k + 4 <= co; k += 4) {
            const kk = (<usize>k) << 2;
            acc = f32x4.add(acc, f32x4.mul(v128.load(d + kk), v128.load(f + kk)));
          }
          let s: f32 =
            f32x4.extract_lane(acc, 0) +
            f32x4.extract_lane(acc, 1) +
            (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
          for (; k < co; k++) {
            const kk = (<usize>k) << 2;
            s += load<f32>(d + kk) * load<f32>(f + kk);
          }
          const p = xb + ((<usize>(y * w + xx)) << 2);
          store<f32>(p, load<f32>(p) + s);
        }
        d += cb;
      }
    }
  }
}

/**
 * Sum over the rows of x viewed as [lead, inner]: out[c] = sum over n of x[n*inner + c], accumulated in
 * float64 (two f64x2 lanes per four columns) and rounded to float32 once; with mean != 0,
 * out[c] = f32(sum) / lead.
 */
export function sumRowsF32(x: usize, out: usize, lead: i32, inner: i32, mean: i32): void {
  const stride = (<usize>inner) << 2;
  const inv: f32 = <f32>lead;
  let c = 0;
  for (; c + 4 <= inner; c += 4) {
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    let p = x + ((<usize>c) << 2);
    for (let n = 0; n < lead; n++) {
      const v = v128.load(p);
      lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
      hi = f64x2.add(hi, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
      p += stride;
    }
    let s = f32x4.replace_lane(f32x4.splat(0), 0, <f32>f64x2.extract_lane(lo, 0));
    s = f32x4.replace_lane(s, 1, <f32>f64x2.extract_lane(lo, 1));
    s = f32x4.replace_lane(s, 2, <f32>f64x2.extract_lane(hi, 0));
    s = f32x4.replace_lane(s, 3, <f32>f64x2.extract_lane(hi, 1));
    if (mean) s = f32x4.div(s, f32x4.splat(inv));
    v128.store(out + ((<usize>c) << 2), s);
  }
  for (; c < inner; c++) {
    let acc: f64 = 0;
    let p = x + ((<usize>c) << 2);
    for (let n = 0; n < lead; n++) {
      acc += <f64>load<f32>(p);
      p += stride;
    }
    const s: f32 = <f32>acc;
    store<f32>(out + ((<usize>c) << 2), mean ? s / inv : s);
  }
}

/**
 * col2im, NHWC: for every output position (b, oy, ox) and filter tap (i, j), adds the patch row's
 * channels P[(b, oy, ox), (i, j, :)] into dx[b, oy*sh + i*dh - top, ox*sw + j*dw - left, :]; taps in the
 * padding are dropped. dx must be zero-filled.
 */
export function col2imF32(
  p: usize,
  dx: usize,
  nb: i32,
  h: i32,
  w: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  top: i32,
  left: i32,
): void {
  const cb = (<usize>ci) << 2;
  let row: usize = p;
  for (let b = 0; b < nb; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let i = 0; i < fh; i++) {
          const r = oy * sh + i * dh - top;
          if (r < 0 || r >= h) continue;
          for (let j = 0; j < fw; j++) {
            const q = ox * sw + j * dw - left;
            if (q < 0 || q >= w) continue;
            const d = dx + <usize>((b * h + r) * w + q) * cb;
            const s = row + <usize>(i * fw + j) * cb;
            let c = 0;
            for (; c + 4 <= ci; c += 4) {
              const cc = (<usize>c) << 2;
              v128.store(d + cc, f32x4.add(v128.load(d + cc), v128.load(s + cc)));
            }
            for (; c < ci; c++) {
              const cc = (<usize>c) << 2;
              store<f32>(d + cc, load<f32>(d + cc) + load<f32>(s + cc));
            }
          }
        }
        row += <usize>(fh * fw) * cb;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Kernels for convolutions with an operand that is exactly +1 or -1 (a binarized input or kernel).
// Bit convention: a set bit is -1, a clear bit +1; padding reads as a clear bit (+1) and is
// corrected for explicitly, so that padded taps contribute 0 as in tfjs.

/**
 * Checks that every element of x, viewed as [rows, c], is exactly +1 or -1 and packs its sign bits:
 * bits[r*wpr + (c >> 5)] bit (c & 31) = 1 where x[r, c] = -1 (unused high bits of the last word 0).
 * Returns 1 when every element is +-1, else 0 (stopping at the first row holding another value; the
 * words written so far are then meaningless).
 */
export function packSignsF32(x: usize, bits: usize, rows: i32, c: i32, wpr: i32): i32 {
  const one = f32x4.splat(1.0);
  const mone = f32x4.splat(-1.0);
  let src = x;
  let dst = bits;
  for (let r = 0; r < rows; r++) {
    let bad = i32x4.splat(0);
    let ok = true;
    for (let wi = 0; wi < wpr; wi++) {
      const base = wi << 5;
      const end = min(c, base + 32);
      let word: u32 = 0;
      let k = base;
      for (; k + 4 <= end; k += 4) {
        const v = v128.load(src);
        bad = v128.or(bad, v128.not(v128.or(f32x4.eq(v, one), f32x4.eq(v, mone))));
        word |= (<u32>i32x4.bitmask(v)) << (<u32>(k - base));
        src += 16;
      }
      for (; k < end; k++) {
        const v = load<f32>(src);
        if (v != 1.0 && v != -1.0) ok = false;
        if (v < 0) word |= (<u32>1) << (<u32>(k - base));
        src += 4;
      }
      store<u32>(dst, word);
      dst += 4;
    }
    if (!ok || v128.any_true(bad)) return 0;
  }
  return 1;
}

/**
 * Checks and packs a kernel w viewed as [taps, c, co] column-wise for the forward kernel:
 * out[(t*wpr + (k >> 5)) * co4 + o] bit (k & 31) = 1 where w[t, k, o] = -1, co4 = co rounded up to 4
 * (the padding columns' words 0). Returns 1 when every element is +-1, else 0.
 */
export function packSignsColsF32(w: usize, out: usize, taps: i32, c: i32, co: i32, wpr: i32, co4: i32): i32 {
  const one = f32x4.splat(1.0);
  const mone = f32x4.splat(-1.0);
  const cob = (<usize>co) << 2;
  let bad = i32x4.splat(0);
  let ok = true;
  for (let t = 0; t < taps; t++) {
    for (let wi = 0; wi < wpr; wi++) {
      const base = wi << 5;
      const end = min(c, base + 32);
      const dst = out + ((<usize>((t * wpr + wi) * co4)) << 2);
      let o = 0;
      for (; o + 4 <= co; o += 4) {
        let acc = i32x4.splat(0);
        let src = w + (<usize>(t * c + base)) * cob + ((<usize>o) << 2);
        for (let k = base; k < end; k++) {
          const v = v128.load(src);
          bad = v128.or(bad, v128.not(v128.or(f32x4.eq(v, one), f32x4.eq(v, mone))));
          acc = v128.or(acc, i32x4.shl(i32x4.shr_u(v, 31), k - base));
          src += cob;
        }
        v128.store(dst + ((<usize>o) << 2), acc);
        if (v128.any_true(bad)) return 0; // a float kernel: stop at its first columns
      }
      for (; o < co4; o++) {
        let word: u32 = 0;
        if (o < co) {
          let src = w + (<usize>(t * c + base)) * cob + ((<usize>o) << 2);
          for (let k = base; k < end; k++) {
            const v = load<f32>(src);
            if (v != 1.0 && v != -1.0) ok = false;
            if (v < 0) word |= (<u32>1) << (<u32>(k - base));
            src += cob;
          }
        }
        store<u32>(dst + ((<usize>o) << 2), word);
      }
    }
  }
  return ok && !v128.any_true(bad) ? 1 : 0;
}

/**
 * Forward convolution of a +-1 input and a +-1 kernel, NHWC, exact: with both packed (x by
 * packSignsF32 as [B, H, W, wpr] words, w by packSignsColsF32 as [taps*wpr, co4] words),
 * out[b, oy, ox, o] = sum over taps and channels of x*w = K - 2 * popcount(xbits XOR wbits) over the
 * window, K = taps*c, minus, for every tap in the padding (read as +1), that tap's kernel column sum
 * S[t, o] = c - 2 * popcount(wbits[t, :, o]). scratch holds 4*taps*wpr + taps*co4 words.
 */
export function convForwardPm1(
  xbits: usize,
  wbits: usize,
  out: usize,
  scratch: usize,
  nb: i32,
  h: i32,
  w: i32,
  c: i32,
  wpr: i32,
  oh: i32,
  ow: i32,
  co: i32,
  co4: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  top: i32,
  left: i32,
): void {
  const taps = fh * fw;
  const kw = taps * wpr;
  const xw = scratch; // the window's words, each splat to four lanes
  const colSum = scratch + ((<usize>kw) << 4);
  // Column sums of the kernel per tap, for the padding correction.
  for (let t = 0; t < taps; t++) {
    for (let o = 0; o < co4; o++) {
      let pop = 0;
      for (let wi = 0; wi < wpr; wi++) pop += <i32>popcnt<u32>(load<u32>(wbits + ((<usize>((t * wpr + wi) * co4 + o)) << 2)));
      store<f32>(colSum + ((<usize>(t * co4 + o)) << 2), <f32>(c - 2 * pop));
    }
  }
  const kf = f32x4.splat(<f32>(taps * c));
  const two = i32x4.splat(2);
  const rowBytes = (<usize>(co4)) << 2;
  let dst = out;
  for (let b = 0; b < nb; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const y0 = oy * sh - top;
        const x0 = ox * sw - left;
        let padded = false;
        for (let i = 0; i < fh; i++) {
          const y = y0 + i * dh;
          for (let j = 0; j < fw; j++) {
            const xx = x0 + j * dw;
            const q = xw + ((<usize>((i * fw + j) * wpr)) << 4);
            if (y < 0 || y >= h || xx < 0 || xx >= w) {
              padded = true;
              for (let wi = 0; wi < wpr; wi++) v128.store(q + ((<usize>wi) << 4), i32x4.splat(0));
            } else {
              const s = xbits + ((<usize>(((b * h + y) * w + xx) * wpr)) << 2);
              for (let wi = 0; wi < wpr; wi++) v128.store(q + ((<usize>wi) << 4), i32x4.splat(load<i32>(s + ((<usize>wi) << 2))));
            }
          }
        }
        for (let o = 0; o < co; o += 4) {
          let acc = i32x4.splat(0);
          let wp = wbits + ((<usize>o) << 2);
          let q = 0;
          while (q < kw) {
            // At most 31 words per byte-wise sum (31 * 8 < 256), then widened into acc.
            const qend = min(kw, q + 31);
            let acc8 = i8x16.splat(0);
            for (; q < qend; q++) {
              const v = v128.xor(v128.load(xw + ((<usize>q) << 4)), v128.load(wp));
              acc8 = i8x16.add(acc8, i8x16.popcnt(v));
              wp += rowBytes;
            }
            acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(acc8)));
          }
          let res = f32x4.sub(kf, f32x4.convert_i32x4_s(i32x4.mul(acc, two)));
          if (padded) {
            for (let i = 0; i < fh; i++) {
              const y = y0 + i * dh;
              for (let j = 0; j < fw; j++) {
                const xx = x0 + j * dw;
                if (y < 0 || y >= h || xx < 0 || xx >= w) {
                  res = f32x4.sub(res, v128.load(colSum + ((<usize>((i * fw + j) * co4 + o)) << 2)));
                }
              }
            }
          }
          if (o + 4 <= co) {
            v128.store(dst + ((<usize>o) << 2), res);
          } else {
            store<f32>(dst + ((<usize>o) << 2), f32x4.extract_lane(res, 0));
            if (o + 1 < co) store<f32>(dst + ((<usize>(o + 1)) << 2), f32x4.extract_lane(res, 1));
            if (o + 2 < co) store<f32>(dst + ((<usize>(o + 2)) << 2), f32x4.extract_lane(res, 2));
          }
        }
        dst += (<usize>co) << 2;
      }
    }
  }
}

/** Spreads the low 8 bits of v to every fourth bit: bit i goes to bit 4i. */
// @ts-ignore: decorator
@inline
function spread8(v: u32): u32 {
  let x = v & 0xff;
  x = (x | (x << 12)) & 0x000f000f;
  x = (x | (x << 6)) & 0x03030303;
  return (x | (x << 3)) & 0x11111111;
}

/** Loads lanes o..o+3 of a float row of co values, zero beyond co. */
// @ts-ignore: decorator
@inline
function loadRow4(p: usize, o: i32, co: i32): v128 {
  if (o + 4 <= co) return v128.load(p + ((<usize>o) << 2));
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p + ((<usize>o) << 2)));
  if (o + 1 < co) v = f32x4.replace_lane(v, 1, load<f32>(p + ((<usize>(o + 1)) << 2)));
  if (o + 2 < co) v = f32x4.replace_lane(v, 2, load<f32>(p + ((<usize>(o + 2)) << 2)));
  return v;
}

/**
 * Conv2DBackpropFilter with a +-1 input, NHWC, by table lookup (T-MAC style): dw[i, j, k, o] =
 * sum over positions n = (b, oy, ox) of x[b, oy*sh + i*dh - top, ox*sw + j*dw - left, k] * dy[n, o].
 * Positions are taken in chunks of 32 = 8 groups of 4; for each group the 16 signed sums
 * T[p] = sum over r < 4 of (bit r of p ? -1 : +1) * dy[n_r, :] are built once, and each (tap, channel)
 * row of dw then adds, per group, the one table row selected by its 4 input bits: 8 vector adds per 32
 * positions and 4 output channels instead of 32 multiply-adds. Padded taps read +1 and are corrected by
 * subtracting dy[n, :]. xbits as packed by packSignsF32 ([B, H, W, wpr] words); dw ([fh, fw, c, co])
 * zero-filled; scratch holds 8*16*co4 floats + 128 words.
 */
export function convFilterGradPm1(
  xbits: usize,
  dy: usize,
  dwt: usize,
  scratch: usize,
  nb: i32,
  h: i32,
  w: i32,
  c: i32,
  wpr: i32,
  oh: i32,
  ow: i32,
  co: i32,
  co4: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  top: i32,
  left: i32,
): void {
  const cob = (<usize>co) << 2;
  const rowT = (<usize>co4) << 2; // one table row
  const tabG = rowT << 4; // one group's 16 rows
  const table = scratch;
  const ptrs = scratch + (tabG << 3); // 32 word pointers (0: padding or no position)
  // Per position of a chunk: oy*sh - top, ox*sw - left and b*h (no divisions in the tap loop).
  const cy = ptrs + 128;
  const cx = cy + 128;
  const cb = cx + 128;
  const total = nb * oh * ow;
  const two = f32x4.splat(2.0);
  let pb = 0;
  let py = 0;
  let px = 0;
  for (let n0 = 0; n0 < total; n0 += 32) {
    const cnt = min(32, total - n0);
    for (let r = 0; r < cnt; r++) {
      const ro = (<usize>r) << 2;
      store<i32>(cy + ro, py * sh - top);
      store<i32>(cx + ro, px * sw - left);
      store<i32>(cb + ro, pb * h);
      if (++px == ow) {
        px = 0;
        if (++py == oh) {
          py = 0;
          pb++;
        }
      }
    }
    // Tables: group g, row p, columns o..o+3.
    for (let g = 0; g < 8; g++) {
      const tg = table + (<usize>g) * tabG;
      for (let o = 0; o < co4; o += 4) {
        const oo = (<usize>o) << 2;
        let d0 = f32x4.splat(0);
        let d1 = f32x4.splat(0);
        let d2 = f32x4.splat(0);
        let d3 = f32x4.splat(0);
        const r0 = g * 4;
        const row = dy + (<usize>(n0 + r0)) * cob;
        if (r0 < cnt) d0 = loadRow4(row, o, co);
        if (r0 + 1 < cnt) d1 = loadRow4(row + cob, o, co);
        if (r0 + 2 < cnt) d2 = loadRow4(row + 2 * cob, o, co);
        if (r0 + 3 < cnt) d3 = loadRow4(row + 3 * cob, o, co);
        const t0 = f32x4.add(f32x4.add(d0, d1), f32x4.add(d2, d3));
        const e0 = f32x4.mul(d0, two);
        const e1 = f32x4.mul(d1, two);
        const e2 = f32x4.mul(d2, two);
        const e3 = f32x4.mul(d3, two);
        const t1 = f32x4.sub(t0, e0);
        const t2 = f32x4.sub(t0, e1);
        const t3 = f32x4.sub(t1, e1);
        const t4 = f32x4.sub(t0, e2);
        const t5 = f32x4.sub(t1, e2);
        const t6 = f32x4.sub(t2, e2);
        const t7 = f32x4.sub(t3, e2);
        v128.store(tg + oo, t0);
        v128.store(tg + rowT + oo, t1);
        v128.store(tg + 2 * rowT + oo, t2);
        v128.store(tg + 3 * rowT + oo, t3);
        v128.store(tg + 4 * rowT + oo, t4);
        v128.store(tg + 5 * rowT + oo, t5);
        v128.store(tg + 6 * rowT + oo, t6);
        v128.store(tg + 7 * rowT + oo, t7);
        v128.store(tg + 8 * rowT + oo, f32x4.sub(t0, e3));
        v128.store(tg + 9 * rowT + oo, f32x4.sub(t1, e3));
        v128.store(tg + 10 * rowT + oo, f32x4.sub(t2, e3));
        v128.store(tg + 11 * rowT + oo, f32x4.sub(t3, e3));
        v128.store(tg + 12 * rowT + oo, f32x4.sub(t4, e3));
        v128.store(tg + 13 * rowT + oo, f32x4.sub(t5, e3));
        v128.store(tg + 14 * rowT + oo, f32x4.sub(t6, e3));
        v128.store(tg + 15 * rowT + oo, f32x4.sub(t7, e3));
      }
    }
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        // Word pointers of the 32 positions' pixels for this tap; 0 for padding or no position.
        let anyPad = false;
        for (let r = 0; r < 32; r++) {
          let p: usize = 0;
          if (r < cnt) {
            const ro = (<usize>r) << 2;
            const y = load<i32>(cy + ro) + i * dh;
            const xx = load<i32>(cx + ro) + j * dw;
            if (y < 0 || y >= h || xx < 0 || xx >= w) anyPad = true;
            else p = xbits + ((<usize>(((load<i32>(cb + ro) + y) * w + xx) * wpr)) << 2);
          }
          store<u32>(ptrs + ((<usize>r) << 2), <u32>p);
        }
        const rowBase = dwt + (<usize>((i * fw + j) * c)) * cob;
        for (let wi = 0; wi < wpr; wi++) {
          const wo = (<usize>wi) << 2;
          for (let byte = 0; byte < 4; byte++) {
            const k0 = (wi << 5) + (byte << 3);
            if (k0 >= c) break;
            const sft = <u32>(byte << 3);
            // Nibble-interleaved patterns: nibble q of N[g] = the 4 bits of channel k0 + q in group g.
            let nib0: u32 = 0;
            let nib1: u32 = 0;
            let nib2: u32 = 0;
            let nib3: u32 = 0;
            let nib4: u32 = 0;
            let nib5: u32 = 0;
            let nib6: u32 = 0;
            let nib7: u32 = 0;
            for (let g = 0; g < 8; g++) {
              let nib: u32 = 0;
              for (let r = 0; r < 4; r++) {
                const p = <usize>load<u32>(ptrs + ((<usize>(g * 4 + r)) << 2));
                const word: u32 = p == 0 ? 0 : load<u32>(p + wo);
                nib |= spread8(word >> sft) << (<u32>r);
              }
              if (g == 0) nib0 = nib;
              else if (g == 1) nib1 = nib;
              else if (g == 2) nib2 = nib;
              else if (g == 3) nib3 = nib;
              else if (g == 4) nib4 = nib;
              else if (g == 5) nib5 = nib;
              else if (g == 6) nib6 = nib;
              else nib7 = nib;
            }
            const kend = min(8, c - k0);
            for (let q = 0; q < kend; q++) {
              const s = <u32>(q << 2);
              const a0 = table + (<usize>((nib0 >> s) & 15)) * rowT;
              const a1 = table + tabG + (<usize>((nib1 >> s) & 15)) * rowT;
              const a2 = table + 2 * tabG + (<usize>((nib2 >> s) & 15)) * rowT;
              const a3 = table + 3 * tabG + (<usize>((nib3 >> s) & 15)) * rowT;
              const a4 = table + 4 * tabG + (<usize>((nib4 >> s) & 15)) * rowT;
              const a5 = table + 5 * tabG + (<usize>((nib5 >> s) & 15)) * rowT;
              const a6 = table + 6 * tabG + (<usize>((nib6 >> s) & 15)) * rowT;
              const a7 = table + 7 * tabG + (<usize>((nib7 >> s) & 15)) * rowT;
              const dst = rowBase + (<usize>(k0 + q)) * cob;
              let o = 0;
              for (; o + 4 <= co; o += 4) {
                const oo = (<usize>o) << 2;
                const s01 = f32x4.add(v128.load(a0 + oo), v128.load(a1 + oo));
                const s23 = f32x4.add(v128.load(a2 + oo), v128.load(a3 + oo));
                const s45 = f32x4.add(v128.load(a4 + oo), v128.load(a5 + oo));
                const s67 = f32x4.add(v128.load(a6 + oo), v128.load(a7 + oo));
                const sum = f32x4.add(f32x4.add(s01, s23), f32x4.add(s45, s67));
                v128.store(dst + oo, f32x4.add(v128.load(dst + oo), sum));
              }
              for (; o < co; o++) {
                const oo = (<usize>o) << 2;
                const sum: f32 =
                  load<f32>(a0 + oo) +
                  load<f32>(a1 + oo) +
                  (load<f32>(a2 + oo) + load<f32>(a3 + oo)) +
                  (load<f32>(a4 + oo) + load<f32>(a5 + oo) + (load<f32>(a6 + oo) + load<f32>(a7 + oo)));
                store<f32>(dst + oo, load<f32>(dst + oo) + sum);
              }
            }
          }
        }
        if (anyPad) {
          // Padded taps were read as +1: take dy[n, :] back out of every channel's row.
          for (let r = 0; r < cnt; r++) {
            if (load<u32>(ptrs + ((<usize>r) << 2)) != 0) continue;
            const d = dy + (<usize>(n0 + r)) * cob;
            for (let k = 0; k < c; k++) {
              const dst = rowBase + (<usize>k) * cob;
              let o = 0;
              for (; o + 4 <= co; o += 4) {
                const oo = (<usize>o) << 2;
                v128.store(dst + oo, f32x4.sub(v128.load(dst + oo), v128.load(d + oo)));
              }
              for (; o < co; o++) {
                const oo = (<usize>o) << 2;
                store<f32>(dst + oo, load<f32>(dst + oo) - load<f32>(d + oo));
              }
            }
          }
        }
      }
    }
  }
}

/** Lane l of the result r holds lane r of input l (a 4x4 transpose); returns lane-`which` row. */
// @ts-ignore: decorator
@inline
function tr4(v0: v128, v1: v128, v2: v128, v3: v128, which: i32): v128 {
  if (which == 0) return i32x4.shuffle(i32x4.shuffle(v0, v1, 0, 4, 1, 5), i32x4.shuffle(v2, v3, 0, 4, 1, 5), 0, 1, 4, 5);
  if (which == 1) return i32x4.shuffle(i32x4.shuffle(v0, v1, 0, 4, 1, 5), i32x4.shuffle(v2, v3, 0, 4, 1, 5), 2, 3, 6, 7);
  if (which == 2) return i32x4.shuffle(i32x4.shuffle(v0, v1, 2, 6, 3, 7), i32x4.shuffle(v2, v3, 2, 6, 3, 7), 0, 1, 4, 5);
  return i32x4.shuffle(i32x4.shuffle(v0, v1, 2, 6, 3, 7), i32x4.shuffle(v2, v3, 2, 6, 3, 7), 2, 3, 6, 7);
}

/**
 * Conv2DBackpropInput with a +-1 kernel, NHWC, by table lookup: the patch gradients
 * P[n, (i, j, k)] = sum over o of dy[n, o] * w[i, j, k, o] are computed for blocks of 16 positions with
 * the 16 positions in four f32x4 lanes: per group of 4 output channels the 16 signed sums of their dy
 * columns are built once per block, and each patch column adds, per group, the one selected by the
 * kernel's 4 bits (4 vector adds per 16 positions and 4 output channels instead of 16 multiply-adds).
 * The block is then scattered (col2im) into dx: dx[b, oy*sh + i*dh - top, ox*sw + j*dw - left, k] +=
 * P[n, (i, j, k)], taps in the padding dropped. wbits: w viewed as [fh*fw*c, co] packed by
 * packSignsF32 (wpo = ceil(co/32) words a row); dx zero-filled; scratch holds ceil(co/4)*16*16 +
 * fh*fw*c*(16 + ceil(co/4)) + 48 words.
 */
export function convInputGradPm1(
  dy: usize,
  wbits: usize,
  dx: usize,
  scratch: usize,
  nb: i32,
  h: i32,
  w: i32,
  c: i32,
  wpo: i32,
  oh: i32,
  ow: i32,
  co: i32,
  co4: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  top: i32,
  left: i32,
): void {
  const groups = co4 >> 2;
  const cob = (<usize>co) << 2;
  const table = scratch; // [group][16 patterns][16 positions]
  const kk = fh * fw * c;
  const blk = scratch + (<usize>(groups * 256)) * 4; // [k][16 positions]
  const total = nb * oh * ow;
  const two = f32x4.splat(2.0);
  const zero = f32x4.splat(0);
  const cb = (<usize>c) << 2;
  // Byte offsets of the table entry each (k, group) selects: group*1024 + nibble*64.
  const offs = blk + ((<usize>kk) << 6);
  let wrow = wbits;
  for (let k = 0; k < kk; k++) {
    for (let g = 0; g < groups; g++) {
      const word = load<u32>(wrow + ((<usize>(g >> 3)) << 2));
      store<u32>(offs + ((<usize>(k * groups + g)) << 2), ((<u32>g) << 10) | (((word >> (<u32>((g & 7) << 2))) & 15) << 6));
    }
    wrow += (<usize>wpo) << 2;
  }
  // Per position of a block: oy*sh - top, ox*sw - left and b*h (no divisions in the tap loop).
  const cy = offs + ((<usize>(kk * groups)) << 2);
  const cx = cy + 64;
  const cbh = cx + 64;
  let pb = 0;
  let py = 0;
  let px = 0;
  for (let n0 = 0; n0 < total; n0 += 16) {
    const cnt = min(16, total - n0);
    for (let r = 0; r < cnt; r++) {
      const ro = (<usize>r) << 2;
      store<i32>(cy + ro, py * sh - top);
      store<i32>(cx + ro, px * sw - left);
      store<i32>(cbh + ro, pb * h);
      if (++px == ow) {
        px = 0;
        if (++py == oh) {
          py = 0;
          pb++;
        }
      }
    }
    for (let g = 0; g < groups; g++) {
      const tg = table + (<usize>(g * 256)) * 4;
      const o = g << 2;
      for (let q = 0; q < 4; q++) {
        const r0 = q << 2;
        const row = dy + (<usize>(n0 + r0)) * cob;
        const v0 = r0 < cnt ? loadRow4(row, o, co) : zero;
        const v1 = r0 + 1 < cnt ? loadRow4(row + cob, o, co) : zero;
        const v2 = r0 + 2 < cnt ? loadRow4(row + 2 * cob, o, co) : zero;
        const v3 = r0 + 3 < cnt ? loadRow4(row + 3 * cob, o, co) : zero;
        const d0 = tr4(v0, v1, v2, v3, 0);
        const d1 = tr4(v0, v1, v2, v3, 1);
        const d2 = tr4(v0, v1, v2, v3, 2);
        const d3 = tr4(v0, v1, v2, v3, 3);
        const t0 = f32x4.add(f32x4.add(d0, d1), f32x4.add(d2, d3));
        const e0 = f32x4.mul(d0, two);
        const e1 = f32x4.mul(d1, two);
        const e2 = f32x4.mul(d2, two);
        const e3 = f32x4.mul(d3, two);
        const t1 = f32x4.sub(t0, e0);
        const t2 = f32x4.sub(t0, e1);
        const t3 = f32x4.sub(t1, e1);
        const t4 = f32x4.sub(t0, e2);
        const t5 = f32x4.sub(t1, e2);
        const t6 = f32x4.sub(t2, e2);
        const t7 = f32x4.sub(t3, e2);
        const p = tg + ((<usize>q) << 4);
        v128.store(p, t0);
        v128.store(p + 64, t1);
        v128.store(p + 128, t2);
        v128.store(p + 192, t3);
        v128.store(p + 256, t4);
        v128.store(p + 320, t5);
        v128.store(p + 384, t6);
        v128.store(p + 448, t7);
        v128.store(p + 512, f32x4.sub(t0, e3));
        v128.store(p + 576, f32x4.sub(t1, e3));
        v128.store(p + 640, f32x4.sub(t2, e3));
        v128.store(p + 704, f32x4.sub(t3, e3));
        v128.store(p + 768, f32x4.sub(t4, e3));
        v128.store(p + 832, f32x4.sub(t5, e3));
        v128.store(p + 896, f32x4.sub(t6, e3));
        v128.store(p + 960, f32x4.sub(t7, e3));
      }
    }
    // Patch columns: P[block positions, k] as blk[k][16]; two groups at a time into separate sums.
    let off = offs;
    for (let k = 0; k < kk; k++) {
      let a0 = zero;
      let a1 = zero;
      let a2 = zero;
      let a3 = zero;
      let b0 = zero;
      let b1 = zero;
      let b2 = zero;
      let b3 = zero;
      let g = 0;
      for (; g + 2 <= groups; g += 2) {
        const e = table + <usize>load<u32>(off);
        const f = table + <usize>load<u32>(off + 4);
        a0 = f32x4.add(a0, v128.load(e));
        a1 = f32x4.add(a1, v128.load(e + 16));
        a2 = f32x4.add(a2, v128.load(e + 32));
        a3 = f32x4.add(a3, v128.load(e + 48));
        b0 = f32x4.add(b0, v128.load(f));
        b1 = f32x4.add(b1, v128.load(f + 16));
        b2 = f32x4.add(b2, v128.load(f + 32));
        b3 = f32x4.add(b3, v128.load(f + 48));
        off += 8;
      }
      if (g < groups) {
        const e = table + <usize>load<u32>(off);
        a0 = f32x4.add(a0, v128.load(e));
        a1 = f32x4.add(a1, v128.load(e + 16));
        a2 = f32x4.add(a2, v128.load(e + 32));
        a3 = f32x4.add(a3, v128.load(e + 48));
        off += 4;
      }
      const b = blk + ((<usize>k) << 6);
      v128.store(b, f32x4.add(a0, b0));
      v128.store(b + 16, f32x4.add(a1, b1));
      v128.store(b + 32, f32x4.add(a2, b2));
      v128.store(b + 48, f32x4.add(a3, b3));
    }
    // col2im of the block, four positions at a time (4x4 transposes turn position lanes into channels).
    for (let q = 0; q < 4; q++) {
      const r0 = q << 2;
      if (r0 >= cnt) break;
      for (let i = 0; i < fh; i++) {
        for (let j = 0; j < fw; j++) {
          let p0: usize = 0;
          let p1: usize = 0;
          let p2: usize = 0;
          let p3: usize = 0;
          for (let l = 0; l < 4; l++) {
            if (r0 + l >= cnt) break;
            const ro = (<usize>(r0 + l)) << 2;
            const y = load<i32>(cy + ro) + i * dh;
            const xx = load<i32>(cx + ro) + j * dw;
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            const p = dx + (<usize>((load<i32>(cbh + ro) + y) * w + xx)) * cb;
            if (l == 0) p0 = p;
            else if (l == 1) p1 = p;
            else if (l == 2) p2 = p;
            else p3 = p;
          }
          if ((p0 | p1 | p2 | p3) == 0) continue;
          const src = blk + ((<usize>((i * fw + j) * c)) << 6) + ((<usize>q) << 4);
          let k = 0;
          for (; k + 4 <= c; k += 4) {
            const s = src + ((<usize>k) << 6);
            const v0 = v128.load(s);
            const v1 = v128.load(s + 64);
            const v2 = v128.load(s + 128);
            const v3 = v128.load(s + 192);
            const o = (<usize>k) << 2;
            if (p0) v128.store(p0 + o, f32x4.add(v128.load(p0 + o), tr4(v0, v1, v2, v3, 0)));
            if (p1) v128.store(p1 + o, f32x4.add(v128.load(p1 + o), tr4(v0, v1, v2, v3, 1)));
            if (p2) v128.store(p2 + o, f32x4.add(v128.load(p2 + o), tr4(v0, v1, v2, v3, 2)));
            if (p3) v128.store(p3 + o, f32x4.add(v128.load(p3 + o), tr4(v0, v1, v2, v3, 3)));
          }
          for (; k < c; k++) {
            const s = src + ((<usize>k) << 6);
            const o = (<usize>k) << 2;
            if (p0) store<f32>(p0 + o, load<f32>(p0 + o) + load<f32>(s));
            if (p1) store<f32>(p1 + o, load<f32>(p1 + o) + load<f32>(s + 4));
            if (p2) store<f32>(p2 + o, load<f32>(p2 + o) + load<f32>(s + 8));
            if (p3) store<f32>(p3 + o, load<f32>(p3 + o) + load<f32>(s + 12));
          }
        }
      }
    }
  }
}

// Elementwise training kernels for tfjs-backend-wasm, compiled to a small WebAssembly module that
// imports tfjs-backend-wasm's own memory, so they run on tensors in place (pointers are byte offsets
// into that memory). SIMD (f32x4) main loops with scalar tails. No static data and no allocation:
// the module must never write outside the buffers it is given. Built by scripts/build-heap-kernels.mjs
// (npm run build:heap-kernels).


const EPS: f32 = 1.1920928955078125e-7; // float32 epsilon, 2^-23

/** tfjs-backend-wasm's Sign: 0 for NaN and |x| < 2^-23, else +-1. */
export function signF32(x: usize, out: usize, n: i32): void {
  const one = f32x4.splat(1.0);
  const eps = f32x4.splat(EPS);
  const neps = f32x4.splat(-EPS);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + ((<usize>i) << 2));
    const pos = v128.and(f32x4.ge(v, eps), one);
    const neg = v128.and(f32x4.le(v, neps), one);
    v128.store(out + ((<usize>i) << 2), f32x4.sub(pos, neg));
  }
  for (; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    store<f32>(out + ((<usize>i) << 2), v >= EPS ? 1.0 : v <= -EPS ? -1.0 : 0.0);
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
  let d: usize = dy;
  for (let b = 0; b < nb; b++) {
    const xb = x + ((<usize>(b * h * w)) << 2);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let i = 0; i < fh; i++) {
          const y = oy * sh + i - top;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < fw; j++) {
            const xx = ox * sw + j - left;
            if (xx < 0 || xx >= w) continue;
            const s = load<f32>(xb + ((<usize>(y * w + xx)) << 2));
            const sv = f32x4.splat(s);
            const acc = dw + <usize>(i * fw + j) * cb;
            let k = 0;
            for (; k + 4 <= co; k += 4) {
              const kk = (<usize>k) << 2;
              v128.store(acc + kk, f32x4.add(v128.load(acc + kk), f32x4.mul(sv, v128.load(d + kk))));
            }
            for (; k < co; k++) {
              const kk = (<usize>k) << 2;
              store<f32>(acc + kk, load<f32>(acc + kk) + s * load<f32>(d + kk));
            }
          }
        }
        d += cb;
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
  let d: usize = dy;
  for (let b = 0; b < nb; b++) {
    const xb = dx + ((<usize>(b * h * w)) << 2);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let i = 0; i < fh; i++) {
          const y = oy * sh + i - top;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < fw; j++) {
            const xx = ox * sw + j - left;
            if (xx < 0 || xx >= w) continue;
            const f = wt + <usize>(i * fw + j) * cb;
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

// Elementwise training kernels for tfjs-backend-wasm, compiled to a small WebAssembly module that
// imports tfjs-backend-wasm's own memory, so they run on tensors in place (pointers are byte offsets
// into that memory). SIMD (f32x4) main loops with scalar tails. No static data and no allocation:
// the module must never write outside the buffers it is given. Built by src/backend/assembly/build.mjs.

// @ts-nocheck: AssemblyScript, not TypeScript.

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

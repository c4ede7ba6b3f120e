/**
 * Closed forms of the STE toy model of Yin et al., "Understanding Straight-Through Estimator in Training
 * Activation Quantized Neural Nets", ICLR 2019 (arXiv 1903.05662).
 *
 * Model: y(Z; v, w) = v^T sigma(Z w) with Z in R^{m x n} (i.i.d. N(0, 1) entries), sigma(x) = 1{x > 0},
 * teacher y*(Z) = v*^T sigma(Z w*) with |w*| = 1, sample loss l = 1/2 (y - y*)^2, population loss
 * f(v, w) = E_Z[l]. Notation: I = I_m, 1 = all-ones m-vector, theta = angle(w, w*), w_hat = w / |w|.
 */
import { ConfigError, ShapeError } from '../../errors.js';
import type { Random } from '../../util/random.js';
import { erf, integrate, normalCdf, SQRT_HALF_PI, xi } from './numeric.js';
import { dot, lincomb, norm, scale, sum, toVec, type VecLike } from './vec.js';

const SQRT_2PI = Math.sqrt(2 * Math.PI);
const TWO_PI_3_2 = (2 * Math.PI) ** 1.5;

/**
 * The straight-through estimators of the paper: the proxy mu whose derivative replaces sigma' = 0 in the
 * chain rule. identity: mu(x) = x, mu' = 1; relu: mu(x) = max(x, 0), mu' = 1{x > 0};
 * clipped_relu: mu(x) = min(max(x, 0), 1), mu' = 1{0 < x < 1}.
 */
export type SteName = 'identity' | 'relu' | 'clipped_relu';

/** Every STE of the study, in the order the report lists them. */
export const STE_NAMES: readonly SteName[] = ['identity', 'relu', 'clipped_relu'];

/** mu'(x) of the STE `ste` (see {@link SteName}). */
export function steDerivative(ste: SteName, x: number): number {
  switch (ste) {
    case 'identity':
      return 1;
    case 'relu':
      return x > 0 ? 1 : 0;
    case 'clipped_relu':
      return x > 0 && x < 1 ? 1 : 0;
  }
}

/** Validates an STE name. */
export function checkSte(ste: unknown, where: string): SteName {
  if (typeof ste !== 'string' || !(STE_NAMES as readonly string[]).includes(ste)) {
    throw new ConfigError({ where, received: ste, expected: STE_NAMES });
  }
  return ste as SteName;
}

/** The teacher (v*, w*) of the toy model; m = length of v*, n = length of w*, |w*| = 1. */
export interface Teacher {
  readonly m: number;
  readonly n: number;
  readonly vStar: Float64Array;
  readonly wStar: Float64Array;
}

/** A pair of m- and n-vectors: the parameters (v, w) or a gradient with respect to them. */
export interface VW {
  v: Float64Array;
  w: Float64Array;
}

/**
 * Builds a teacher from v* (length m >= 1) and w* (length n >= 2, |w*| = 1 within 1e-9).
 * @example teacher([1, -0.5, 2], [0.6, 0.8])
 */
export function teacher(vStar: VecLike, wStar: VecLike): Teacher {
  const v = toVec(vStar, 'study.ste.teacher vStar');
  const w = toVec(wStar, 'study.ste.teacher wStar');
  if (v.length < 1)
    throw new ShapeError({ where: 'study.ste.teacher vStar', received: [0], expected: 'm >= 1' });
  if (w.length < 2) {
    throw new ShapeError({ where: 'study.ste.teacher wStar', received: [w.length], expected: 'n >= 2' });
  }
  const nw = norm(w);
  if (Math.abs(nw - 1) > 1e-9) {
    throw new ConfigError({
      where: 'study.ste.teacher |wStar|',
      received: nw,
      expected: '1 (a unit vector)',
    });
  }
  return { m: v.length, n: w.length, vStar: v, wStar: w };
}

/** A seeded random teacher: v* ~ N(0, I_m), w* uniform on the unit sphere of R^n. */
export function randomTeacher(rng: Random, m: number, n: number): Teacher {
  checkDims(m, n, 'study.ste.randomTeacher');
  const v = new Float64Array(m);
  for (let i = 0; i < m; i++) v[i] = rng.normal();
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = rng.normal();
  return teacher(v, scale(1 / norm(w), w));
}

/** Checks the sizes m >= 1 and n >= 2. */
export function checkDims(m: number, n: number, where: string): void {
  if (!Number.isInteger(m) || m < 1)
    throw new ConfigError({ where: `${where} m`, received: m, expected: 'an integer >= 1' });
  if (!Number.isInteger(n) || n < 2)
    throw new ConfigError({ where: `${where} n`, received: n, expected: 'an integer >= 2' });
}

function checkVW(t: Teacher, v: VecLike, w: VecLike, where: string): void {
  if (v.length !== t.m)
    throw new ShapeError({ where: `${where} v`, received: [v.length], expected: `length m = ${t.m}` });
  if (w.length !== t.n)
    throw new ShapeError({ where: `${where} w`, received: [w.length], expected: `length n = ${t.n}` });
}

function checkNonzero(w: VecLike, where: string): number {
  const nw = norm(w);
  if (!(nw > 0))
    throw new ConfigError({ where: `${where} w`, received: 'the zero vector', expected: 'w != 0' });
  return nw;
}

/**
 * The angle theta in [0, pi] between w and w*: theta = 2 atan2(|w_hat - w*_hat|, |w_hat + w*_hat|),
 * which stays accurate near 0 and pi where acos loses half the digits.
 */
export function angle(w: VecLike, wStar: VecLike): number {
  const a = norm(w);
  const b = norm(wStar);
  let minus = 0;
  let plus = 0;
  for (let i = 0; i < w.length; i++) {
    const x = w[i] / a;
    const y = wStar[i] / b;
    minus += (x - y) ** 2;
    plus += (x + y) ** 2;
  }
  return 2 * Math.atan2(Math.sqrt(minus), Math.sqrt(plus));
}

/**
 * Population loss f(v, w) = 1/8 [ v^T (I + 11^T) v - 2 v^T ((1 - 2 theta / pi) I + 11^T) v*
 * + v*^T (I + 11^T) v* ] (paper, Lemma 1), since E[sigma(Zw) sigma(Zw)^T] = (I + 11^T) / 4 and
 * E[sigma(Zw) sigma(Zw*)^T] = ((1 - 2 theta / pi) I + 11^T) / 4.
 */
export function populationLoss(t: Teacher, v: VecLike, w: VecLike): number {
  checkVW(t, v, w, 'study.ste.populationLoss');
  checkNonzero(w, 'study.ste.populationLoss');
  return lossAtAngle(t, v, angle(w, t.wStar));
}

/** f as a function of (v, theta); see {@link populationLoss}. */
export function lossAtAngle(t: Teacher, v: VecLike, theta: number): number {
  const vs = t.vStar;
  const c = 1 - (2 * theta) / Math.PI;
  const sv = sum(v);
  const ss = sum(vs);
  return (dot(v, v) + sv * sv - 2 * (c * dot(v, vs) + sv * ss) + dot(vs, vs) + ss * ss) / 8;
}

/** df/dv = 1/4 (I + 11^T) v - 1/4 ((1 - 2 theta / pi) I + 11^T) v* (paper, Lemma 2). */
export function lossGradientV(t: Teacher, v: VecLike, theta: number): Float64Array {
  const c = 1 - (2 * theta) / Math.PI;
  const sv = sum(v);
  const ss = sum(t.vStar);
  const g = new Float64Array(t.m);
  for (let i = 0; i < t.m; i++) g[i] = (v[i] + sv - c * t.vStar[i] - ss) / 4;
  return g;
}

/**
 * The population gradient (df/dv, df/dw) (paper, Lemma 2):
 * df/dw = -(v^T v*) / (2 pi |w|) P w* / |P w*| with P = I_n - w w^T / |w|^2, for theta in (0, pi).
 * At theta = 0 or pi, f is not differentiable in w (theta is not); the w part is returned as 0 there,
 * matching the paper's definition of critical points.
 */
export function populationGradient(t: Teacher, v: VecLike, w: VecLike): VW {
  checkVW(t, v, w, 'study.ste.populationGradient');
  const nw = checkNonzero(w, 'study.ste.populationGradient');
  const theta = angle(w, t.wStar);
  const gv = lossGradientV(t, v, theta);
  const gw = new Float64Array(t.n);
  const pw = perpendicular(w, nw, t.wStar);
  const np = norm(pw);
  if (np > 0 && theta > 0 && theta < Math.PI) {
    const s = -dot(v, t.vStar) / (2 * Math.PI * nw * np);
    for (let i = 0; i < t.n; i++) gw[i] = s * pw[i];
  }
  return { v: gv, w: gw };
}

/** P w* = w* - (w_hat^T w*) w_hat, the part of w* orthogonal to w. */
function perpendicular(w: VecLike, nw: number, wStar: VecLike): Float64Array {
  const c = dot(w, wStar) / nw;
  const out = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = wStar[i] - (c * w[i]) / nw;
  return out;
}

/** The integrals p(0, w), p(theta, w), q(theta, w) of the clipped-ReLU closed forms, and q / sin(theta / 2). */
export interface ClippedReluIntegrals {
  p0: number;
  p: number;
  q: number;
  /** q(theta, w) / sin(theta / 2), which tends to 1 / sqrt(2 pi) as theta -> 0. */
  qOverSinHalf: number;
}

/**
 * The integrals of the clipped-ReLU closed forms (paper, Lemma 5), with xi(x) = int_0^x r^2 exp(-r^2/2) dr:
 * p(theta, w) = 1 / (2 pi) int_{-pi/2 + theta}^{pi/2} cos(phi) xi(sec(phi) / |w|) dphi,
 * q(theta, w) = 1 / (2 pi) int_{-pi/2 + theta}^{pi/2} sin(phi) xi(sec(phi) / |w|) dphi.
 *
 * method 'quadrature' integrates these as written (adaptive Gauss-Kronrod over xi's erf form; q over
 * [pi/2 - theta, pi/2] only, since the rest of the range is symmetric about 0 and its odd integrand
 * integrates to 0, which keeps the small q near theta = 0 accurate).
 *
 * method 'closed' (default; several hundred times faster, see bench/ste-integrals.ts) uses forms derived for lowbit by writing the polar
 * integrals in Cartesian coordinates (x along w_hat, a = 1 / |w|, region 0 < x < a, y > -x cot(theta)):
 * p(theta, w) = 1 / sqrt(2 pi) [1/2 - exp(-a^2 / 2) Phi(a cot(theta)) + cos(theta) / 2 erf(a / (sqrt(2) sin(theta)))],
 * q(theta, w) = sin(theta) / (2 sqrt(2 pi)) erf(a / (sqrt(2) sin(theta))),
 * so p(0, w) = (1 - exp(-a^2 / 2)) / sqrt(2 pi). The test suite checks both methods against each other
 * and against Monte Carlo. As |w| -> 0 both reduce to the ReLU values p(0, w) -> 1 / sqrt(2 pi),
 * q -> sin(theta) / (2 sqrt(2 pi)).
 */
export function clippedReluIntegrals(
  theta: number,
  wNorm: number,
  method: 'closed' | 'quadrature' = 'closed',
): ClippedReluIntegrals {
  if (!(theta >= 0 && theta <= Math.PI)) {
    throw new ConfigError({
      where: 'study.ste.clippedReluIntegrals theta',
      received: theta,
      expected: 'in [0, pi]',
    });
  }
  if (!(wNorm > 0 && Number.isFinite(wNorm))) {
    throw new ConfigError({
      where: 'study.ste.clippedReluIntegrals |w|',
      received: wNorm,
      expected: 'a finite number > 0',
    });
  }
  if (method !== 'closed' && method !== 'quadrature') {
    throw new ConfigError({
      where: 'study.ste.clippedReluIntegrals method',
      received: method,
      expected: ['closed', 'quadrature'],
    });
  }
  // d q / d theta at 0 is xi(infinity) / (2 pi), so q / sin(theta / 2) -> 2 sqrt(pi/2) / (2 pi) there.
  const limit = SQRT_HALF_PI / Math.PI;
  if (method === 'closed') {
    const a = 1 / wNorm;
    const p0 = -Math.expm1(-0.5 * a * a) / SQRT_2PI;
    if (theta === 0) return { p0, p: p0, q: 0, qOverSinHalf: limit };
    const sin = Math.sin(theta);
    const e = erf(a / (Math.SQRT2 * sin));
    const p =
      (0.5 - Math.exp(-0.5 * a * a) * normalCdf((a * Math.cos(theta)) / sin) + (Math.cos(theta) / 2) * e) /
      SQRT_2PI;
    const q = (sin / (2 * SQRT_2PI)) * e;
    return { p0, p, q, qOverSinHalf: (Math.cos(theta / 2) / SQRT_2PI) * e };
  }
  const half = Math.PI / 2;
  const xiAt = (phi: number): number => xi(1 / (Math.cos(phi) * wNorm));
  const p0 = integrate((phi) => Math.cos(phi) * xiAt(phi), -half, half) / (2 * Math.PI);
  const p =
    theta === 0 ? p0 : integrate((phi) => Math.cos(phi) * xiAt(phi), theta - half, half) / (2 * Math.PI);
  const q = integrate((phi) => Math.sin(phi) * xiAt(phi), half - theta, half) / (2 * Math.PI);
  const qOverSinHalf = theta < 1e-7 ? limit : q / Math.sin(theta / 2);
  return { p0, p, q, qOverSinHalf };
}

/**
 * The expected coarse gradient E_Z[g_mu] with respect to w for the STE `ste`, where
 * g_mu = Z^T (mu'(Zw) .* v) (v^T sigma(Zw) - y*) (paper, Lemmas 4, 5 and 8). With
 * h = |v|^2 + (1^T v)^2 - (1^T v)(1^T v*) + v^T v* and u = (w_hat + w*) / |w_hat + w*|:
 * - identity: E[g] = 1 / sqrt(2 pi) (|v|^2 w_hat - (v^T v*) w*)
 * - relu: E[g] = h / (2 sqrt(2 pi)) w_hat - cos(theta / 2) (v^T v*) / sqrt(2 pi) u
 * - clipped_relu: E[g] = p(0, w) h / 2 w_hat - (v^T v*) csc(theta / 2) q(theta, w) u
 *   - (v^T v*)(p(theta, w) - cot(theta / 2) q(theta, w)) w_hat
 * The u term is 0 at theta = pi (its coefficient vanishes there).
 */
export function expectedCoarseGradientW(t: Teacher, v: VecLike, w: VecLike, ste: SteName): Float64Array {
  checkVW(t, v, w, 'study.ste.expectedCoarseGradient');
  checkSte(ste, 'study.ste.expectedCoarseGradient ste');
  const nw = checkNonzero(w, 'study.ste.expectedCoarseGradient');
  const what = scale(1 / nw, w);
  const vv = dot(v, t.vStar);
  if (ste === 'identity') return lincomb(dot(v, v) / SQRT_2PI, what, -vv / SQRT_2PI, t.wStar);
  const theta = angle(w, t.wStar);
  const sv = sum(v);
  const h = dot(v, v) + sv * sv - sv * sum(t.vStar) + vv;
  const u = lincomb(1, what, 1, t.wStar);
  const nu = norm(u);
  if (nu > 0) for (let i = 0; i < u.length; i++) u[i] /= nu;
  if (ste === 'relu') {
    const a = h / (2 * SQRT_2PI);
    const b = nu > 0 ? (-Math.cos(theta / 2) * vv) / SQRT_2PI : 0;
    return lincomb(a, what, b, u);
  }
  const { p0, p, qOverSinHalf } = clippedReluIntegrals(theta, nw);
  // csc(theta/2) q = qOverSinHalf; cot(theta/2) q = cos(theta/2) qOverSinHalf.
  const a = (p0 * h) / 2 - vv * (p - Math.cos(theta / 2) * qOverSinHalf);
  const b = nu > 0 ? -vv * qOverSinHalf : 0;
  return lincomb(a, what, b, u);
}

/**
 * The expected coarse gradient of Algorithm 1: (E[dl/dv], E[g_mu]) = (df/dv, E[g_mu]); the v part is
 * the true gradient, which the STE does not touch.
 */
export function expectedCoarseGradient(t: Teacher, v: VecLike, w: VecLike, ste: SteName): VW {
  const gw = expectedCoarseGradientW(t, v, w, ste);
  return { v: lossGradientV(t, v, angle(w, t.wStar)), w: gw };
}

/**
 * The closed form of <E[g_mu], df/dw> (paper, Lemmas 4, 5 and 8), all >= 0 for theta in (0, pi):
 * - identity: sin(theta) / ((2 pi)^{3/2} |w|) (v^T v*)^2
 * - relu: sin(theta) / (2 (2 pi)^{3/2} |w|) (v^T v*)^2
 * - clipped_relu: q(theta, w) / (2 pi |w|) (v^T v*)^2
 * It is 0 at theta in {0, pi}, where df/dw is taken as 0.
 */
export function coarseTrueInnerProduct(t: Teacher, v: VecLike, w: VecLike, ste: SteName): number {
  checkVW(t, v, w, 'study.ste.coarseTrueInnerProduct');
  checkSte(ste, 'study.ste.coarseTrueInnerProduct ste');
  const nw = checkNonzero(w, 'study.ste.coarseTrueInnerProduct');
  const theta = angle(w, t.wStar);
  if (theta === 0 || theta === Math.PI) return 0;
  const vv2 = dot(v, t.vStar) ** 2;
  switch (ste) {
    case 'identity':
      return (Math.sin(theta) / (TWO_PI_3_2 * nw)) * vv2;
    case 'relu':
      return (Math.sin(theta) / (2 * TWO_PI_3_2 * nw)) * vv2;
    case 'clipped_relu':
      return (clippedReluIntegrals(theta, nw).q / (2 * Math.PI * nw)) * vv2;
  }
}

/**
 * The cosine between the expected coarse gradient and the true gradient with respect to w:
 * <E[g_mu], df/dw> / (|E[g_mu]| |df/dw|), using the closed-form inner product; 0 when either is 0.
 */
export function coarseTrueCosine(t: Teacher, v: VecLike, w: VecLike, ste: SteName): number {
  const g = expectedCoarseGradientW(t, v, w, ste);
  const df = populationGradient(t, v, w).w;
  const d = norm(g) * norm(df);
  return d === 0 ? 0 : coarseTrueInnerProduct(t, v, w, ste) / d;
}

/** The critical points of f (paper, Lemma 2 and Proposition 1). */
export interface CriticalPoints {
  /** Global minima: theta = 0, v = v* (w = c w*, c > 0); f = 0. */
  globalMin: { v: Float64Array; w: Float64Array; loss: number };
  /**
   * theta = pi, v = (I + 11^T)^{-1} (11^T - I) v* = -v* + 2 (1^T v*) / (m + 1) 1 (w = -c w*, c > 0).
   * A spurious local minimum when v^T v* < 0 there, i.e. (1^T v*)^2 < (m + 1) / 2 |v*|^2.
   */
  spurious: { v: Float64Array; w: Float64Array; loss: number; isLocalMin: boolean };
  /**
   * Saddle points, present when (1^T v*)^2 < (m + 1) / 2 |v*|^2 (paper, eq. 9): v^T v* = 0 with
   * v = (I + 11^T)^{-1} ((1 - 2 theta / pi) I + 11^T) v*, i.e. 1 - 2 theta / pi = -(1^T v*)^2 /
   * ((m + 1) |v*|^2 - (1^T v*)^2); every w at that angle. null when the condition fails.
   */
  saddle: { theta: number; v: Float64Array; loss: number } | null;
}

/** The critical points of the population loss for teacher `t` (closed forms; see {@link CriticalPoints}). */
export function criticalPoints(t: Teacher): CriticalPoints {
  const { m, vStar, wStar } = t;
  const s = sum(vStar);
  const vs2 = dot(vStar, vStar);
  const vSp = new Float64Array(m);
  for (let i = 0; i < m; i++) vSp[i] = -vStar[i] + (2 * s) / (m + 1);
  const wSp = scale(-1, wStar);
  const condition = s * s < ((m + 1) / 2) * vs2;
  let saddle: CriticalPoints['saddle'] = null;
  if (condition) {
    const c = -(s * s) / ((m + 1) * vs2 - s * s);
    const theta = (Math.PI / 2) * (1 - c);
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = c * vStar[i] + (s * (1 - c)) / (m + 1);
    saddle = { theta, v, loss: lossAtAngle(t, v, theta) };
  }
  return {
    globalMin: { v: Float64Array.from(vStar), w: Float64Array.from(wStar), loss: lossAtAngle(t, vStar, 0) },
    spurious: { v: vSp, w: wSp, loss: lossAtAngle(t, vSp, Math.PI), isLocalMin: dot(vSp, vStar) < 0 },
    saddle,
  };
}

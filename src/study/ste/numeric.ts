/**
 * Numerical building blocks for the STE toy model: the error function, the radial integral xi used by
 * the clipped-ReLU closed forms, adaptive Gauss-Kronrod quadrature and the normal quantile.
 *
 * All in Float64; no dependencies. Reference for where xi, p and q come from: Yin et al.,
 * "Understanding Straight-Through Estimator in Training Activation Quantized Neural Nets", ICLR 2019
 * (arXiv 1903.05662), Lemma 5 / appendix.
 */
import { ConfigError } from '../../errors.js';

const SQRT_PI = Math.sqrt(Math.PI);
/** sqrt(pi / 2) = xi(infinity). */
export const SQRT_HALF_PI = Math.sqrt(Math.PI / 2);

/**
 * The error function erf(x) = 2 / sqrt(pi) int_0^x exp(-t^2) dt, to about 1e-15 relative accuracy.
 *
 * For |x| < 3 it sums the positive series erf(x) = 2 / sqrt(pi) exp(-x^2) sum_k 2^k x^(2k+1) / (2k+1)!!
 * (no cancellation); for |x| >= 3 it uses erf = 1 - erfc with erfc's continued fraction
 * erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return -erf(-x);
  if (x < 3) {
    let term = x;
    let sum = x;
    const x2 = 2 * x * x;
    for (let k = 1; k < 200; k++) {
      term *= x2 / (2 * k + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return (2 / SQRT_PI) * Math.exp(-x * x) * sum;
  }
  return 1 - erfc(x);
}

/** The complementary error function erfc(x) = 1 - erf(x), accurate in the tail (x >= 3 by continued fraction). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 3) return 1 - erf(x);
  // Backward evaluation of the continued fraction; 80 levels converge to machine precision for x >= 3.
  let f = x;
  for (let k = 80; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/**
 * The radial integral xi(x) = int_0^x r^2 exp(-r^2 / 2) dr of the clipped-ReLU closed forms.
 *
 * Closed form (integration by parts): xi(x) = sqrt(pi / 2) erf(x / sqrt(2)) - x exp(-x^2 / 2); for
 * x < 0.5 the series xi(x) = sum_k (-1)^k x^(2k+3) / (2^k k! (2k+3)) avoids the cancellation.
 * xi(0) = 0 and xi(+infinity) = sqrt(pi / 2).
 */
export function xi(x: number): number {
  if (!(x >= 0)) {
    throw new ConfigError({ where: 'study.ste.xi argument x', received: x, expected: 'a number >= 0' });
  }
  if (x === Number.POSITIVE_INFINITY) return SQRT_HALF_PI;
  if (x < 0.5) {
    const x2 = x * x;
    let power = x * x2; // x^(2k+3) / (2^k k!) for k = 0
    let sum = power / 3;
    for (let k = 1; k < 40; k++) {
      power *= -x2 / (2 * k);
      const term = power / (2 * k + 3);
      sum += term;
      if (Math.abs(term) < 1e-18 * Math.abs(sum)) break;
    }
    return sum;
  }
  return SQRT_HALF_PI * erf(x / Math.SQRT2) - x * Math.exp(-0.5 * x * x);
}

// Gauss-Kronrod 15-point rule (QUADPACK qk15): Kronrod nodes on [0, 1) of [-1, 1], weights, and the
// weights of the embedded 7-point Gauss rule (nodes xgk[1], xgk[3], xgk[5], xgk[7]).
const XGK = [
  0.9914553711208126, 0.9491079123427585, 0.8648644233597691, 0.7415311855993945, 0.5860872354676911,
  0.4058451513773972, 0.20778495500789848, 0,
];
const WGK = [
  0.022935322010529224, 0.06309209262997856, 0.10479001032225019, 0.14065325971552592, 0.1690047266392679,
  0.19035057806478542, 0.20443294007529889, 0.20948214108472782,
];
const WG = [0.1294849661688697, 0.27970539148927664, 0.3818300505051189, 0.4179591836734694];

function gk15(f: (x: number) => number, a: number, b: number): { value: number; error: number } {
  const c = 0.5 * (a + b);
  const h = 0.5 * (b - a);
  const fc = f(c);
  let kronrod = fc * WGK[7];
  let gauss = fc * WG[3];
  for (let j = 0; j < 7; j++) {
    const dx = h * XGK[j];
    const s = f(c - dx) + f(c + dx);
    kronrod += WGK[j] * s;
    if (j % 2 === 1) gauss += WG[(j - 1) / 2] * s;
  }
  return { value: kronrod * h, error: Math.abs((kronrod - gauss) * h) };
}

/** Options of {@link integrate}. */
export interface IntegrateOptions {
  /** Absolute error target (default 1e-13). */
  absTol?: number;
  /** Relative error target (default 1e-12). */
  relTol?: number;
  /** Maximum bisection depth (default 30). */
  maxDepth?: number;
}

/**
 * Adaptive Gauss-Kronrod (G7-K15) quadrature of int_a^b f(x) dx.
 *
 * Each interval is accepted when |K15 - G7| is below max(absTol, relTol |K15|) scaled to its share of
 * [a, b]; otherwise it is bisected. Integrands must be finite at interior nodes (the endpoints are never
 * evaluated, so a removable singularity there is fine).
 */
export function integrate(
  f: (x: number) => number,
  a: number,
  b: number,
  options: IntegrateOptions = {},
): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    throw new ConfigError({
      where: 'study.ste.integrate bounds',
      received: `[${a}, ${b}]`,
      expected: 'finite bounds',
    });
  }
  if (a === b) return 0;
  const absTol = options.absTol ?? 1e-13;
  const relTol = options.relTol ?? 1e-12;
  const maxDepth = options.maxDepth ?? 30;
  const whole = gk15(f, a, b);
  const tol = Math.max(absTol, relTol * Math.abs(whole.value));
  const total = b - a;
  const recurse = (lo: number, hi: number, est: { value: number; error: number }, depth: number): number => {
    if (est.error <= (tol * (hi - lo)) / total || depth >= maxDepth) return est.value;
    const mid = 0.5 * (lo + hi);
    return recurse(lo, mid, gk15(f, lo, mid), depth + 1) + recurse(mid, hi, gk15(f, mid, hi), depth + 1);
  };
  return recurse(a, b, whole, 0);
}

/** The standard normal CDF Phi(x) = (1 + erf(x / sqrt 2)) / 2 (tail-accurate for x < 0 through erfc). */
export function normalCdf(x: number): number {
  return x < 0 ? 0.5 * erfc(-x / Math.SQRT2) : 0.5 * (1 + erf(x / Math.SQRT2));
}

/**
 * The standard normal quantile Phi^-1(p) for p in (0, 1), by bisection on {@link normalCdf} (to 1e-12).
 * Used to set Monte Carlo tolerances from a false-alarm probability instead of ad-hoc constants.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    throw new ConfigError({
      where: 'study.ste.normalQuantile p',
      received: p,
      expected: 'a number in (0, 1)',
    });
  }
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = 0.5 * (lo + hi);
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

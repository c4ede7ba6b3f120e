import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../errors.js';
import { Random } from '../../util/random.js';
import {
  angle,
  clippedReluIntegrals,
  coarseTrueCosine,
  coarseTrueInnerProduct,
  criticalPoints,
  expectedCoarseGradient,
  expectedCoarseGradientW,
  lossGradientV,
  populationGradient,
  populationLoss,
  randomTeacher,
  STE_NAMES,
  type SteName,
  teacher,
} from './model.js';
import { normalQuantile } from './numeric.js';
import { monteCarlo } from './sampled.js';
import { dot, lincomb, norm, scale, sum } from './vec.js';

const m = 5;
const n = 10;
const T = randomTeacher(new Random(11), m, n);

/** Points (v, w) at which closed forms are checked: generic, |w| != 1, theta near 0 and near pi. */
function points(): { name: string; v: Float64Array; w: Float64Array }[] {
  const rng = new Random(12);
  const v = Float64Array.from({ length: m }, () => rng.normal());
  const dir = Float64Array.from({ length: n }, () => rng.normal());
  const perp = lincomb(1, dir, -dot(dir, T.wStar), T.wStar);
  const u = scale(1 / norm(perp), perp);
  const at = (theta: number, r: number) => lincomb(r * Math.cos(theta), T.wStar, r * Math.sin(theta), u);
  return [
    { name: 'theta = 1.1, |w| = 1', v, w: at(1.1, 1) },
    { name: 'theta = 2.3, |w| = 0.4', v, w: at(2.3, 0.4) },
    { name: 'theta = 0.3, |w| = 2.5', v, w: at(0.3, 2.5) },
  ];
}

// Monte Carlo comparisons: K components per STE and point; with a family-wise false-alarm probability
// alpha = 1e-3 over all comparisons of the suite (Bonferroni), each |closed - MC| must be below
// z * SE with z = Phi^-1(1 - alpha / (2 K_total)).
const SAMPLES = 120_000;
const K_TOTAL = points().length * STE_NAMES.length * (n + m + 1);
const Z = normalQuantile(1 - 1e-3 / (2 * K_TOTAL));

describe('closed forms versus Monte Carlo', () => {
  const rng = new Random(13);
  for (const p of points()) {
    for (const ste of STE_NAMES) {
      it(`E[g_${ste}], df/dv and f at ${p.name}`, () => {
        const mc = monteCarlo(rng, T, p.v, p.w, ste, SAMPLES);
        const cf = expectedCoarseGradient(T, p.v, p.w, ste);
        for (let j = 0; j < n; j++) {
          expect(Math.abs(cf.w[j] - mc.coarseW[j])).toBeLessThan(Z * mc.coarseWStdError[j]);
        }
        for (let i = 0; i < m; i++)
          expect(Math.abs(cf.v[i] - mc.gradV[i])).toBeLessThan(Z * mc.gradVStdError[i]);
        expect(Math.abs(populationLoss(T, p.v, p.w) - mc.loss)).toBeLessThan(Z * mc.lossStdError);
      });
    }
  }

  it('has the power to reject a 10% error in the ReLU formula (the check can fail)', () => {
    const p = points()[0];
    const mc = monteCarlo(new Random(14), T, p.v, p.w, 'relu', SAMPLES);
    const wrong = scale(1.1, expectedCoarseGradientW(T, p.v, p.w, 'relu'));
    const rejected = Array.from(wrong).some(
      (x, j) => Math.abs(x - mc.coarseW[j]) > Z * mc.coarseWStdError[j],
    );
    expect(rejected).toBe(true);
  });
});

describe('population gradient versus finite differences of f', () => {
  for (const p of points()) {
    it(`at ${p.name}`, () => {
      const g = populationGradient(T, p.v, p.w);
      const h = 1e-6;
      for (let i = 0; i < m; i++) {
        const up = Float64Array.from(p.v);
        const down = Float64Array.from(p.v);
        up[i] += h;
        down[i] -= h;
        const fd = (populationLoss(T, up, p.w) - populationLoss(T, down, p.w)) / (2 * h);
        expect(g.v[i]).toBeCloseTo(fd, 8);
      }
      for (let j = 0; j < n; j++) {
        const up = Float64Array.from(p.w);
        const down = Float64Array.from(p.w);
        up[j] += h;
        down[j] -= h;
        const fd = (populationLoss(T, p.v, up) - populationLoss(T, p.v, down)) / (2 * h);
        expect(g.w[j]).toBeCloseTo(fd, 8);
      }
    });
  }
});

describe('hand-worked case m = 1, n = 2', () => {
  // v* = 2, w* = e1, w = e2 (theta = pi/2): sigma and sigma* are independent Bernoulli(1/2), so
  // f(v = 1) = E[(sigma - 2 sigma*)^2] / 2 = (1/2 - 1 + 2) / 2 = 0.75, df/dv = E[sigma (sigma - 2 sigma*)] = 1/2 - 1/2 = 0.
  const t1 = teacher([2], [1, 0]);
  it('population loss and df/dv', () => {
    expect(angle([0, 1], [1, 0])).toBeCloseTo(Math.PI / 2, 15);
    expect(populationLoss(t1, [1], [0, 3])).toBeCloseTo(0.75, 15);
    expect(lossGradientV(t1, [1], Math.PI / 2)[0]).toBeCloseTo(0, 15);
    // df/dw = -(v v*) / (2 pi |w|) w*_perp: -(2) / (2 pi 3) e1.
    const g = populationGradient(t1, [1], [0, 3]);
    expect(g.w[0]).toBeCloseTo(-1 / (3 * Math.PI), 15);
    expect(g.w[1]).toBeCloseTo(0, 15);
  });
  it('identity coarse gradient: (|v|^2 w_hat - (v^T v*) w*) / sqrt(2 pi)', () => {
    const g = expectedCoarseGradientW(t1, [1], [0, 3], 'identity');
    expect(g[0]).toBeCloseTo(-2 / Math.sqrt(2 * Math.PI), 15);
    expect(g[1]).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 15);
  });
});

describe('inner products <E[g], df/dw> and cosines', () => {
  for (const p of points()) {
    for (const ste of STE_NAMES) {
      it(`closed form equals the dot product of the vectors for ${ste} at ${p.name}`, () => {
        const ip = coarseTrueInnerProduct(T, p.v, p.w, ste);
        const direct = dot(expectedCoarseGradientW(T, p.v, p.w, ste), populationGradient(T, p.v, p.w).w);
        expect(ip).toBeGreaterThanOrEqual(0);
        expect(ip).toBeCloseTo(direct, 12);
        const c = coarseTrueCosine(T, p.v, p.w, ste);
        expect(c).toBeGreaterThanOrEqual(0);
        expect(c).toBeLessThanOrEqual(1 + 1e-12);
      });
    }
  }
  it('identity is twice the ReLU inner product (sin(theta) / (2 pi)^(3/2) vs half of it)', () => {
    const p = points()[0];
    expect(coarseTrueInnerProduct(T, p.v, p.w, 'identity')).toBeCloseTo(
      2 * coarseTrueInnerProduct(T, p.v, p.w, 'relu'),
      14,
    );
  });
});

describe('clipped ReLU', () => {
  it('closed-form p, q agree with the quadrature of the paper', () => {
    for (const theta of [0, 1e-6, 0.2, 1, 2, 3, Math.PI - 1e-6, Math.PI]) {
      for (const r of [0.01, 0.3, 1, 4, 50]) {
        const a = clippedReluIntegrals(theta, r);
        const b = clippedReluIntegrals(theta, r, 'quadrature');
        expect(a.p0).toBeCloseTo(b.p0, 12);
        expect(a.p).toBeCloseTo(b.p, 12);
        expect(a.q).toBeCloseTo(b.q, 12);
        expect(a.qOverSinHalf).toBeCloseTo(b.qOverSinHalf, 9);
      }
    }
  });

  it('tends to the ReLU forms as |w| -> 0', () => {
    for (const p of points()) {
      const small = scale(1e-5 / norm(p.w), p.w);
      const relu = expectedCoarseGradientW(T, p.v, small, 'relu');
      const crelu = expectedCoarseGradientW(T, p.v, small, 'clipped_relu');
      for (let j = 0; j < n; j++) expect(crelu[j]).toBeCloseTo(relu[j], 12);
      const ratio =
        coarseTrueInnerProduct(T, p.v, small, 'clipped_relu') / coarseTrueInnerProduct(T, p.v, small, 'relu');
      expect(ratio).toBeCloseTo(1, 12);
      // and differs from ReLU at |w| = 2, where 1{0 < z^T w < 1} cuts off half the mass.
      const big = scale(2 / norm(p.w), p.w);
      const diff = norm(
        lincomb(
          1,
          expectedCoarseGradientW(T, p.v, big, 'clipped_relu'),
          -1,
          expectedCoarseGradientW(T, p.v, big, 'relu'),
        ),
      );
      expect(diff).toBeGreaterThan(1e-2);
    }
  });

  it('p(0, w) = (1 - exp(-1 / (2 |w|^2))) / sqrt(2 pi), q(pi / 2, w) = erf(1 / (sqrt 2 |w|)) / (2 sqrt(2 pi))', () => {
    // Hand-derived at |w| = 1: 1 - exp(-1/2) = 0.3934693402873666; erf(1 / sqrt 2) = 0.6826894921370859.
    const a = clippedReluIntegrals(Math.PI / 2, 1, 'quadrature');
    expect(a.p0).toBeCloseTo(0.3934693402873666 / Math.sqrt(2 * Math.PI), 13);
    expect(a.q).toBeCloseTo(0.6826894921370859 / (2 * Math.sqrt(2 * Math.PI)), 13);
  });
});

describe('critical points', () => {
  const cp = criticalPoints(T);
  const s = sum(T.vStar);
  it('global minimum: f = 0, df/dv = 0, all coarse gradients 0', () => {
    expect(cp.globalMin.loss).toBeCloseTo(0, 14);
    for (const ste of STE_NAMES)
      expect(norm(expectedCoarseGradientW(T, cp.globalMin.v, cp.globalMin.w, ste))).toBeLessThan(1e-14);
  });

  it('spurious minimum: v = -v* + 2 (1^T v*) / (m + 1) 1 solves (I + 11^T) v = (11^T - I) v*', () => {
    const v = cp.spurious.v;
    const sv = sum(v);
    for (let i = 0; i < m; i++) expect(v[i] + sv).toBeCloseTo(s - T.vStar[i], 13);
    expect(norm(populationGradient(T, v, cp.spurious.w).v)).toBeLessThan(1e-14);
    expect(cp.spurious.isLocalMin).toBe(s * s < ((m + 1) / 2) * dot(T.vStar, T.vStar));
  });

  it('Lemma 9: |E[g_id]| = 2 (m-1) / (sqrt(2 pi) (m+1)^2) (1^T v*)^2; E[g_relu] = E[g_crelu] = 0', () => {
    const expected = ((2 * (m - 1)) / (Math.sqrt(2 * Math.PI) * (m + 1) ** 2)) * s * s;
    for (const r of [1, 0.2, 5]) {
      const w = scale(r, cp.spurious.w);
      expect(norm(expectedCoarseGradientW(T, cp.spurious.v, w, 'identity'))).toBeCloseTo(expected, 13);
      expect(norm(expectedCoarseGradientW(T, cp.spurious.v, w, 'relu'))).toBeLessThan(1e-14);
      expect(norm(expectedCoarseGradientW(T, cp.spurious.v, w, 'clipped_relu'))).toBeLessThan(1e-14);
    }
  });

  it('saddle (eq. 9): v^T v* = 0 and df/dv = 0 at the saddle angle, so df/dw = 0 too', () => {
    const t2 = teacher([1, -0.5, 0.25], [0.6, 0.8, 0]);
    // (1^T v*)^2 = 0.5625 < (m+1)/2 |v*|^2 = 2 * 1.3125: the saddle exists.
    const c2 = criticalPoints(t2);
    expect(c2.saddle).not.toBeNull();
    const sd = c2.saddle!;
    expect(dot(sd.v, t2.vStar)).toBeCloseTo(0, 14);
    expect(norm(lossGradientV(t2, sd.v, sd.theta))).toBeLessThan(1e-14);
    // c = 1 - 2 theta / pi = -(0.5625) / (4 * 1.3125 - 0.5625) by hand.
    expect(1 - (2 * sd.theta) / Math.PI).toBeCloseTo(-0.5625 / (4 * 1.3125 - 0.5625), 14);
    // No saddle when (1^T v*)^2 >= (m+1)/2 |v*|^2.
    expect(criticalPoints(teacher([1, 1, 1], [1, 0])).saddle).toBeNull();
  });
});

describe('input validation', () => {
  it('throws typed errors naming the problem', () => {
    expect(() => teacher([1], [1, 1])).toThrow(ConfigError);
    expect(() => teacher([1], [1])).toThrow(ShapeError);
    expect(() => populationLoss(T, [1, 2], new Float64Array(n))).toThrow(ShapeError);
    expect(() => populationLoss(T, new Float64Array(m), new Float64Array(n))).toThrow(/w != 0/);
    expect(() => expectedCoarseGradientW(T, new Float64Array(m), T.wStar, 'sign' as SteName)).toThrow(
      /identity, relu, clipped_relu/,
    );
    expect(() => clippedReluIntegrals(4, 1)).toThrow(ConfigError);
    expect(() => teacher([Number.NaN], [1, 0])).toThrow(/finite/);
  });
});

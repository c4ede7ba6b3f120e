/**
 * The sampled (empirical) side of the STE toy model of Yin et al., ICLR 2019 (arXiv 1903.05662):
 * batches of Gaussian inputs Z, the empirical loss and coarse gradient on a batch, and Monte Carlo
 * estimates of the population quantities with their standard errors.
 */
import { ConfigError } from '../../errors.js';
import type { Random } from '../../util/random.js';
import { checkDims, checkSte, type SteName, steDerivative, type Teacher, type VW } from './model.js';

/** A batch of N inputs Z_k in R^{m x n}, row-major, stored back to back in `data` (N m n numbers). */
export interface InputBatch {
  readonly count: number;
  readonly m: number;
  readonly n: number;
  readonly data: Float64Array;
}

/** Draws N input matrices Z with i.i.d. N(0, 1) entries from the seeded `rng`. */
export function sampleInputs(rng: Random, count: number, m: number, n: number): InputBatch {
  checkDims(m, n, 'study.ste.sampleInputs');
  if (!Number.isInteger(count) || count < 1) {
    throw new ConfigError({
      where: 'study.ste.sampleInputs count',
      received: count,
      expected: 'an integer >= 1',
    });
  }
  const data = new Float64Array(count * m * n);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { count, m, n, data };
}

function checkBatch(batch: InputBatch, t: Teacher, where: string): void {
  if (batch.m !== t.m || batch.n !== t.n) {
    throw new ConfigError({
      where: `${where} batch`,
      received: `inputs of size ${batch.m} x ${batch.n}`,
      expected: `${t.m} x ${t.n} (the teacher's m x n)`,
    });
  }
}

/** Per-sample statistics of a batch: means and standard errors (sample std / sqrt(N)). */
export interface BatchStatistics {
  /** Mean sample loss 1/N sum_k 1/2 (v^T sigma(Z_k w) - y*(Z_k))^2. */
  loss: number;
  lossStdError: number;
  /** Mean of dl/dv = sigma(Z_k w) (v^T sigma(Z_k w) - y*). */
  gradV: Float64Array;
  gradVStdError: Float64Array;
  /** Mean coarse gradient g_mu = Z_k^T (mu'(Z_k w) .* v) (v^T sigma(Z_k w) - y*). */
  coarseW: Float64Array;
  coarseWStdError: Float64Array;
}

/** Running sums and sums of squares of the per-sample loss, dl/dv and g_mu. */
interface Accumulator {
  count: number;
  sL: number;
  qL: number;
  sV: Float64Array;
  qV: Float64Array;
  sW: Float64Array;
  qW: Float64Array;
}

function newAccumulator(m: number, n: number): Accumulator {
  return {
    count: 0,
    sL: 0,
    qL: 0,
    sV: new Float64Array(m),
    qV: new Float64Array(m),
    sW: new Float64Array(n),
    qW: new Float64Array(n),
  };
}

/** Adds the samples of `batch` at (v, w) to `acc`. */
function accumulate(
  acc: Accumulator,
  batch: InputBatch,
  t: Teacher,
  v: ArrayLike<number>,
  w: ArrayLike<number>,
  ste: SteName,
): void {
  const { m, n, count, data } = batch;
  const { vStar, wStar } = t;
  const act = new Float64Array(m);
  const mu = new Float64Array(m);
  const g = new Float64Array(n);
  for (let k = 0; k < count; k++) {
    const base = k * m * n;
    let y = 0;
    let yStar = 0;
    for (let i = 0; i < m; i++) {
      const row = base + i * n;
      let a = 0;
      let aStar = 0;
      for (let j = 0; j < n; j++) {
        a += data[row + j] * w[j];
        aStar += data[row + j] * wStar[j];
      }
      act[i] = a > 0 ? 1 : 0;
      mu[i] = steDerivative(ste, a) * v[i];
      y += v[i] * act[i];
      if (aStar > 0) yStar += vStar[i];
    }
    const r = y - yStar;
    const l = 0.5 * r * r;
    acc.sL += l;
    acc.qL += l * l;
    for (let i = 0; i < m; i++) {
      const d = act[i] * r;
      acc.sV[i] += d;
      acc.qV[i] += d * d;
    }
    g.fill(0);
    for (let i = 0; i < m; i++) {
      if (mu[i] === 0) continue;
      const row = base + i * n;
      const c = mu[i] * r;
      for (let j = 0; j < n; j++) g[j] += data[row + j] * c;
    }
    for (let j = 0; j < n; j++) {
      acc.sW[j] += g[j];
      acc.qW[j] += g[j] * g[j];
    }
  }
  acc.count += count;
}

function finish(acc: Accumulator): BatchStatistics {
  const N = acc.count;
  // Unbiased sample variance; the standard error of the mean is sqrt(var / N) (NaN for N = 1).
  const se = (s: number, q: number): number =>
    N > 1 ? Math.sqrt(Math.max(0, (q - (s * s) / N) / (N - 1)) / N) : Number.NaN;
  return {
    loss: acc.sL / N,
    lossStdError: se(acc.sL, acc.qL),
    gradV: acc.sV.map((s) => s / N),
    gradVStdError: acc.sV.map((s, i) => se(s, acc.qV[i])),
    coarseW: acc.sW.map((s) => s / N),
    coarseWStdError: acc.sW.map((s, i) => se(s, acc.qW[i])),
  };
}

/**
 * Empirical loss, dl/dv and coarse gradient g_mu on `batch` at (v, w), with per-component standard
 * errors se = sqrt(var / N) from the unbiased sample variance (NaN when N = 1).
 */
export function batchStatistics(
  batch: InputBatch,
  t: Teacher,
  v: ArrayLike<number>,
  w: ArrayLike<number>,
  ste: SteName,
): BatchStatistics {
  checkBatch(batch, t, 'study.ste.batchStatistics');
  checkSte(ste, 'study.ste.batchStatistics ste');
  const acc = newAccumulator(t.m, t.n);
  accumulate(acc, batch, t, v, w, ste);
  return finish(acc);
}

/**
 * The empirical loss 1/N sum_k 1/2 (v^T sigma(Z_k w) - v*^T sigma(Z_k w*))^2 on `batch` (the
 * piecewise-constant-in-w function the paper's Figure 1 plots).
 */
export function empiricalLoss(
  batch: InputBatch,
  t: Teacher,
  v: ArrayLike<number>,
  w: ArrayLike<number>,
): number {
  checkBatch(batch, t, 'study.ste.empiricalLoss');
  const { m, n, count, data } = batch;
  let total = 0;
  for (let k = 0; k < count; k++) {
    const base = k * m * n;
    let r = 0;
    for (let i = 0; i < m; i++) {
      const row = base + i * n;
      let a = 0;
      let aStar = 0;
      for (let j = 0; j < n; j++) {
        a += data[row + j] * w[j];
        aStar += data[row + j] * t.wStar[j];
      }
      if (a > 0) r += v[i];
      if (aStar > 0) r -= t.vStar[i];
    }
    total += 0.5 * r * r;
  }
  return total / count;
}

/**
 * The empirical loss on `batch` along a line: for each eta, l(v - eta dv, w - eta dw) averaged over the
 * batch. Z_k w and Z_k dw are computed once, so each eta costs O(N m) instead of O(N m n); the result
 * equals {@link empiricalLoss} at each point.
 */
export function empiricalLossAlongLine(
  batch: InputBatch,
  t: Teacher,
  v: ArrayLike<number>,
  w: ArrayLike<number>,
  dv: ArrayLike<number>,
  dw: ArrayLike<number>,
  etas: ArrayLike<number>,
): Float64Array {
  checkBatch(batch, t, 'study.ste.empiricalLossAlongLine');
  const { m, n, count, data } = batch;
  const a = new Float64Array(count * m);
  const b = new Float64Array(count * m);
  const yStar = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < m; i++) {
      const row = (k * m + i) * n;
      let zw = 0;
      let zd = 0;
      let zs = 0;
      for (let j = 0; j < n; j++) {
        zw += data[row + j] * w[j];
        zd += data[row + j] * dw[j];
        zs += data[row + j] * t.wStar[j];
      }
      a[k * m + i] = zw;
      b[k * m + i] = zd;
      if (zs > 0) yStar[k] += t.vStar[i];
    }
  }
  const out = new Float64Array(etas.length);
  for (let e = 0; e < etas.length; e++) {
    const eta = etas[e];
    let total = 0;
    for (let k = 0; k < count; k++) {
      let r = -yStar[k];
      for (let i = 0; i < m; i++) {
        // Same rounding as empiricalLoss up to the order of the sum Z (w - eta dw) = Z w - eta Z dw.
        if (a[k * m + i] - eta * b[k * m + i] > 0) r += v[i] - eta * dv[i];
      }
      total += 0.5 * r * r;
    }
    out[e] = total / count;
  }
  return out;
}

/** The empirical coarse gradient of Algorithm 1 on `batch`: (mean dl/dv, mean g_mu). */
export function empiricalCoarseGradient(
  batch: InputBatch,
  t: Teacher,
  v: ArrayLike<number>,
  w: ArrayLike<number>,
  ste: SteName,
): VW {
  const s = batchStatistics(batch, t, v, w, ste);
  return { v: s.gradV, w: s.coarseW };
}

/**
 * Monte Carlo estimate of the population loss, E[dl/dv] and E[g_mu] from `samples` fresh inputs drawn
 * in chunks (so memory stays small), with standard errors; the independent check of the closed forms.
 */
export function monteCarlo(
  rng: Random,
  t: Teacher,
  v: ArrayLike<number>,
  w: ArrayLike<number>,
  ste: SteName,
  samples: number,
): BatchStatistics {
  if (!Number.isInteger(samples) || samples < 2) {
    throw new ConfigError({
      where: 'study.ste.monteCarlo samples',
      received: samples,
      expected: 'an integer >= 2',
    });
  }
  checkSte(ste, 'study.ste.monteCarlo ste');
  // Fresh inputs in chunks so memory stays small whatever the sample count.
  const chunk = 4096;
  const acc = newAccumulator(t.m, t.n);
  while (acc.count < samples) {
    const c = Math.min(chunk, samples - acc.count);
    accumulate(acc, sampleInputs(rng, c, t.m, t.n), t, v, w, ste);
  }
  return finish(acc);
}

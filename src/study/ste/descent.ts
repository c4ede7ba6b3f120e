/**
 * Algorithm 1 of Yin et al., ICLR 2019 (arXiv 1903.05662): coarse gradient descent
 * v <- v - eta E[dl/dv], w <- w - eta E[g_mu], in the population version (closed-form expectations)
 * and the empirical version (means over a sampled batch, fixed or drawn afresh every step).
 */
import { ConfigError } from '../../errors.js';
import type { Random } from '../../util/random.js';
import {
  angle,
  checkSte,
  expectedCoarseGradient,
  populationGradient,
  populationLoss,
  type SteName,
  type Teacher,
} from './model.js';
import { empiricalCoarseGradient, empiricalLoss, type InputBatch, sampleInputs } from './sampled.js';
import { norm, toVec, type VecLike } from './vec.js';

/** Options of {@link coarseGradientDescent}. */
export interface DescentOptions {
  teacher: Teacher;
  /** Starting v (length m). */
  v0: VecLike;
  /** Starting w (length n, nonzero). */
  w0: VecLike;
  ste: SteName;
  /** Step size eta > 0. */
  stepSize: number;
  /** Number of iterations (>= 0). */
  iterations: number;
  /**
   * 'population' (default): closed-form E[dl/dv] = df/dv and E[g_mu]. 'empirical': means over `batch`,
   * or over a fresh batch of `batchSize` inputs from `rng` at every step.
   */
  mode?: 'population' | 'empirical';
  /** Fixed sampled inputs for the empirical mode. */
  batch?: InputBatch;
  /** Fresh inputs per step for the empirical mode (with `rng`). */
  batchSize?: number;
  rng?: Random;
  /** Record every `recordEvery` iterations (default 1); the first and last iterates are always kept. */
  recordEvery?: number;
  /**
   * Stop early when the norm of the (expected, population) coarse gradient (df/dv, E[g_mu]) drops below
   * this (default 0: never).
   */
  tolerance?: number;
}

/** One recorded iterate of {@link coarseGradientDescent}. */
export interface DescentRecord {
  iteration: number;
  /** Population loss f(v, w) (closed form). */
  loss: number;
  /** |(df/dv, E[g_mu])|, the population coarse gradient norm. */
  coarseNorm: number;
  /** |df/dv|. */
  gradVNorm: number;
  /** |df/dw| (0 at theta in {0, pi}, where f is not differentiable in w). */
  gradWNorm: number;
  /**
   * Distance from criticality in the paper's sense (df/dv = 0 and either df/dw = 0 or theta in {0, pi}):
   * max(|df/dv|, min(|df/dw|, theta, pi - theta)).
   */
  criticality: number;
  /** Angle theta between w and w*. */
  theta: number;
  wNorm: number;
  /** Empirical loss on the batch used for the step (empirical mode only). */
  empiricalLoss?: number;
}

/** Result of {@link coarseGradientDescent}. */
export interface DescentResult {
  v: Float64Array;
  w: Float64Array;
  records: DescentRecord[];
  /** Iterations actually run (fewer than requested when the tolerance stopped it). */
  iterations: number;
  /** Why it stopped: all iterations done, gradient below tolerance, or w reached 0 / non-finite values. */
  stop: 'iterations' | 'tolerance' | 'degenerate';
  /** Over every iteration (not only recorded ones): how often f went up, and the largest rise. */
  lossIncreases: number;
  maxLossIncrease: number;
  /** The smallest |w| seen over every iteration. */
  minWNorm: number;
  /** The largest f seen over every iteration. */
  maxLoss: number;
}

function concat(a: Float64Array, b: Float64Array): number {
  return Math.sqrt(norm(a) ** 2 + norm(b) ** 2);
}

/**
 * Runs Algorithm 1 (coarse gradient descent) from (v0, w0):
 * v_{t+1} = v_t - eta E[dl/dv](v_t, w_t), w_{t+1} = w_t - eta E[g_mu](v_t, w_t),
 * with expectations in closed form (population) or as batch means (empirical). Records the population
 * loss f, the population coarse and true gradient norms, theta and |w| along the way.
 * @example coarseGradientDescent({ teacher: t, v0, w0, ste: 'relu', stepSize: 0.01, iterations: 1000 })
 */
export function coarseGradientDescent(options: DescentOptions): DescentResult {
  const t = options.teacher;
  const ste = checkSte(options.ste, 'study.ste.coarseGradientDescent ste');
  const eta = options.stepSize;
  if (!(eta > 0 && Number.isFinite(eta))) {
    throw new ConfigError({
      where: 'study.ste.coarseGradientDescent stepSize',
      received: eta,
      expected: 'a finite number > 0',
    });
  }
  const iterations = options.iterations;
  if (!Number.isInteger(iterations) || iterations < 0) {
    throw new ConfigError({
      where: 'study.ste.coarseGradientDescent iterations',
      received: iterations,
      expected: 'an integer >= 0',
    });
  }
  const every = options.recordEvery ?? 1;
  if (!Number.isInteger(every) || every < 1) {
    throw new ConfigError({
      where: 'study.ste.coarseGradientDescent recordEvery',
      received: every,
      expected: 'an integer >= 1',
    });
  }
  const mode = options.mode ?? 'population';
  if (mode !== 'population' && mode !== 'empirical') {
    throw new ConfigError({
      where: 'study.ste.coarseGradientDescent mode',
      received: mode,
      expected: ['population', 'empirical'],
    });
  }
  if (mode === 'empirical' && !options.batch && !(options.batchSize && options.rng)) {
    throw new ConfigError({
      where: 'study.ste.coarseGradientDescent empirical mode',
      received: 'neither batch nor batchSize with rng',
      expected: 'a fixed batch, or batchSize and a seeded rng',
    });
  }
  const v = toVec(options.v0, 'study.ste.coarseGradientDescent v0', t.m);
  const w = toVec(options.w0, 'study.ste.coarseGradientDescent w0', t.n);
  const tol = options.tolerance ?? 0;
  const records: DescentRecord[] = [];
  const record = (it: number, coarse: { v: Float64Array; w: Float64Array }, emp?: number): number => {
    const trueGrad = populationGradient(t, v, w);
    const theta = angle(w, t.wStar);
    const coarseNorm = concat(coarse.v, coarse.w);
    const rec: DescentRecord = {
      iteration: it,
      loss: populationLoss(t, v, w),
      coarseNorm,
      gradVNorm: norm(trueGrad.v),
      gradWNorm: norm(trueGrad.w),
      criticality: Math.max(norm(trueGrad.v), Math.min(norm(trueGrad.w), theta, Math.PI - theta)),
      theta,
      wNorm: norm(w),
    };
    if (emp !== undefined) rec.empiricalLoss = emp;
    records.push(rec);
    return coarseNorm;
  };
  let stop: DescentResult['stop'] = 'iterations';
  let done = 0;
  let previous = Number.NaN;
  let lossIncreases = 0;
  let maxLossIncrease = 0;
  let minWNorm = Number.POSITIVE_INFINITY;
  let maxLoss = Number.NEGATIVE_INFINITY;
  for (let it = 0; it <= iterations; it++) {
    if (!(norm(w) > 0) || !v.every(Number.isFinite) || !w.every(Number.isFinite)) {
      stop = 'degenerate';
      break;
    }
    const loss = populationLoss(t, v, w);
    // Rises within rounding of f are not counted as increases.
    const rise = loss - previous;
    if (rise > 1e-13 * Math.max(1, Math.abs(previous))) {
      lossIncreases++;
      maxLossIncrease = Math.max(maxLossIncrease, rise);
    }
    previous = loss;
    maxLoss = Math.max(maxLoss, loss);
    minWNorm = Math.min(minWNorm, norm(w));
    const population = expectedCoarseGradient(t, v, w, ste);
    let step = population;
    let emp: number | undefined;
    if (mode === 'empirical') {
      const batch = options.batch ?? sampleInputs(options.rng!, options.batchSize!, t.m, t.n);
      step = empiricalCoarseGradient(batch, t, v, w, ste);
      emp = empiricalLoss(batch, t, v, w);
    }
    const popNorm = concat(population.v, population.w);
    const last = it === iterations || popNorm < tol;
    if (it % every === 0 || last) record(it, population, emp);
    if (popNorm < tol) {
      stop = 'tolerance';
      break;
    }
    if (it === iterations) break;
    for (let i = 0; i < t.m; i++) v[i] -= eta * step.v[i];
    for (let j = 0; j < t.n; j++) w[j] -= eta * step.w[j];
    done = it + 1;
  }
  return { v, w, records, iterations: done, stop, lossIncreases, maxLossIncrease, minWNorm, maxLoss };
}

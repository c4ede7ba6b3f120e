/**
 * Experiments 1-3 of lowbit's STE study, reproducing the toy-model claims of Yin et al.,
 * "Understanding Straight-Through Estimator in Training Activation Quantized Neural Nets", ICLR 2019
 * (arXiv 1903.05662): Figure 1 / Remark 1 (empirical loss along the negative coarse gradient for few and
 * many samples), Theorem 1 (convergence of Algorithm 1 with the ReLU and clipped-ReLU STEs) and the
 * instability of the identity STE at the spurious minima (Lemma 9). Each experiment returns plain data;
 * the `add...Section` functions turn it into report sections.
 */
import { ConfigError } from '../../errors.js';
import { downsample, lineChart } from '../../plot/chart.js';
import { Random } from '../../util/random.js';
import { formatNumber, type Report } from '../report.js';
import { coarseGradientDescent, type DescentRecord } from './descent.js';
import {
  angle,
  criticalPoints,
  expectedCoarseGradient,
  populationLoss,
  randomTeacher,
  STE_NAMES,
  type SteName,
  type Teacher,
} from './model.js';
import { empiricalCoarseGradient, empiricalLossAlongLine, sampleInputs } from './sampled.js';
import { dot, lincomb, norm, scale, sum } from './vec.js';

/** Shape measures of a curve sampled on a grid (the "jaggedness" of Figure 1). */
export interface CurveShape {
  /** Sign changes of the discrete derivative, ignoring steps where the curve is flat. */
  signChanges: number;
  /** Steps where the curve goes up. */
  increases: number;
  /** Steps where the curve is exactly flat (piecewise-constant parts). */
  flatSteps: number;
  /** Total variation / |last - first| (1 for a monotone curve; larger when it zigzags). */
  roughness: number;
  /**
   * The largest rise max_{i < j} (y_j - y_i), relative to |last - first|: 0 for a decreasing curve;
   * unlike the sign-change count it does not grow with the grid resolution.
   */
  relativeMaxRise: number;
  /** No step goes up. */
  monotoneDecreasing: boolean;
}

/**
 * Measures the shape of y sampled on a grid: with d_k = y_{k+1} - y_k and a flatness threshold of
 * 1e-12 max|y|, counts sign changes among non-flat d_k, rises, flat steps, TV / |net change| and the
 * largest rise relative to |net change|. Sign changes count every tiny bump, so they grow with the grid
 * resolution and with the number of jumps (many small ones for large samples); roughness and the
 * relative largest rise measure how big the non-monotone parts are.
 */
export function curveShape(y: ArrayLike<number>): CurveShape {
  let scaleY = 0;
  for (let i = 0; i < y.length; i++) scaleY = Math.max(scaleY, Math.abs(y[i]));
  const flat = 1e-12 * Math.max(scaleY, 1e-300);
  let signChanges = 0;
  let increases = 0;
  let flatSteps = 0;
  let tv = 0;
  let lastSign = 0;
  let runningMin = y.length > 0 ? y[0] : 0;
  let maxRise = 0;
  for (let i = 0; i + 1 < y.length; i++) {
    runningMin = Math.min(runningMin, y[i]);
    maxRise = Math.max(maxRise, y[i + 1] - runningMin);
    const d = y[i + 1] - y[i];
    tv += Math.abs(d);
    if (Math.abs(d) <= flat) {
      flatSteps++;
      continue;
    }
    const s = Math.sign(d);
    if (s > 0) increases++;
    if (lastSign !== 0 && s !== lastSign) signChanges++;
    lastSign = s;
  }
  const net = y.length > 0 ? Math.abs(y[y.length - 1] - y[0]) : 0;
  return {
    signChanges,
    increases,
    flatSteps,
    roughness: net > 0 ? tv / net : tv > 0 ? Number.POSITIVE_INFINITY : 1,
    relativeMaxRise: net > 0 ? maxRise / net : maxRise > 0 ? Number.POSITIVE_INFINITY : 0,
    monotoneDecreasing: increases === 0,
  };
}

/** The median of `xs` (NaN when empty). */
export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : 0.5 * (s[h - 1] + s[h]);
}

function unitVector(rng: Random, n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = rng.normal();
  return scale(1 / norm(w), w);
}

function normalVector(rng: Random, m: number): Float64Array {
  const v = new Float64Array(m);
  for (let i = 0; i < m; i++) v[i] = rng.normal();
  return v;
}

/**
 * The study's teacher: the first seeded draw v* ~ N(0, I_m), w* uniform on the sphere for which the
 * spurious minima exist, (1^T v*)^2 < (m + 1) / 2 |v*|^2 (so experiment 3 has something to test).
 */
export function studyTeacher(seed: number, m: number, n: number): Teacher {
  const rng = new Random(seed);
  for (let k = 0; k < 1000; k++) {
    const t = randomTeacher(rng, m, n);
    const s = sum(t.vStar);
    if (s * s < ((m + 1) / 2) * dot(t.vStar, t.vStar) && Math.abs(s) > 0.5) return t;
  }
  throw new ConfigError({
    where: 'study.ste.studyTeacher',
    received: { seed, m, n },
    expected: 'sizes for which a teacher with spurious minima can be drawn',
  });
}

// ---------------------------------------------------------------------------------------------------
// Experiment 1: Figure 1.

/** Options of {@link figure1Experiment}. */
export interface Figure1Options {
  teacher: Teacher;
  seed: number;
  /** Sample sizes N (default [10, 50, 1000]). */
  sampleSizes?: number[];
  /** Step sizes eta on [0, etaMax] (default 0.2) with `etaSteps` intervals (default 400). */
  etaMax?: number;
  etaSteps?: number;
  /** Independent (start point, batch) draws to aggregate the shape measures over (default 10). */
  repeats?: number;
  /** Norm of the start w (direction uniform; default 1). */
  wNorm?: number;
}

/** Result of {@link figure1Experiment}. */
export interface Figure1Result {
  sampleSizes: number[];
  eta: number[];
  /** Curves of the first repeat: per STE, per sample size, the empirical loss at each eta. */
  curves: Record<SteName, Record<string, number[]>>;
  /** Population loss f along the expected coarse gradient of the first repeat, per STE. */
  population: Record<SteName, number[]>;
  /** Shapes of every repeat: shapes[ste][N][repeat]. */
  shapes: Record<SteName, Record<string, CurveShape[]>>;
  /** Medians over repeats of sign changes and roughness, and the fraction of monotone curves. */
  summary: Record<
    SteName,
    Record<
      string,
      {
        medianSignChanges: number;
        medianRoughness: number;
        medianRelativeMaxRise: number;
        fractionMonotone: number;
      }
    >
  >;
}

/**
 * Figure 1 / Remark 1: at a random (v, w), takes the empirical coarse gradient on a batch of N samples
 * and plots the empirical loss on the same batch at (v, w) - eta (g_v, g_w) for eta in [0, etaMax];
 * the population loss along the expected coarse gradient is the smooth reference.
 */
export function figure1Experiment(options: Figure1Options): Figure1Result {
  const t = options.teacher;
  const sizes = options.sampleSizes ?? [10, 50, 1000];
  const etaMax = options.etaMax ?? 0.2;
  const steps = options.etaSteps ?? 400;
  const repeats = options.repeats ?? 10;
  const rng = new Random(options.seed);
  const eta = Array.from({ length: steps + 1 }, (_, i) => (etaMax * i) / steps);
  const curves = {} as Figure1Result['curves'];
  const population = {} as Figure1Result['population'];
  const shapes = {} as Figure1Result['shapes'];
  for (const ste of STE_NAMES) {
    curves[ste] = {};
    shapes[ste] = {};
    for (const N of sizes) shapes[ste][N] = [];
  }
  for (let r = 0; r < repeats; r++) {
    const v = normalVector(rng, t.m);
    const w = scale(options.wNorm ?? 1, unitVector(rng, t.n));
    const batches = sizes.map((N) => sampleInputs(rng, N, t.m, t.n));
    for (const ste of STE_NAMES) {
      if (r === 0) {
        const g = expectedCoarseGradient(t, v, w, ste);
        population[ste] = eta.map((e) => populationLoss(t, lincomb(1, v, -e, g.v), lincomb(1, w, -e, g.w)));
      }
      sizes.forEach((N, k) => {
        const g = empiricalCoarseGradient(batches[k], t, v, w, ste);
        const y = Array.from(empiricalLossAlongLine(batches[k], t, v, w, g.v, g.w, eta));
        if (r === 0) curves[ste][N] = y;
        shapes[ste][N].push(curveShape(y));
      });
    }
  }
  const summary = {} as Figure1Result['summary'];
  for (const ste of STE_NAMES) {
    summary[ste] = {};
    for (const N of sizes) {
      const s = shapes[ste][N];
      summary[ste][N] = {
        medianSignChanges: median(s.map((x) => x.signChanges)),
        medianRoughness: median(s.map((x) => x.roughness)),
        medianRelativeMaxRise: median(s.map((x) => x.relativeMaxRise)),
        fractionMonotone: s.filter((x) => x.monotoneDecreasing).length / s.length,
      };
    }
  }
  return { sampleSizes: sizes, eta, curves, population, shapes, summary };
}

/** Adds experiment 1's section (plot, table, data) to `report`. */
export function addFigure1Section(report: Report, result: Figure1Result, setup: string): void {
  const s = report.section('ste-figure1', '1. Empirical loss along the negative coarse gradient (Figure 1)');
  s.text(
    `Claim (paper, Remark 1 / Figure 1): on a small batch the empirical loss along the negative coarse gradient is jagged and non-monotone in the step size eta; with many samples it becomes smooth and monotone, like the population loss. ${setup} For each repeat a new start (v ~ N(0, I_m), |w| = 1, direction uniform) and new batches are drawn; the coarse gradient is computed on the batch and the loss is evaluated on the same batch at ${result.eta.length} step sizes in [0, ${result.eta[result.eta.length - 1]}].`,
  );
  const panels = result.sampleSizes.map((N) => ({
    title: `${N} samples`,
    x: { title: 'step size eta' },
    y: { title: 'loss' },
    series: [
      { name: 'empirical loss (ReLU STE)', x: result.eta, y: result.curves.relu[N] },
      { name: 'population loss f (ReLU STE)', x: result.eta, y: result.population.relu, dashed: true },
    ],
  }));
  s.plot(
    'ste-figure1',
    lineChart({ title: 'Loss after one coarse-gradient step (ReLU STE)', panels, width: 260, height: 200 }),
    'Empirical loss on the batch after one ReLU-STE coarse-gradient step of size eta, for 10, 50 and 1000 samples (first repeat), and the population loss along the expected coarse gradient (dashed).',
  );
  const rows: (string | number)[][] = [];
  for (const ste of STE_NAMES) {
    for (const N of result.sampleSizes) {
      const x = result.summary[ste][N];
      rows.push([
        ste,
        N,
        x.medianRoughness,
        x.medianRelativeMaxRise,
        x.medianSignChanges,
        x.fractionMonotone,
      ]);
    }
  }
  s.table(
    {
      columns: [
        'STE',
        'samples',
        'median roughness (TV / net change)',
        'median largest rise / net change',
        'median sign changes of d loss / d eta',
        'fraction strictly monotone',
      ],
      rows,
    },
    `Shape of the curves over ${result.shapes.relu[result.sampleSizes[0]].length} repeats. Roughness is 1 and the largest rise 0 for a monotone curve. Sign changes count every small bump of the piecewise-constant loss on the grid of ${result.eta.length} step sizes, so they depend on the grid and grow with the number of (small) jumps that large batches have; roughness and the largest rise measure how large the non-monotone parts are.`,
  );
  s.set('eta', result.eta)
    .set('curves', result.curves)
    .set('population', result.population)
    .set('summary', result.summary)
    .set('shapes', result.shapes);
}

// ---------------------------------------------------------------------------------------------------
// Experiment 2: convergence of Algorithm 1 from random starts.

/** Where a run of Algorithm 1 ended. */
export type EndPoint =
  | 'global minimum'
  | 'spurious minimum'
  | 'saddle'
  | 'other point with vanishing coarse gradient'
  | 'w collapsed to 0'
  | 'not converged';

/** Options of {@link convergenceExperiment}. */
export interface ConvergenceOptions {
  teacher: Teacher;
  seed: number;
  /** Number of random starts per start norm (default 50). */
  starts?: number;
  /** Norms |w0| of the starting w (direction uniform), one batch of starts each (default [1, 3]). */
  wNorms?: number[];
  stepSize?: number;
  maxIterations?: number;
  /** Stop when the population coarse gradient norm is below this (default 1e-8). */
  tolerance?: number;
  /** Trajectories of the first `keep` starts are kept for plotting (default 4). */
  keep?: number;
}

/** One run of {@link convergenceExperiment}. */
export interface ConvergenceRun {
  start: number;
  wNorm0: number;
  ste: SteName;
  iterations: number;
  lossIncreases: number;
  maxLossIncrease: number;
  minWNorm: number;
  finalLoss: number;
  finalCoarseNorm: number;
  finalCriticality: number;
  finalTheta: number;
  end: EndPoint;
}

/** Result of {@link convergenceExperiment}. */
export interface ConvergenceResult {
  stepSize: number;
  maxIterations: number;
  tolerance: number;
  runs: ConvergenceRun[];
  /** Kept trajectories: key `${ste}/|w0|=${wNorm0}/start ${k}`. */
  trajectories: Record<string, DescentRecord[]>;
  /** Per STE and start norm. */
  summary: Record<string, ConvergenceSummary>;
}

/** Aggregates of {@link ConvergenceResult} for one STE and start norm. */
export interface ConvergenceSummary {
  ste: SteName;
  wNorm0: number;
  runs: number;
  monotone: number;
  /** Runs in which |w_t| stayed >= |w0| / 10 (the theorem assumes |w_t| >= c > 0). */
  wBounded: number;
  /** Of those, how many decreased f monotonically. */
  monotoneWhenBounded: number;
  ends: Record<EndPoint, number>;
  fractionGlobal: number;
  medianFinalCoarseNorm: number;
  maxFinalCoarseNorm: number;
  medianIterations: number;
}

/** Classifies the end of a run by its distance to the closed-form critical points. */
export function classifyEnd(
  t: Teacher,
  v: Float64Array,
  w: Float64Array,
  coarseNorm: number,
  tolerance: number,
): EndPoint {
  const cp = criticalPoints(t);
  const nw = norm(w);
  if (nw < 1e-6) return 'w collapsed to 0';
  const theta = angle(w, t.wStar);
  const close = (a: Float64Array, b: Float64Array): boolean =>
    norm(lincomb(1, a, -1, b)) <= 1e-3 * (1 + norm(b));
  if (theta < 1e-3 && close(v, cp.globalMin.v)) return 'global minimum';
  if (Math.PI - theta < 1e-3 && close(v, cp.spurious.v)) return 'spurious minimum';
  if (cp.saddle && Math.abs(theta - cp.saddle.theta) < 1e-3 && close(v, cp.saddle.v)) return 'saddle';
  return coarseNorm < tolerance * 10 ? 'other point with vanishing coarse gradient' : 'not converged';
}

const END_POINTS: EndPoint[] = [
  'global minimum',
  'spurious minimum',
  'saddle',
  'other point with vanishing coarse gradient',
  'w collapsed to 0',
  'not converged',
];

/**
 * Theorem 1: runs population Algorithm 1 from seeded random starts (v0 ~ N(0, I_m), w0 = |w0| times a
 * uniform unit vector) with every STE; counts loss increases over all iterations, tracks min |w_t|, and
 * classifies the end point by its distance to the closed-form critical points.
 */
export function convergenceExperiment(options: ConvergenceOptions): ConvergenceResult {
  const t = options.teacher;
  const starts = options.starts ?? 50;
  const wNorms = options.wNorms ?? [1, 3];
  const eta = options.stepSize ?? 0.01;
  const maxIterations = options.maxIterations ?? 20000;
  const tolerance = options.tolerance ?? 1e-8;
  const keep = options.keep ?? 4;
  const rng = new Random(options.seed);
  const runs: ConvergenceRun[] = [];
  const trajectories: Record<string, DescentRecord[]> = {};
  for (const wNorm0 of wNorms) {
    for (let k = 0; k < starts; k++) {
      const v0 = normalVector(rng, t.m);
      const w0 = scale(wNorm0, unitVector(rng, t.n));
      for (const ste of STE_NAMES) {
        const res = coarseGradientDescent({
          teacher: t,
          v0,
          w0,
          ste,
          stepSize: eta,
          iterations: maxIterations,
          tolerance,
          recordEvery: k < keep ? Math.max(1, Math.floor(maxIterations / 400)) : maxIterations,
        });
        const last = res.records[res.records.length - 1];
        if (k < keep) trajectories[`${ste}/|w0|=${wNorm0}/start ${k}`] = res.records;
        runs.push({
          start: k,
          wNorm0,
          ste,
          iterations: res.iterations,
          lossIncreases: res.lossIncreases,
          maxLossIncrease: res.maxLossIncrease,
          minWNorm: res.minWNorm,
          finalLoss: last.loss,
          finalCoarseNorm: last.coarseNorm,
          finalCriticality: last.criticality,
          finalTheta: last.theta,
          end:
            res.stop === 'degenerate'
              ? 'w collapsed to 0'
              : classifyEnd(t, res.v, res.w, last.coarseNorm, tolerance),
        });
      }
    }
  }
  const summary: Record<string, ConvergenceSummary> = {};
  for (const wNorm0 of wNorms) {
    for (const ste of STE_NAMES) {
      const rs = runs.filter((r) => r.ste === ste && r.wNorm0 === wNorm0);
      const bounded = rs.filter((r) => r.minWNorm >= wNorm0 / 10);
      const ends = Object.fromEntries(
        END_POINTS.map((e) => [e, rs.filter((r) => r.end === e).length]),
      ) as Record<EndPoint, number>;
      summary[`${ste}/|w0|=${wNorm0}`] = {
        ste,
        wNorm0,
        runs: rs.length,
        monotone: rs.filter((r) => r.lossIncreases === 0).length,
        wBounded: bounded.length,
        monotoneWhenBounded: bounded.filter((r) => r.lossIncreases === 0).length,
        ends,
        fractionGlobal: ends['global minimum'] / rs.length,
        medianFinalCoarseNorm: median(rs.map((r) => r.finalCoarseNorm)),
        maxFinalCoarseNorm: Math.max(...rs.map((r) => r.finalCoarseNorm)),
        medianIterations: median(rs.map((r) => r.iterations)),
      };
    }
  }
  return { stepSize: eta, maxIterations, tolerance, runs, trajectories, summary };
}

/** Adds experiment 2's section to `report`. */
export function addConvergenceSection(report: Report, result: ConvergenceResult, setup: string): void {
  const s = report.section('ste-convergence', '2. Convergence of coarse gradient descent (Theorem 1)');
  const first = Object.values(result.summary)[0];
  s.text(
    `Claim (paper, Theorem 1): with the ReLU or clipped-ReLU STE and a small enough step, population coarse gradient descent (Algorithm 1) decreases f monotonically and converges to a critical point; the identity STE has no such guarantee near the spurious minima. The theorem assumes |w_t| >= c > 0 along the way. ${setup} ${first.runs} seeded starts per start norm |w0| (v0 ~ N(0, I_m), w0 = |w0| times a uniform unit vector), step size ${result.stepSize}, at most ${result.maxIterations} iterations, stopping when the population coarse gradient norm |(df/dv, E[g])| < ${result.tolerance}. "Monotone" means f never rose by more than 1e-13 relative between two consecutive iterations. End points are classified by distance to the closed-form critical points (theta within 1e-3 and v within 1e-3 relative).`,
  );
  const rows = Object.values(result.summary).map((x) => [
    x.ste,
    x.wNorm0,
    x.runs,
    `${x.monotone}/${x.runs}`,
    `${x.monotoneWhenBounded}/${x.wBounded}`,
    x.ends['global minimum'],
    x.ends['spurious minimum'],
    x.ends.saddle,
    x.ends['other point with vanishing coarse gradient'],
    x.ends['w collapsed to 0'],
    x.ends['not converged'],
    x.fractionGlobal,
    x.medianFinalCoarseNorm,
    x.maxFinalCoarseNorm,
    x.medianIterations,
  ]);
  s.table(
    {
      columns: [
        'STE',
        '|w0|',
        'runs',
        'monotone f',
        'monotone | min|w_t| >= |w0|/10',
        'global min',
        'spurious min',
        'saddle',
        'other vanishing coarse gradient',
        'w -> 0',
        'not converged',
        'fraction global',
        'median final |coarse grad|',
        'max final |coarse grad|',
        'median iterations',
      ],
      rows,
    },
    'Per STE and start norm.',
  );
  const wNorms = [...new Set(Object.values(result.summary).map((x) => x.wNorm0))];
  for (const wNorm0 of wNorms) {
    const panels = STE_NAMES.map((ste) => {
      const keys = Object.keys(result.trajectories).filter((k) => k.startsWith(`${ste}/|w0|=${wNorm0}/`));
      return {
        title: `${ste} STE`,
        x: { title: 'iteration' },
        y: { title: 'population loss f', scale: 'log' as const },
        series: keys.map((k) => ({
          name: k.slice(k.lastIndexOf('/') + 1),
          x: result.trajectories[k].map((r) => r.iteration),
          y: result.trajectories[k].map((r) => r.loss),
        })),
      };
    });
    s.plot(
      `ste-convergence-w${String(wNorm0).replace('.', '_')}`,
      lineChart({
        title: `Population loss along Algorithm 1, |w0| = ${wNorm0}`,
        panels,
        width: 260,
        height: 200,
        legendTitle: 'start',
      }),
      `f along population coarse gradient descent from the first starts (same starts in every panel), |w0| = ${wNorm0}, log scale.`,
    );
  }
  s.set('settings', {
    stepSize: result.stepSize,
    maxIterations: result.maxIterations,
    tolerance: result.tolerance,
  })
    .set('summary', result.summary)
    .set('runs', result.runs);
}

// ---------------------------------------------------------------------------------------------------
// Experiment 3: instability of the identity STE at the spurious minimum.

/** Options of {@link instabilityExperiment}. */
export interface InstabilityOptions {
  teacher: Teacher;
  seed: number;
  stepSize?: number;
  iterations?: number;
  /** |w| of the start (default 1). */
  wNorm?: number;
  /** Size of the perturbation of the "near" start: angle offset in radians and relative v noise (default 0.05). */
  perturbation?: number;
  recordEvery?: number;
  /** Further seeded teachers (same m, n, with spurious minima) on which every STE is started exactly at the spurious minimum (default 10). */
  teachers?: number;
  /**
   * Empirical Algorithm 1 from the exact spurious minimum with a fresh batch of `batchSize` inputs per
   * step (seeded), for `iterations` steps (default: batch 500, 1000 steps; iterations 0 skips it).
   */
  empirical?: { batchSize: number; iterations: number };
}

/** The run of one STE from the exact spurious minimum of one of the further teachers. */
export interface TeacherInstabilityRun {
  teacher: number;
  ste: SteName;
  sumVStar: number;
  spuriousLoss: number;
  finalLoss: number;
  maxLoss: number;
  displacement: number;
  finalWNorm: number;
  finalCoarseNorm: number;
  end: EndPoint;
}

/** One trajectory of {@link instabilityExperiment} with its summary. */
export interface InstabilityRun {
  start: 'at' | 'near';
  ste: SteName;
  records: DescentRecord[];
  initialLoss: number;
  finalLoss: number;
  maxLoss: number;
  /** |(v_T, w_T) - (v_0, w_0)|. */
  displacement: number;
  /** Distance of the end point from the spurious minimum (v part and angle). */
  finalDistanceV: number;
  finalPiMinusTheta: number;
  finalCoarseNorm: number;
  minWNorm: number;
}

/** Result of {@link instabilityExperiment}. */
export interface InstabilityResult {
  stepSize: number;
  iterations: number;
  spuriousLoss: number;
  /** |E[g_id]| at the spurious minimum (closed form) and Lemma 9's 2 (m-1) / (sqrt(2 pi) (m+1)^2) (1^T v*)^2. */
  identityNormAtSpurious: number;
  lemma9Norm: number;
  runs: InstabilityRun[];
  /** Every STE from the exact spurious minimum of further teachers. */
  teacherRuns: TeacherInstabilityRun[];
  /** Empirical (sampled-batch) Algorithm 1 from the exact spurious minimum, per STE. */
  empiricalRuns: {
    ste: SteName;
    batchSize: number;
    records: DescentRecord[];
    finalLoss: number;
    maxLoss: number;
    displacement: number;
    finalWNorm: number;
  }[];
}

/**
 * Lemma 9 / Theorem 1 (second part): starts population Algorithm 1 exactly at the spurious minimum
 * (v = (I + 11^T)^{-1}(11^T - I) v*, w = -|w| w*) and near it, with every STE, and records f, the coarse
 * gradient norm, theta and |w| along the way.
 */
export function instabilityExperiment(options: InstabilityOptions): InstabilityResult {
  const t = options.teacher;
  const eta = options.stepSize ?? 0.01;
  const iterations = options.iterations ?? 5000;
  const wNorm = options.wNorm ?? 1;
  const pert = options.perturbation ?? 0.05;
  const rng = new Random(options.seed);
  const cp = criticalPoints(t);
  const wAt = scale(wNorm, cp.spurious.w);
  // Near start: rotate w by `pert` radians towards a random direction orthogonal to w*, and add
  // relative noise of size `pert` to v.
  const d = unitVector(rng, t.n);
  const dPerp = lincomb(1, d, -dot(d, t.wStar), t.wStar);
  const wNear = lincomb(
    Math.cos(pert) * wNorm,
    cp.spurious.w,
    Math.sin(pert) * wNorm,
    scale(1 / norm(dPerp), dPerp),
  );
  const noise = normalVector(rng, t.m);
  const vNear = lincomb(1, cp.spurious.v, (pert * norm(cp.spurious.v)) / norm(noise), noise);
  const runs: InstabilityRun[] = [];
  for (const [start, v0, w0] of [
    ['at', cp.spurious.v, wAt],
    ['near', vNear, wNear],
  ] as const) {
    for (const ste of STE_NAMES) {
      const res = coarseGradientDescent({
        teacher: t,
        v0,
        w0,
        ste,
        stepSize: eta,
        iterations,
        recordEvery: options.recordEvery ?? 1,
      });
      const last = res.records[res.records.length - 1];
      const disp = Math.sqrt(norm(lincomb(1, res.v, -1, v0)) ** 2 + norm(lincomb(1, res.w, -1, w0)) ** 2);
      runs.push({
        start,
        ste,
        records: res.records,
        initialLoss: res.records[0].loss,
        finalLoss: last.loss,
        maxLoss: res.maxLoss,
        displacement: disp,
        finalDistanceV: norm(lincomb(1, res.v, -1, cp.spurious.v)),
        finalPiMinusTheta: Math.PI - last.theta,
        finalCoarseNorm: last.coarseNorm,
        minWNorm: res.minWNorm,
      });
    }
  }
  const empiricalRuns: InstabilityResult['empiricalRuns'] = [];
  const emp = options.empirical ?? { batchSize: 500, iterations: 1000 };
  if (emp.iterations > 0) {
    for (const ste of STE_NAMES) {
      const res = coarseGradientDescent({
        teacher: t,
        v0: cp.spurious.v,
        w0: wAt,
        ste,
        stepSize: eta,
        iterations: emp.iterations,
        mode: 'empirical',
        batchSize: emp.batchSize,
        rng: new Random(options.seed + 2000),
      });
      const last = res.records[res.records.length - 1];
      empiricalRuns.push({
        ste,
        batchSize: emp.batchSize,
        records: res.records,
        finalLoss: last.loss,
        maxLoss: res.maxLoss,
        displacement: Math.sqrt(
          norm(lincomb(1, res.v, -1, cp.spurious.v)) ** 2 + norm(lincomb(1, res.w, -1, wAt)) ** 2,
        ),
        finalWNorm: last.wNorm,
      });
    }
  }
  const teacherRuns: TeacherInstabilityRun[] = [];
  const teacherRng = new Random(options.seed + 1000);
  for (let k = 0; k < (options.teachers ?? 10); k++) {
    const tk = studyTeacher(teacherRng.int(0x7fffffff), t.m, t.n);
    const ck = criticalPoints(tk);
    const w0 = scale(wNorm, ck.spurious.w);
    for (const ste of STE_NAMES) {
      const res = coarseGradientDescent({
        teacher: tk,
        v0: ck.spurious.v,
        w0,
        ste,
        stepSize: eta,
        iterations,
        recordEvery: iterations,
      });
      const last = res.records[res.records.length - 1];
      teacherRuns.push({
        teacher: k,
        ste,
        sumVStar: sum(tk.vStar),
        spuriousLoss: ck.spurious.loss,
        finalLoss: last.loss,
        maxLoss: res.maxLoss,
        displacement: Math.sqrt(
          norm(lincomb(1, res.v, -1, ck.spurious.v)) ** 2 + norm(lincomb(1, res.w, -1, w0)) ** 2,
        ),
        finalWNorm: last.wNorm,
        finalCoarseNorm: last.coarseNorm,
        end:
          res.stop === 'degenerate'
            ? 'w collapsed to 0'
            : classifyEnd(tk, res.v, res.w, last.coarseNorm, 1e-8),
      });
    }
  }
  const s = sum(t.vStar);
  return {
    teacherRuns,
    empiricalRuns,
    stepSize: eta,
    iterations,
    spuriousLoss: cp.spurious.loss,
    identityNormAtSpurious: norm(expectedCoarseGradient(t, cp.spurious.v, cp.spurious.w, 'identity').w),
    lemma9Norm: ((2 * (t.m - 1)) / (Math.sqrt(2 * Math.PI) * (t.m + 1) ** 2)) * s * s,
    runs,
  };
}

/** Adds experiment 3's section to `report`. */
export function addInstabilitySection(report: Report, result: InstabilityResult, setup: string): void {
  const s = report.section(
    'ste-instability',
    '3. Instability of the identity STE at the spurious minimum (Lemma 9)',
  );
  s.text(
    `Claim (paper, Theorem 1 and Lemma 9): at the spurious minima (theta = pi, v = (I + 11^T)^{-1}(11^T - I) v*) the expected ReLU and clipped-ReLU coarse gradients vanish, but the identity STE's does not: |E[g_id]| = 2 (m - 1) / (sqrt(2 pi) (m + 1)^2) (1^T v*)^2, so coarse gradient descent with the identity STE cannot stay there. ${setup} Here |E[g_id]| at the spurious minimum is ${result.identityNormAtSpurious.toPrecision(6)} (closed form) against Lemma 9's ${result.lemma9Norm.toPrecision(6)}. Population Algorithm 1 with step size ${result.stepSize} for ${result.iterations} iterations, started exactly at the spurious minimum (|w| as stated in the table) and near it (w rotated away by the perturbation angle, v perturbed by the same relative amount).`,
  );
  s.table(
    {
      columns: [
        'start',
        'STE',
        'f start',
        'f end',
        'max f',
        'displacement',
        '|v - v_spurious| end',
        'pi - theta end',
        'min |w|',
        '|coarse grad| end',
      ],
      rows: result.runs.map((r) => [
        r.start,
        r.ste,
        r.initialLoss,
        r.finalLoss,
        r.maxLoss,
        r.displacement,
        r.finalDistanceV,
        r.finalPiMinusTheta,
        r.minWNorm,
        r.finalCoarseNorm,
      ]),
    },
    `Spurious-minimum loss f = ${result.spuriousLoss.toPrecision(6)}.`,
  );
  const teacherCount = new Set(result.teacherRuns.map((r) => r.teacher)).size;
  if (teacherCount > 0) {
    const rows = STE_NAMES.map((ste) => {
      const rs = result.teacherRuns.filter((r) => r.ste === ste);
      const count = (e: EndPoint) => rs.filter((r) => r.end === e).length;
      return [
        ste,
        rs.length,
        rs.filter((r) => r.displacement > 1e-6).length,
        rs.filter((r) => r.maxLoss > r.spuriousLoss * (1 + 1e-9)).length,
        median(rs.map((r) => r.maxLoss / r.spuriousLoss)),
        count('global minimum'),
        count('spurious minimum'),
        rs.filter((r) => r.finalWNorm < 0.1).length,
        median(rs.map((r) => r.finalLoss / r.spuriousLoss)),
      ];
    });
    s.table(
      {
        columns: [
          'STE',
          'teachers',
          'moved (> 1e-6)',
          'f rose above start',
          'median max f / f_spurious',
          'ended at global min',
          'ended at spurious min',
          'ended with |w| < 0.1',
          'median final f / f_spurious',
        ],
        rows,
      },
      `Started exactly at the spurious minimum (|w| = ${result.runs[0]?.records[0]?.wNorm.toPrecision(3)}) of ${teacherCount} further seeded teachers, ${result.iterations} iterations each.`,
    );
  }
  if (result.empiricalRuns.length > 0) {
    const er = result.empiricalRuns;
    s.text(
      `Empirical Algorithm 1 (a fresh seeded batch of ${er[0].batchSize} inputs per step, the same batches for every STE) from the exact spurious minimum, ${er[0].records.length - 1} steps. Sampling noise pushes every STE off the exact point; the question is whether it returns. Displacement at the end: ${er.map((r) => `${r.ste} ${formatNumber(r.displacement)}`).join(', ')}.`,
    );
    s.table({
      columns: ['STE', 'f end', 'max f', 'displacement', '|w| end'],
      rows: er.map((r) => [r.ste, r.finalLoss, r.maxLoss, r.displacement, r.finalWNorm]),
    });
    const series = (pick: (r: DescentRecord) => number) =>
      er.map((r) => ({ name: `${r.ste} STE`, x: r.records.map((x) => x.iteration), y: r.records.map(pick) }));
    s.plot(
      'ste-instability-empirical',
      lineChart({
        title: `Empirical Algorithm 1 (batch ${er[0].batchSize}) from the spurious minimum`,
        panels: [
          {
            title: 'population loss f',
            x: { title: 'iteration' },
            y: { title: 'f' },
            series: series((r) => r.loss),
          },
          {
            title: 'angle theta(w, w*)',
            x: { title: 'iteration' },
            y: { title: 'theta' },
            series: series((r) => r.theta),
          },
          {
            title: '|w|',
            x: { title: 'iteration' },
            y: { title: '|w|', scale: 'log' },
            series: series((r) => r.wNorm),
          },
        ],
        width: 260,
        height: 180,
        legendTitle: 'STE',
      }),
      'Population loss, angle and |w| along empirical (sampled-batch) coarse gradient descent started at the spurious minimum.',
    );
  }
  for (const start of ['at', 'near'] as const) {
    const rs = result.runs.filter((r) => r.start === start);
    const series = (pick: (r: DescentRecord) => number) =>
      rs.map((r) => ({ name: `${r.ste} STE`, x: r.records.map((x) => x.iteration), y: r.records.map(pick) }));
    s.plot(
      `ste-instability-${start}`,
      lineChart({
        title: `Algorithm 1 started ${start} the spurious minimum`,
        panels: [
          {
            title: 'population loss f',
            x: { title: 'iteration' },
            y: { title: 'f' },
            series: series((r) => r.loss),
          },
          {
            title: '|coarse gradient|',
            x: { title: 'iteration' },
            y: { title: '|(df/dv, E[g])|', scale: 'log' },
            series: series((r) => r.coarseNorm),
          },
          {
            title: 'angle theta(w, w*)',
            x: { title: 'iteration' },
            y: { title: 'theta' },
            series: series((r) => r.theta),
          },
          {
            title: '|w|',
            x: { title: 'iteration' },
            y: { title: '|w|', scale: 'log' },
            series: series((r) => r.wNorm),
          },
        ],
        columns: 2,
        width: 300,
        height: 180,
        legendTitle: 'STE',
      }),
      `Loss, coarse gradient norm (log), angle and |w| (log) over iterations, started ${start} the spurious minimum (the ReLU and clipped-ReLU curves lie on top of each other).`,
    );
  }
  s.set('identityNormAtSpurious', result.identityNormAtSpurious)
    .set('teacherRuns', result.teacherRuns)
    .set(
      'empiricalRuns',
      result.empiricalRuns.map(({ records, ...rest }) => {
        const kept = downsample(
          records.map((r) => r.loss),
          1000,
        ).map((i) => records[i]);
        return {
          ...rest,
          trajectory: {
            iteration: kept.map((r) => r.iteration),
            loss: kept.map((r) => r.loss),
            theta: kept.map((r) => r.theta),
            wNorm: kept.map((r) => r.wNorm),
          },
        };
      }),
    )
    .set('lemma9Norm', result.lemma9Norm)
    .set('spuriousLoss', result.spuriousLoss)
    .set(
      'runs',
      result.runs.map(({ records, ...rest }) => {
        // At most ~1000 points per trajectory, keeping each bucket's extreme losses (see plot.downsample).
        const kept = downsample(
          records.map((r) => r.loss),
          1000,
        ).map((i) => records[i]);
        return {
          ...rest,
          trajectory: {
            iteration: kept.map((r) => r.iteration),
            loss: kept.map((r) => r.loss),
            coarseNorm: kept.map((r) => r.coarseNorm),
            theta: kept.map((r) => r.theta),
            wNorm: kept.map((r) => r.wNorm),
          },
        };
      }),
    );
}

/**
 * Benchmark of the STE toy model's numerics (src/study/ste), measured side by side in one run:
 * the clipped-ReLU integrals p(0, w), p(theta, w), q(theta, w) by lowbit's erf closed form versus the
 * paper's adaptive quadrature, the expected coarse gradient per STE, one population step of
 * Algorithm 1, and Monte Carlo throughput. Each figure is the median of `reps` timed runs after a warm-up.
 *
 *   npx tsx bench/ste-integrals.ts [--reps 7] [--quick]
 *
 * Writes bench/ste-integrals.json and bench/ste-integrals.md (atomically).
 */
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coarseGradientDescent } from '../src/study/ste/descent.js';
import {
  clippedReluIntegrals,
  expectedCoarseGradientW,
  randomTeacher,
  STE_NAMES,
} from '../src/study/ste/model.js';
import { monteCarlo } from '../src/study/ste/sampled.js';
import { Random } from '../src/util/random.js';
import { writeAtomic } from './zoo-bench-util.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const repsIndex = args.indexOf('--reps');
const REPS = repsIndex >= 0 ? Number(args[repsIndex + 1]) : quick ? 3 : 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Median over REPS runs of the time per call of `f`, each run calling it `calls` times (ms per call). */
function perCall(f: () => void, calls: number): number {
  for (let i = 0; i < calls; i++) f();
  const runs: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) f();
    runs.push((performance.now() - t0) / calls);
  }
  return median(runs);
}

const thetas = [0.1, 0.7, 1.5, 2.4, 3.0];
const norms = [0.3, 1, 3, 10];
let sink = 0;
const closed = perCall(
  () => {
    for (const t of thetas) for (const r of norms) sink += clippedReluIntegrals(t, r).q;
  },
  quick ? 50 : 300,
);
const quad = perCall(
  () => {
    for (const t of thetas) for (const r of norms) sink += clippedReluIntegrals(t, r, 'quadrature').q;
  },
  quick ? 5 : 30,
);
const grid = thetas.length * norms.length;

const rng = new Random(1);
const teacher = randomTeacher(rng, 10, 20);
const v = Float64Array.from({ length: 10 }, () => rng.normal());
const w = Float64Array.from({ length: 20 }, () => rng.normal());
const gradient: Record<string, number> = {};
for (const ste of STE_NAMES) {
  gradient[ste] = perCall(
    () => {
      sink += expectedCoarseGradientW(teacher, v, w, ste)[0];
    },
    quick ? 2000 : 20000,
  );
}
const step: Record<string, number> = {};
for (const ste of STE_NAMES) {
  step[ste] =
    perCall(
      () => {
        sink += coarseGradientDescent({
          teacher,
          v0: v,
          w0: w,
          ste,
          stepSize: 0.01,
          iterations: 100,
          recordEvery: 100,
        }).v[0];
      },
      quick ? 3 : 20,
    ) / 100;
}
const samples = quick ? 20000 : 100000;
const mcMs = perCall(() => {
  sink += monteCarlo(new Random(2), teacher, v, w, 'relu', samples).loss;
}, 1);

const machine = {
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  loadAverage1m: Number(os.loadavg()[0].toFixed(2)),
  node: process.version,
  backend: 'plain TypeScript (Float64, no tfjs)',
  date: new Date().toISOString(),
};
const result = {
  machine,
  reps: REPS,
  clippedReluIntegralsMsPerCall: {
    closedForm: closed / grid,
    quadrature: quad / grid,
    speedup: quad / closed,
  },
  expectedCoarseGradientMsPerCall: gradient,
  populationStepMs: step,
  monteCarlo: { samples, ms: mcMs, samplesPerSecond: samples / (mcMs / 1000), m: 10, n: 20 },
  checksum: sink,
};

const fmt = (x: number) => (x < 0.01 ? x.toExponential(2) : x.toPrecision(3));
const md = `# STE toy-model numerics benchmark

Machine: ${machine.os}, ${machine.cpu}, ${machine.cores} logical cores (1-minute load average ${machine.loadAverage1m} at the end: the machine was shared), Node ${machine.node}, ${machine.backend}. ${machine.date}. Median of ${REPS} runs after a warm-up.

| what | ms per call |
| --- | ---: |
| clipped-ReLU p(0,w), p(theta,w), q(theta,w): erf closed form | ${fmt(result.clippedReluIntegralsMsPerCall.closedForm)} |
| same by adaptive Gauss-Kronrod quadrature (paper's integrals) | ${fmt(result.clippedReluIntegralsMsPerCall.quadrature)} |
| speed-up of the closed form | ${result.clippedReluIntegralsMsPerCall.speedup.toFixed(0)}x |
${STE_NAMES.map((s) => `| E[g_${s}] closed form (m = 10, n = 20) | ${fmt(gradient[s])} |`).join('\n')}
${STE_NAMES.map((s) => `| one population step of Algorithm 1, ${s} (with loss and gradient bookkeeping) | ${fmt(step[s])} |`).join('\n')}
| Monte Carlo, ${samples} samples (m = 10, n = 20: 200 normal draws each, which dominate), ReLU STE | ${fmt(mcMs)} (${(result.monteCarlo.samplesPerSecond / 1e6).toFixed(2)} M samples/s) |
`;

const here = dirname(fileURLToPath(import.meta.url));
const outDir = here;
for (const [name, text] of [
  ['ste-integrals.json', `${JSON.stringify(result, null, 2)}\n`],
  ['ste-integrals.md', md],
] as const) {
  writeAtomic(join(outDir, name), text);
}
process.stdout.write(md);

/**
 * Cost of lowbit's training parts per training step, measured side by side in one run.
 *
 *   npx tsx bench/training.ts [--reps 5] [--steps 4] [--batch 128] [--backends cpu,wasm] [--quick]
 *
 * Model: an MNIST-shaped binary MLP (784 -> QuantDense 256 -> BN -> QuantDense 256 -> BN ->
 * QuantDense 10 -> BN -> softmax; ste_sign kernels with weight_clip, ste_sign inputs after the
 * first layer), seeded synthetic data. Variants, alternated run by run so drift in machine load
 * hits all equally:
 *   adam        Adam(1e-3) on everything (latent weights)
 *   bop+adam    CaseOptimizer([[isBinaryVariable, Bop]], Adam) (Bop for the 3 binary kernels)
 *   bop+adam+fr the same with flip_ratio on every kernel (lowbit's automatic fit logging)
 * Each figure is the median over `reps` runs of (fit time of `steps` batches) / steps, after one
 * warm-up run. Writes bench/training-results.json and bench/training-results.md atomically.
 */
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { registeredBackends, setBackend } from '../src/backend/index.js';
import { writeAtomic } from './zoo-bench-util.js';
import '../src/constraints/index.js';
import { metricsScope } from '../src/context/scopes.js';
import { quantDense } from '../src/layers/index.js';
import '../src/metrics/index.js';
import { Bop, CaseOptimizer, isBinaryVariable } from '../src/optimizers/index.js';
import '../src/quantizers/index.js';
import { Random } from '../src/util/random.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
};
const quick = args.includes('--quick');
const REPS = Number(flag('reps', quick ? '2' : '5'));
const STEPS = Number(flag('steps', quick ? '3' : '4'));
const BATCH = Number(flag('batch', '128'));
const BACKENDS = flag('backends', 'cpu,wasm').split(',');

tf.env().set('PROD', true);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

type Variant = 'adam' | 'bop+adam' | 'bop+adam+fr';
const VARIANTS: Variant[] = ['adam', 'bop+adam', 'bop+adam+fr'];

function model(variant: Variant, seed: number): tfl.LayersModel {
  const kernel = (i: number) => ({
    kernelQuantizer: 'ste_sign',
    kernelConstraint: 'weight_clip',
    kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + i }),
    useBias: false,
  });
  const build = () =>
    tfl.sequential({
      layers: [
        quantDense({ units: 256, inputShape: [784], ...kernel(0) }),
        tfl.layers.batchNormalization(),
        quantDense({ units: 256, inputQuantizer: 'ste_sign', ...kernel(1) }),
        tfl.layers.batchNormalization(),
        quantDense({ units: 10, inputQuantizer: 'ste_sign', ...kernel(2) }),
        tfl.layers.batchNormalization(),
        tfl.layers.activation({ activation: 'softmax' }),
      ],
    });
  const m = variant === 'bop+adam+fr' ? metricsScope(['flip_ratio'], build) : build();
  const optimizer =
    variant === 'adam'
      ? tf.train.adam(1e-3)
      : new CaseOptimizer(
          [[isBinaryVariable, new Bop({ threshold: 1e-8, gamma: 1e-4 })]],
          tf.train.adam(1e-3),
        );
  m.compile({ optimizer, loss: 'categoricalCrossentropy' });
  return m;
}

function data(n: number, seed: number): { x: tf.Tensor; y: tf.Tensor } {
  const rng = new Random(seed);
  const x = Float32Array.from({ length: n * 784 }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, () => rng.int(10));
  return { x: tf.tensor2d(x, [n, 784]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10) };
}

interface Row {
  backend: string;
  variant: Variant;
  msPerStep: number;
  runs: number[];
}

const rows: Row[] = [];
for (const backend of BACKENDS) {
  if (!registeredBackends().includes(backend)) continue;
  await setBackend(backend);
  const { x, y } = data(STEPS * BATCH, 7);
  const models = Object.fromEntries(VARIANTS.map((v) => [v, model(v, 1)])) as Record<
    Variant,
    tfl.LayersModel
  >;
  const runs: Record<Variant, number[]> = { adam: [], 'bop+adam': [], 'bop+adam+fr': [] };
  for (let rep = -1; rep < REPS; rep++) {
    for (const v of VARIANTS) {
      const t0 = performance.now();
      const history = await models[v].fit(x, y, { epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0 });
      const dt = (performance.now() - t0) / STEPS;
      if (v === 'bop+adam+fr' && !(`flip_ratio/${models[v].layers[0].name}` in history.history)) {
        throw new Error('flip ratio was not logged');
      }
      if (rep >= 0) runs[v].push(dt);
    }
  }
  const r2 = (t: number) => Number(t.toFixed(2));
  for (const v of VARIANTS)
    rows.push({ backend, variant: v, msPerStep: r2(median(runs[v])), runs: runs[v].map(r2) });
  for (const m of Object.values(models)) m.dispose();
  tf.dispose([x, y]);
}

const machine = {
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  tfjs: tf.version_core,
  // The machine is shared: the load average says how far to trust absolute times (ratios are
  // measured alternately, so load hits every variant alike).
  loadAverage1m: Number(os.loadavg()[0].toFixed(2)),
};
const ratio = (backend: string, a: Variant, b: Variant) => {
  const ra = rows.find((r) => r.backend === backend && r.variant === a);
  const rb = rows.find((r) => r.backend === backend && r.variant === b);
  return ra && rb ? ra.msPerStep / rb.msPerStep : null;
};
const result = {
  benchmark: 'training step cost: Adam vs Bop+Adam (CaseOptimizer) vs with flip-ratio logging',
  date: new Date().toISOString(),
  machine,
  settings: { reps: REPS, steps: STEPS, batch: BATCH },
  rows,
  ratios: Object.fromEntries(
    [...new Set(rows.map((r) => r.backend))].map((b) => [
      b,
      {
        'bop+adam / adam': ratio(b, 'bop+adam', 'adam'),
        'bop+adam+fr / bop+adam': ratio(b, 'bop+adam+fr', 'bop+adam'),
      },
    ]),
  ),
};

const md = [
  '# Training step cost (bench/training.ts)',
  '',
  `Machine: ${machine.os}; ${machine.cpu} (${machine.cores} cores, 1-minute load average ${machine.loadAverage1m} at the end); Node ${machine.node}; tfjs ${machine.tfjs}.`,
  `Settings: batch ${BATCH}, ${STEPS} steps per timed fit, median of ${REPS} runs after a warm-up, variants alternated.`,
  'Model: 784-256-256-10 binary MLP (QuantDense ste_sign kernels + BatchNormalization), synthetic seeded data.',
  '',
  '| backend | variant | ms / step (median) |',
  '| --- | --- | ---: |',
  ...rows.map((r) => `| ${r.backend} | ${r.variant} | ${r.msPerStep.toFixed(2)} |`),
  '',
  '| backend | Bop+Adam / Adam | flip-ratio logging overhead (with / without) |',
  '| --- | ---: | ---: |',
  ...Object.entries(result.ratios).map(
    ([b, r]) =>
      `| ${b} | ${r['bop+adam / adam']?.toFixed(3) ?? '-'} | ${r['bop+adam+fr / bop+adam']?.toFixed(3) ?? '-'} |`,
  ),
  '',
].join('\n');

/** JSON as biome formats it: 2-space indent, arrays of numbers on one line. */
function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\s+([-\d.e+,\s]+?)\s+\]/g,
    (_, inner: string) => `[${inner.trim().split(/,\s*/).join(', ')}]`,
  );
}

const here = dirname(fileURLToPath(import.meta.url));
for (const [name, text] of [
  ['training-results.json', `${json(result)}\n`],
  ['training-results.md', md],
] as const) {
  writeAtomic(join(here, name), text);
}
console.log(md);

/**
 * Before/after benchmark of lowbit's wasm kernels (src/backend), measured side by side in one run.
 *
 *   npx tsx bench/backend-bench.ts [--reps 5] [--batch 256] [--quick]
 *
 * "stock" = tfjs-backend-wasm 4.22's own kernels (lowbit's overrides removed; for the CNN, lowbit's
 * Conv2DBackpropFilter stays registered because stock wasm cannot train a conv net at all).
 * "lowbit" = everything lowbit installs on import. Each figure is the median of `reps` timed runs
 * after one warm-up run. Writes bench/backend-bench.json and bench/backend-bench.md (atomically).
 */
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  conv2DBackpropFilterFromOps,
  conv2DBackpropFilterIm2col,
  conv2DBackpropFilterPatches,
} from '../src/backend/conv-grad-kernels.js';
import {
  backendInfo,
  installWasmOverrides,
  kernelsMissing,
  restoreOriginalKernel,
  setBackend,
  WASM_OVERRIDES,
} from '../src/backend/index.js';
import { registerMissingKernel } from '../src/backend/kernel-registry.js';
import { seededValues } from '../src/backend/testing.js';
import { writeAtomic } from './zoo-bench-util.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const quick = args.includes('--quick');
const REPS = flag('reps', quick ? 2 : 7);
const BATCH = flag('batch', quick ? 64 : 256);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timeIt(
  f: () => Promise<void> | void,
  reps = REPS,
): Promise<{ median: number; runs: number[] }> {
  await f();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    runs.push(performance.now() - t0);
  }
  return { median: median(runs), runs };
}

/**
 * Times `f` under stock kernels and under lowbit's, alternating run by run so that drift in machine
 * load affects both equally. One warm-up run of each first.
 */
async function sideBySide(
  f: () => Promise<void> | void,
  reps = REPS,
): Promise<{ stock: number; lowbit: number; stockRuns: number[]; lowbitRuns: number[] }> {
  const s: number[] = [];
  const l: number[] = [];
  for (let i = -1; i < reps; i++) {
    for (const mode of ['stock', 'lowbit'] as const) {
      if (mode === 'stock') stock();
      else lowbit();
      const t0 = performance.now();
      await f();
      const dt = performance.now() - t0;
      if (i >= 0) (mode === 'stock' ? s : l).push(dt);
    }
  }
  lowbit();
  return { stock: median(s), lowbit: median(l), stockRuns: s, lowbitRuns: l };
}

function stock(): void {
  for (const name of Object.keys(WASM_OVERRIDES)) restoreOriginalKernel(name, 'wasm');
}
function lowbit(): void {
  installWasmOverrides();
}

const t = (shape: number[], seed: number) => tf.tensor(seededValues(shape, seed), shape);

function mlp(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [784], units: 512, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 512, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10, activation: 'softmax' }));
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return m;
}

function cnn(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10, activation: 'softmax' }));
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return m;
}

function labels(n: number): tf.Tensor {
  return tf.oneHot(
    tf.tensor1d(
      Array.from({ length: n }, (_, i) => (i * 7) % 10),
      'int32',
    ),
    10,
  );
}

async function trainStep(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<void> {
  await model.trainOnBatch(x, y);
}

async function profileStep(
  model: tfl.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
): Promise<Record<string, number>> {
  const prof = await tf.profile(async () => {
    await model.trainOnBatch(x, y);
  });
  const agg: Record<string, number> = {};
  for (const k of prof.kernels) agg[k.name] = (agg[k.name] ?? 0) + Number(k.kernelTimeMs);
  return Object.fromEntries(
    Object.entries(agg)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, v]) => [k, Math.round(v * 10) / 10]),
  );
}

interface Row {
  what: string;
  stockMs: number | null;
  lowbitMs: number;
  note?: string;
  stockRuns?: number[];
  lowbitRuns?: number[];
}

const round1 = (xs: number[]) => xs.map((v) => Math.round(v * 10) / 10);

async function main(): Promise<void> {
  await setBackend('wasm');
  const info = await backendInfo();
  const rows: Row[] = [];
  const r1 = (v: number) => Math.round(v * 10) / 10;

  // Micro: matMul with and without transposes (the shapes of a Dense 512x512 backward pass).
  const a = t([BATCH, 512], 1);
  const b = t([BATCH, 512], 2);
  const w = t([512, 512], 3);
  const flops = 2 * BATCH * 512 * 512;
  for (const [label, f] of [
    ['matMul(a, w)', () => tf.matMul(a, w)],
    ['matMul(a^T, b) (dW)', () => tf.matMul(a, b, true, false)],
    ['matMul(a, w^T) (dX)', () => tf.matMul(a, w, false, true)],
  ] as const) {
    const run = async () => {
      const y = f();
      await y.data();
      y.dispose();
    };
    const r = await sideBySide(run, 2 * REPS);
    rows.push({
      what: `${label} [${BATCH}x512]x[512x512]`,
      stockMs: r1(r.stock),
      lowbitMs: r1(r.lowbit),
      note: `${r1(flops / r.stock / 1e6)} vs ${r1(flops / r.lowbit / 1e6)} GFLOP/s`,
      stockRuns: round1(r.stockRuns),
      lowbitRuns: round1(r.lowbitRuns),
    });
  }

  // Micro: MaxPoolGrad at the CNN's first pooling layer.
  const px = tf.relu(t([BATCH, 26, 26, 32], 4)) as tf.Tensor4D;
  const py = tf.maxPool(px, 2, 2, 'valid');
  const pdy = t(py.shape, 5);
  const poolRun = async () => {
    const g = tf
      .engine()
      .runKernel(
        'MaxPoolGrad',
        { dy: pdy, input: px, output: py },
        { filterSize: 2, strides: 2, pad: 'valid' },
      ) as tf.Tensor;
    await g.data();
    g.dispose();
  };
  const pr = await sideBySide(poolRun);
  rows.push({
    what: `MaxPoolGrad [${BATCH},26,26,32] 2x2/2`,
    stockMs: r1(pr.stock),
    lowbitMs: r1(pr.lowbit),
  });

  // Micro: Conv2DBackpropInput at the CNN's second conv layer.
  const bdy = t([BATCH, 11, 11, 64], 10) as tf.Tensor4D;
  const bw = t([3, 3, 32, 64], 11) as tf.Tensor4D;
  const inputRun = async () => {
    const g = tf
      .engine()
      .runKernel(
        'Conv2DBackpropInput',
        { dy: bdy, filter: bw },
        { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: [BATCH, 13, 13, 32] },
      ) as tf.Tensor;
    await g.data();
    g.dispose();
  };
  const ir = await sideBySide(inputRun);
  rows.push({
    what: `Conv2DBackpropInput dy=[${BATCH},11,11,64] f=[3,3,32,64]`,
    stockMs: r1(ir.stock),
    lowbitMs: r1(ir.lowbit),
    stockRuns: round1(ir.stockRuns),
    lowbitRuns: round1(ir.lowbitRuns),
  });

  // Micro: the two filter-gradient formulations lowbit could use (with lowbit's matmul).
  const filterRows: Row[] = [];
  for (const [xs, fs] of [
    [
      [BATCH, 28, 28, 1],
      [3, 3, 1, 32],
    ],
    [
      [BATCH, 13, 13, 32],
      [3, 3, 32, 64],
    ],
  ] as const) {
    const x = t([...xs], 6) as tf.Tensor4D;
    const dy = t([xs[0], xs[1] - 2, xs[2] - 2, fs[3]], 7) as tf.Tensor4D;
    const attrs = {
      strides: 1,
      pad: 'valid',
      dataFormat: 'NHWC',
      filterShape: [...fs],
    } as unknown as tf.NamedAttrMap;
    const run = (k: typeof conv2DBackpropFilterFromOps) => async () => {
      const g = k({ inputs: { x, dy }, attrs, backend: tf.backend() });
      await g.data();
      g.dispose();
    };
    const tr = await timeIt(run(conv2DBackpropFilterFromOps));
    const im = await timeIt(run(conv2DBackpropFilterIm2col));
    const pa = await timeIt(run(conv2DBackpropFilterPatches));
    filterRows.push({
      what: `Conv2DBackpropFilter x=[${xs}] f=[${fs}]`,
      stockMs: null,
      lowbitMs: r1(xs[3] <= 3 ? pa.median : tr.median),
      note: `transposed conv2d ${r1(tr.median)} ms, depthwise patches + matMul ${r1(pa.median)} ms, im2col + matMul ${r1(im.median)} ms`,
    });
  }

  // MLP 784-512-512-10 training step.
  const xm = t([BATCH, 784], 8);
  const ym = labels(BATCH);
  const m1 = mlp();
  const mr = await sideBySide(() => trainStep(m1, xm, ym));
  rows.push({
    what: `MLP 784-512-512-10 train step, batch ${BATCH}`,
    stockMs: r1(mr.stock),
    lowbitMs: r1(mr.lowbit),
    stockRuns: round1(mr.stockRuns),
    lowbitRuns: round1(mr.lowbitRuns),
  });

  // CNN conv32-pool-conv64-pool-dense128-dense10 training step.
  const xc = t([BATCH, 28, 28, 1], 9);
  const yc = labels(BATCH);
  const m2 = cnn();
  tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  let stockError = '';
  try {
    await m2.trainOnBatch(xc, yc);
  } catch (e) {
    stockError = (e as Error).message.split('\n')[0]!;
  }
  registerMissingKernel('Conv2DBackpropFilter', 'wasm', conv2DBackpropFilterFromOps);
  const cr = await sideBySide(() => trainStep(m2, xc, yc));
  rows.push({
    what: `CNN conv32-pool-conv64-pool-dense128-dense10 train step, batch ${BATCH}`,
    stockMs: r1(cr.stock),
    lowbitMs: r1(cr.lowbit),
    stockRuns: round1(cr.stockRuns),
    lowbitRuns: round1(cr.lowbitRuns),
    note: `stock needs lowbit's Conv2DBackpropFilter; without it: "${stockError}"`,
  });
  const cnnProfile = await profileStep(m2, xc, yc);

  // The pure-JS cpu backend on the MLP step, for scale.
  await setBackend('cpu');
  const m3 = mlp();
  const xm3 = t([BATCH, 784], 8);
  const ym3 = labels(BATCH);
  const cpuMlp = await timeIt(() => trainStep(m3, xm3, ym3), 2);
  await setBackend('wasm');

  const machine = {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    tfjs: tf.version_core,
    backend: info,
    date: new Date().toISOString(),
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
    reps: REPS,
    batch: BATCH,
  };
  const result = {
    machine,
    rows,
    filterGradient: filterRows,
    cnnLowbitProfileMs: cnnProfile,
    cpuBackendMlpStepMs: r1(cpuMlp.median),
    kernelsCpuHasWasmLacks: kernelsMissing('cpu', 'wasm'),
  };

  const md = [
    '# lowbit backend benchmark (wasm): stock tfjs-backend-wasm 4.22 vs lowbit',
    '',
    `Machine: ${machine.os}, ${machine.cpu}, ${machine.cores} logical cores, Node ${machine.node}, tfjs ${machine.tfjs},`,
    `backend ${info.name} (SIMD ${info.simd}, ${info.threads} thread(s)). ${machine.date}. Median of ${REPS} runs after a warm-up,`,
    `stock and lowbit alternating run by run (the machine is shared: 1-minute load average ${machine.loadAverage1m} at the end;`,
    'every run is in backend-bench.json).',
    '',
    '| what | stock ms | lowbit ms | speed-up | note |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| ${r.what} | ${r.stockMs ?? '-'} | ${r.lowbitMs} | ${r.stockMs ? `${r1(r.stockMs / r.lowbitMs)}x` : '-'} | ${r.note ?? ''} |`,
    ),
    '',
    `A 60,000-sample epoch is ${Math.ceil(60000 / BATCH)} steps: MLP about ${r1((mr.stock * Math.ceil(60000 / BATCH)) / 1000)} s stock vs ${r1((mr.lowbit * Math.ceil(60000 / BATCH)) / 1000)} s lowbit;`,
    `CNN about ${r1((cr.stock * Math.ceil(60000 / BATCH)) / 1000)} s vs ${r1((cr.lowbit * Math.ceil(60000 / BATCH)) / 1000)} s (step time x steps, no data loading).`,
    '',
    '## Conv2DBackpropFilter formulations (lowbit uses patches for Ci <= 3, the transposed conv otherwise)',
    '',
    ...filterRows.map((r) => `- ${r.what}: ${r.note}`),
    '',
    `## Where a lowbit CNN step's time goes (tf.profile, ms per kernel)`,
    '',
    'Kernels that lowbit builds from ops include the kernels they call (a Conv2DBackpropFilter runs a Conv2D),',
    'so nested time is counted twice here.',
    '',
    ...Object.entries(cnnProfile).map(([k, v]) => `- ${k}: ${v}`),
    '',
    `The pure-JS cpu backend takes ${result.cpuBackendMlpStepMs} ms for the same MLP step.`,
    '',
    `Kernels cpu has and wasm lacks (after lowbit): ${result.kernelsCpuHasWasmLacks.join(', ')}.`,
    '',
  ].join('\n');

  const dir = dirname(fileURLToPath(import.meta.url));
  for (const [name, text] of [
    ['backend-bench.json', `${JSON.stringify(result, null, 2)}\n`],
    ['backend-bench.md', md],
  ] as const) {
    writeAtomic(join(dir, name), text);
  }
  process.stdout.write(md);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);

/**
 * What each of lowbit's training-speed fixes buys on wasm, measured in one process: the same models
 * take training steps (batch 64, Adam) with every fix off (lowbit as it was before them: tfjs
 * 4.22's stock kernels and gradients, or lowbit's earlier override where noted), every fix on, and
 * every fix on but one, the configurations alternating round by round so that all see the same
 * machine load. Medians of process CPU ms per step.
 *
 * The fixes (all installed by lowbit's backend on import):
 * - bn-grad: FusedBatchNorm gradient by broadcasting instead of tf.tile (src/backend/gradients.ts)
 * - identity: wasm Identity shares the buffer instead of copying (src/backend/elementwise-kernels.ts)
 * - sign: branch-free wasm Sign, same values (src/backend/elementwise-kernels.ts)
 * - ste-grad: fused clipped straight-through gradient kernel (src/backend/elementwise-kernels.ts)
 * - matmul-swap: transposed 2-D products computed as (op(b)^T op(a)^T)^T where that moves fewer
 *   values (src/backend/matmul-kernels.ts)
 * - conv-dx: Conv2DBackpropInput as matMul + col2im (src/backend/conv-grad-kernels.ts)
 * - reduce: Sum/Mean over leading axes as a loop over the heap instead of a ones-vector GEMM
 *   (src/backend/reduce-kernels.ts; "off" is lowbit's earlier GEMM form, itself faster than stock)
 * - pool: MaxPoolGrad's 2x2 fast paths (SIMD, or unrolled JavaScript) instead of the general loop
 * - adam: larqAdam's fused Adam step (src/backend/adam-kernel.ts) instead of tfjs's 14 ops
 * - simd: lowbit's SIMD heap kernels (src/backend/heap-kernels.ts) used by sign, ste-grad, adam, pool,
 *   reduce, the one-input-channel conv gradients and binary; off = their JavaScript (or tfjs)
 *   fallbacks
 * - binary: convolutions and matrix products with an exactly +-1 operand
 *   (src/backend/binary-conv-kernels.ts): XNOR-popcount forward, table-lookup kernel and input
 *   gradients; off = the float kernels
 *
 * Run: npx tsx bench/train-speed-levers.ts [--rounds N] [--networks a,b]
 * Writes bench/results/train-speed-levers.{json,md} atomically.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ADAM_UPDATE } from '../src/backend/adam-kernel.js';
import { setBinaryConvEnabled } from '../src/backend/binary-conv-kernels.js';
import { conv2DBackpropInputFromOps } from '../src/backend/conv-grad-kernels.js';
import { CLIPPED_GRADIENT } from '../src/backend/elementwise-kernels.js';
import { setHeapKernelsEnabled } from '../src/backend/heap-kernels.js';
import {
  originalGradient,
  registerFusedKernels,
  restoreOriginalKernel,
  setBackend,
} from '../src/backend/index.js';
import { type OpKernel, overrideKernel } from '../src/backend/kernel-registry.js';
import { makeBatchMatMul } from '../src/backend/matmul-kernels.js';
import { maxPoolGradWasmGeneral } from '../src/backend/pool-kernels.js';
import { makeLeadingReduceMatMul } from '../src/backend/reduce-kernels.js';
import { larqAdam } from '../src/train/index.js';
import { get } from '../src/zoo/index.js';
import {
  commandLine,
  flag,
  machineInfo,
  machineLine,
  median,
  RESULTS_DIR,
  writeAtomic,
} from './zoo-bench-util.js';

const ROUNDS = Number(flag('rounds') ?? 5);
const STEPS_PER_ROUND = 3;

await setBackend('wasm');
const lowbitBnGradient = tf.getGradient('FusedBatchNorm') as tf.GradConfig;
const stockBnGradient = originalGradient('FusedBatchNorm') as tf.GradConfig;

function setGradient(g: tf.GradConfig): void {
  tf.unregisterGradient('FusedBatchNorm');
  tf.registerGradient(g);
}

/**
 * The on and off kernel configs of a kernel-level fix, captured once: toggling re-registers the same
 * function objects, so that the JIT-compiled loops stay warm across switches.
 */
function kernelToggle(
  name: string,
  offMake: ((original: tf.KernelFunc) => OpKernel) | null,
): (on: boolean) => void {
  const on = tf.getKernel(name, 'wasm')!;
  restoreOriginalKernel(name, 'wasm');
  if (offMake) overrideKernel(name, 'wasm', offMake);
  const off = tf.getKernel(name, 'wasm')!;
  return (state) => {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(state ? on : off);
  };
}

/** Each fix: how to turn it on and off. */
const LEVERS: Record<string, (on: boolean) => void> = {
  'bn-grad': (on) => setGradient(on ? lowbitBnGradient : stockBnGradient),
  identity: kernelToggle('Identity', null),
  sign: kernelToggle('Sign', null),
  'ste-grad': (on) => {
    if (on) registerFusedKernels();
    else if (tf.getKernel(CLIPPED_GRADIENT, 'wasm') != null) tf.unregisterKernel(CLIPPED_GRADIENT, 'wasm');
  },
  'matmul-swap': kernelToggle('BatchMatMul', (o) => makeBatchMatMul(o, { swap: false })),
  'conv-dx': kernelToggle('Conv2DBackpropInput', () => conv2DBackpropInputFromOps),
  pool: kernelToggle('MaxPoolGrad', () => maxPoolGradWasmGeneral),
  adam: (on) => {
    if (on) registerFusedKernels();
    else if (tf.getKernel(ADAM_UPDATE, 'wasm') != null) tf.unregisterKernel(ADAM_UPDATE, 'wasm');
  },
  simd: (on) => setHeapKernelsEnabled(on),
  binary: (on) => setBinaryConvEnabled(on),
  reduce: ((sum, mean) => (on: boolean) => {
    sum(on);
    mean(on);
  })(
    kernelToggle('Sum', (o) => makeLeadingReduceMatMul(o, false)),
    kernelToggle('Mean', (o) => makeLeadingReduceMatMul(o, true)),
  ),
};
const NAMES = Object.keys(LEVERS);

interface Config {
  label: string;
  on: Set<string>;
}
const CONFIGS: Config[] = [
  { label: 'all off', on: new Set() },
  { label: 'all on', on: new Set(NAMES) },
  ...NAMES.map((n) => ({ label: `all on but ${n}`, on: new Set(NAMES.filter((m) => m !== n)) })),
];

function apply(config: Config): void {
  for (const n of NAMES) LEVERS[n]!(config.on.has(n));
}

const NETWORKS: Array<[string, string, boolean]> = [
  ['larq-intro-cnn, binary', 'larq-intro-cnn', false],
  ['larq-intro-cnn, float twin', 'larq-intro-cnn', true],
  ['binary-mlp', 'binary-mlp', false],
  ['binary-mlp, float twin', 'binary-mlp', true],
];
const only = flag('networks')?.split(',');

async function stepper(
  name: string,
  float: boolean,
): Promise<{ step: () => Promise<number>; done: () => void }> {
  const model: tfl.LayersModel = get(name, { float, seed: 0 });
  model.compile({ optimizer: larqAdam(), loss: 'sparseCategoricalCrossentropy' });
  const x = tf.randomUniform([64, 28, 28, 1], -1, 1, 'float32', 1);
  const y = tf.tensor1d(
    Array.from({ length: 64 }, (_, i) => i % 10),
    'float32',
  );
  return {
    step: async () => {
      const c0 = process.cpuUsage();
      await model.trainOnBatch(x, y);
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / 1000;
    },
    done: () => {
      tf.dispose([x, y]);
      model.dispose();
    },
  };
}

const rows: Array<{ network: string; ms: Record<string, number>; runs: Record<string, number[]> }> = [];
for (const [label, name, float] of NETWORKS) {
  if (only && !only.includes(name) && !only.includes(label)) continue;
  const { step, done } = await stepper(name, float);
  const runs: Record<string, number[]> = Object.fromEntries(CONFIGS.map((c) => [c.label, []]));
  for (const c of CONFIGS) {
    apply(c);
    await step();
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of CONFIGS) {
      apply(c);
      await step(); // an untimed step after switching kernels
      for (let s = 0; s < STEPS_PER_ROUND; s++) runs[c.label]!.push(await step());
    }
  }
  done();
  const ms = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
  rows.push({ network: label, ms, runs });
  console.log(
    label,
    JSON.stringify(Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, v.toFixed(1)]))),
  );
}
apply(CONFIGS[1]!);

const machine = machineInfo();
const md = [
  '# What each training-speed fix buys (wasm, one process, alternating)',
  '',
  machineLine(machine, 'wasm'),
  `Command: \`${commandLine()}\`. Batch 64, Adam; median CPU ms per step over ${ROUNDS} rounds x ${STEPS_PER_ROUND} steps, configurations alternating within each round.`,
  '',
  "Fixes: bn-grad (FusedBatchNorm gradient by broadcasting, no Tile), identity (zero-copy wasm Identity), sign (branch-free wasm Sign, same values), ste-grad (fused clipped STE gradient kernel), matmul-swap (transposed products swapped when that moves fewer values), conv-dx (Conv2DBackpropInput as matMul + col2im, the scatter on SIMD where available; off also bypasses binary's conv input gradient), reduce (Sum/Mean over leading axes as a heap loop; off = lowbit's earlier ones-vector GEMM), pool (2x2 MaxPoolGrad fast paths), adam (fused Adam step), simd (the SIMD heap kernels behind sign, ste-grad, adam, pool, reduce, first-layer conv gradients and binary; off = JavaScript or tfjs fallbacks), binary (convolutions and Dense products with an exactly +-1 operand: XNOR-popcount forward, table-lookup kernel and input gradients; off = float kernels). \"All off\" is lowbit as it was at the start of this work (stock tfjs kernels, or lowbit's earlier overrides for Sum, Mean, MaxPoolGrad, Conv2DBackpropInput and BatchMatMul).",
  '',
  `| network | all off ms | all on ms | speed-up | ${NAMES.map((n) => `without ${n} ms`).join(' | ')} |`,
  `|---|---|---|---|${NAMES.map(() => '---|').join('')}`,
  ...rows.map((r) => {
    const off = r.ms['all off']!;
    const on = r.ms['all on']!;
    return `| ${r.network} | ${off.toFixed(1)} | ${on.toFixed(1)} | ${(off / on).toFixed(2)}x | ${NAMES.map((n) => r.ms[`all on but ${n}`]!.toFixed(1)).join(' | ')} |`;
  }),
  '',
  'A fix\'s contribution is its "without" column minus "all on" (noise: a few ms under load).',
  '',
];
writeAtomic(
  join(RESULTS_DIR, 'train-speed-levers.json'),
  `${JSON.stringify({ command: commandLine(), machine, rounds: ROUNDS, stepsPerRound: STEPS_PER_ROUND, levers: NAMES, rows }, null, 2)}\n`,
);
writeAtomic(join(RESULTS_DIR, 'train-speed-levers.md'), md.join('\n'));
console.log(md.join('\n'));

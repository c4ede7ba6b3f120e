/**
 * Experiment for the backend: how much of a wasm training step the BatchNorm gradient's tf.tile
 * costs. tfjs-core 4.22's FusedBatchNorm gradient tiles rsqrt(variance + eps) to the full input
 * shape before multiplying; broadcasting gives the same numbers (checked here) without the copy.
 * This script swaps the registered gradient in-process only (lowbit's library code is unchanged)
 * and times training steps (batch 64, Adam) with the stock and the broadcasting gradient,
 * alternating round by round so both see the same machine load; medians of CPU time per step.
 *
 * Run: npx tsx bench/train-speed-bn-grad.ts [--rounds N]
 * Writes bench/results/train-speed-bn-grad.{json,md}.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { setBackend } from '../src/backend/index.js';
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

const ROUNDS = Number(flag('rounds') ?? 7);

const broadcastGradient: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const d = dy as tf.Tensor;
    const [x, mean, variance, scale] = saved;
    const s = scale == null ? tf.scalar(1) : scale;
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const inv = tf.rsqrt(tf.add(variance, attrs.varianceEpsilon as number));
    const dys = tf.mul(d, s);
    return {
      x: () => tf.mul(dys, inv),
      mean: () => tf.sum(tf.mul(dys, tf.neg(inv)), axes),
      variance: () => tf.sum(tf.mul(tf.mul(tf.sub(x, mean), dys), tf.mul(tf.pow(inv, 3), -0.5)), axes),
      scale: () => tf.sum(tf.mul(d, tf.mul(tf.sub(x, mean), inv)), axes),
      offset: () => tf.sum(d, axes),
    };
  },
};

await setBackend('wasm');
const stock = tf.getGradient('FusedBatchNorm') as tf.GradConfig;
const use = (g: tf.GradConfig) => {
  const warn = console.warn;
  console.warn = () => {}; // tfjs warns when a gradient is overridden
  tf.registerGradient(g);
  console.warn = warn;
};

// 1. Same numbers: gradients of sum(w * batchNorm(x)) w.r.t. every input, both ways.
const inputs = [
  tf.randomNormal([4, 3, 3, 5], 0, 1, 'float32', 1),
  tf.randomNormal([5], 0, 1, 'float32', 2),
  tf.abs(tf.randomNormal([5], 1, 0.3, 'float32', 3)),
  tf.randomNormal([5], 1, 0.3, 'float32', 4),
  tf.randomNormal([5], 0, 1, 'float32', 5),
];
const w = tf.randomNormal([4, 3, 3, 5], 0, 1, 'float32', 6);
const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
  tf.sum(tf.mul(tf.batchNorm(x, m, v, o, s, 1e-3), w));
const grads = (g: tf.GradConfig) => {
  use(g);
  return tf
    .grads(f)(inputs)
    .map((t) => Array.from(t.dataSync()));
};
const a = grads(stock);
const b = grads(broadcastGradient);
const maxDiff = Math.max(...a.flatMap((arr, i) => arr.map((v, k) => Math.abs(v - b[i][k]))));

// 2. Step times, alternating.
async function stepper(name: string, float: boolean) {
  const model: tfl.LayersModel = get(name, { float, seed: 0 });
  model.compile({ optimizer: larqAdam(), loss: 'sparseCategoricalCrossentropy' });
  const x = tf.randomUniform([64, 28, 28, 1], -1, 1, 'float32', 1);
  const y = tf.tensor1d(
    Array.from({ length: 64 }, (_, i) => i % 10),
    'float32',
  );
  return async () => {
    const c0 = process.cpuUsage();
    await model.trainOnBatch(x, y);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
}
const nets: Array<[string, string, boolean]> = [
  ['larq-intro-cnn, binary', 'larq-intro-cnn', false],
  ['larq-intro-cnn, float twin', 'larq-intro-cnn', true],
  ['quicknet-tiny', 'quicknet-tiny', false],
];
const rows: Array<{
  network: string;
  stockMs: number;
  broadcastMs: number;
  stockRuns: number[];
  broadcastRuns: number[];
}> = [];
for (const [label, name, float] of nets) {
  const step = await stepper(name, float);
  const s: number[] = [];
  const p: number[] = [];
  for (const g of [stock, broadcastGradient]) {
    use(g);
    await step();
  }
  for (let r = 0; r < ROUNDS; r++) {
    use(stock);
    s.push(await step());
    use(broadcastGradient);
    p.push(await step());
  }
  rows.push({ network: label, stockMs: median(s), broadcastMs: median(p), stockRuns: s, broadcastRuns: p });
  console.log(label, median(s).toFixed(0), median(p).toFixed(0));
}
use(stock);

const machine = machineInfo();
const md = [
  '# BatchNorm gradient without tf.tile (wasm training step)',
  '',
  machineLine(machine, 'wasm'),
  `Command: \`${commandLine()}\`. Batch 64, Adam; median CPU ms per step over ${ROUNDS} alternating rounds.`,
  '',
  `Same gradients: max |stock - broadcast| over every input of a [4, 3, 3, 5] batch norm = ${maxDiff.toExponential(2)}.`,
  '',
  '| network | stock gradient ms | broadcasting gradient ms | speed-up |',
  '|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.network} | ${r.stockMs.toFixed(0)} | ${r.broadcastMs.toFixed(0)} | ${(r.stockMs / r.broadcastMs).toFixed(2)}x |`,
  ),
  '',
];
writeAtomic(
  join(RESULTS_DIR, 'train-speed-bn-grad.json'),
  `${JSON.stringify({ command: commandLine(), machine, rounds: ROUNDS, maxGradientDifference: maxDiff, rows }, null, 2)}\n`,
);
writeAtomic(join(RESULTS_DIR, 'train-speed-bn-grad.md'), md.join('\n'));
console.log(md.join('\n'));

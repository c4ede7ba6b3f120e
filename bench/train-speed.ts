/**
 * Training-speed benchmark: samples/s of one training step (batch 64, Adam, sparse categorical
 * cross-entropy, constraints applied) for larq-intro-cnn, binary-mlp and their float twins on each
 * available backend, next to the same networks in PyTorch (bench/train-speed-peer.py, CPU, one
 * thread) when /usr/bin/python3 can import torch, measured in the same run, network by network.
 *
 * Each figure is the median over timed steps after warm-up steps. The machine is shared, so both
 * wall-clock time and the process's CPU time (user + system) per step are recorded; ratios are
 * given for both, and CPU time is the fairer one when other jobs compete for the cores.
 * A per-kernel profile (tf.profile) of one step shows where lowbit's step time goes.
 *
 * Run: npx tsx bench/train-speed.ts [--steps N] [--warmup N] [--cpu-steps N] [--no-cpu] [--no-peer]
 *      [--no-profile] [--backends cpu,wasm] [--out NAME]
 * Writes bench/results/NAME.{json,md} atomically (NAME defaults to train-speed). The binarized cpu
 * backend steps take about a minute each, so the cpu rows can be run on their own
 * (`--backends cpu --no-profile --out train-speed-cpu`) to keep each run short.
 * What each of lowbit's speed fixes contributes is measured by bench/train-speed-levers.ts.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { backendInfo, registeredBackends, setBackend } from '../src/backend/index.js';
import { larqAdam } from '../src/train/index.js';
import { get as zooGet } from '../src/zoo/index.js';
import {
  commandLine,
  flag,
  hasFlag,
  machineInfo,
  machineLine,
  median,
  RESULTS_DIR,
  writeAtomic,
} from './zoo-bench-util.js';

const BATCH = 64;
// 10 warm-up steps: V8 compiles hot wasm functions (lowbit's kernels, XNNPACK) again with its optimizing
// tier on background threads, whose CPU time the first few steps would otherwise include.
const STEPS = Number(flag('steps') ?? 30);
const WARMUP = Number(flag('warmup') ?? 10);
const CPU_STEPS = Number(flag('cpu-steps') ?? 2);
const PEER_PYTHON = '/usr/bin/python3';
const OUT = flag('out') ?? 'train-speed';
const ONLY_BACKENDS = flag('backends')?.split(',');

interface Network {
  label: string;
  zoo: string;
  float: boolean;
  /** PyTorch figure of benchmarks.md (samples/s), for reference. */
  reference?: number;
}

const NETWORKS: Network[] = [
  { label: 'larq-intro-cnn, binary', zoo: 'larq-intro-cnn', float: false, reference: 980 },
  { label: 'larq-intro-cnn, float twin', zoo: 'larq-intro-cnn', float: true, reference: 1200 },
  { label: 'binary-mlp', zoo: 'binary-mlp', float: false, reference: 990 },
  { label: 'binary-mlp, float twin', zoo: 'binary-mlp', float: true },
];

interface Timing {
  wallMs: number[];
  cpuMs: number[];
  medianWallMs: number;
  medianCpuMs: number;
  samplesPerSecWall: number;
  samplesPerSecCpu: number;
}

function timing(wallMs: number[], cpuMs: number[]): Timing {
  const mw = median(wallMs);
  const mc = median(cpuMs);
  return {
    wallMs,
    cpuMs,
    medianWallMs: mw,
    medianCpuMs: mc,
    samplesPerSecWall: (1000 * BATCH) / mw,
    samplesPerSecCpu: (1000 * BATCH) / mc,
  };
}

function batch(): { x: tf.Tensor; y: tf.Tensor } {
  return tf.tidy(() => ({
    x: tf.randomUniform([BATCH, 28, 28, 1], -1, 1, 'float32', 7),
    y: tf.tensor1d(
      Array.from({ length: BATCH }, (_, i) => i % 10),
      'float32',
    ),
  }));
}

function compiled(net: Network): tfl.LayersModel {
  const model = zooGet(net.zoo, { float: net.float, seed: 0 });
  model.compile({ optimizer: larqAdam(), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

async function timeLowbit(net: Network, warmup: number, steps: number): Promise<Timing> {
  const model = compiled(net);
  const { x, y } = batch();
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(x, y);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    // trainOnBatch returns numbers: the step is finished (data read back) when it resolves.
    await model.trainOnBatch(x, y);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  tf.dispose([x, y]);
  model.dispose();
  return timing(wall, cpu);
}

interface KernelShare {
  kernel: string;
  ms: number;
  share: number;
  calls: number;
}

/** Per-kernel time of one training step (tf.profile; kernel times as the backend measures them). */
async function profileStep(net: Network): Promise<{ totalKernelMs: number; kernels: KernelShare[] }> {
  const model = compiled(net);
  const { x, y } = batch();
  await model.trainOnBatch(x, y);
  const info = await tf.profile(async () => {
    await model.trainOnBatch(x, y);
  });
  const byName = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of info.kernels) {
    // Op scopes (custom gradients, 'fused...__op') time the kernels they run: count only kernels.
    if (k.name === 'unnamed scope' || k.name.endsWith('__op')) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    total += ms;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    byName.set(k.name, e);
  }
  tf.dispose([x, y]);
  model.dispose();
  const kernels = [...byName]
    .map(([kernel, e]) => ({ kernel, ms: e.ms, share: e.ms / total, calls: e.calls }))
    .sort((a, b) => b.ms - a.ms);
  return { totalKernelMs: total, kernels };
}

function timePeer(net: Network): Timing & { torch: string } {
  const out = execFileSync(
    PEER_PYTHON,
    [
      join(import.meta.dirname, 'train-speed-peer.py'),
      net.zoo,
      net.float ? '1' : '0',
      String(BATCH),
      String(WARMUP),
      String(STEPS),
      '0',
    ],
    { encoding: 'utf8' },
  );
  const r = JSON.parse(out) as { torch: string; wallMs: number[]; cpuMs: number[] };
  return { ...timing(r.wallMs, r.cpuMs), torch: r.torch };
}

function peerAvailable(): boolean {
  if (hasFlag('no-peer')) return false;
  try {
    execFileSync(PEER_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const machine = machineInfo();
const backends = registeredBackends().filter(
  (b) =>
    (b === 'wasm' || b === 'tensorflow' || (b === 'cpu' && !hasFlag('no-cpu'))) &&
    (ONLY_BACKENDS == null || ONLY_BACKENDS.includes(b)),
);
const peer = peerAvailable();
const results: Array<{
  network: string;
  backend: string;
  lowbit: Timing;
  peer?: Timing & { torch: string };
}> = [];
const backendInfos: Record<string, unknown> = {};

for (const backend of backends) {
  await setBackend(backend);
  backendInfos[backend] = await backendInfo();
  const slow = backend === 'cpu';
  for (const net of NETWORKS) {
    if (slow && net.float) continue; // the cpu backend only briefly: binarized networks, few steps
    const lowbit = await timeLowbit(net, slow ? 1 : WARMUP, slow ? CPU_STEPS : STEPS);
    // The peer runs right after lowbit's steps for the same network, so both see the same load.
    const p = peer && !slow ? timePeer(net) : undefined;
    results.push({ network: net.label, backend, lowbit, ...(p ? { peer: p } : {}) });
    console.log(
      `${backend} ${net.label}: lowbit ${lowbit.samplesPerSecCpu.toFixed(0)} samples/CPU-s (${lowbit.samplesPerSecWall.toFixed(0)} wall)` +
        (p ? `, PyTorch ${p.samplesPerSecCpu.toFixed(0)} (${p.samplesPerSecWall.toFixed(0)} wall)` : ''),
    );
  }
}

const profiles: Record<string, unknown> = {};
if (!hasFlag('no-profile') && backends.includes('wasm')) {
  await setBackend('wasm');
  for (const net of NETWORKS.slice(0, 3)) profiles[net.label] = await profileStep(net);
}

// Ratios: binarized step / float twin step on the same backend.
const stepRatio = (backend: string, binary: string, float: string, key: 'medianCpuMs' | 'medianWallMs') => {
  const b = results.find((r) => r.backend === backend && r.network === binary);
  const f = results.find((r) => r.backend === backend && r.network === float);
  return b && f ? b.lowbit[key] / f.lowbit[key] : null;
};

const md: string[] = [
  '# Training speed',
  '',
  machineLine(machine, backends.join(', ')),
  `Command: \`${commandLine()}\`.`,
  `Batch ${BATCH}, Adam, sparse categorical cross-entropy, weight_clip applied after each step; median of ${STEPS} timed steps after ${WARMUP} warm-up steps (cpu backend: ${CPU_STEPS} steps after 1). ` +
    `PyTorch: ${
      !peer
        ? 'not available (no /usr/bin/python3 with torch)'
        : results.some((r) => r.peer)
          ? `bench/train-speed-peer.py, torch ${results.find((r) => r.peer)?.peer?.torch}, 1 thread, CPU, same networks and batch, run right after lowbit for each network`
          : 'not run next to the cpu backend (see bench/results/train-speed.md)'
    }.`,
  '',
  'samples/s by CPU time (samples / process CPU seconds per step) and by wall-clock time. The machine is shared with other jobs, so wall-clock figures are depressed and noisy; CPU-time figures are the fair comparison.',
  '',
  "Binarized layers: their convolutions and Dense products see an input and a kernel that are exactly +-1 (ste_sign's output), which lowbit's wasm kernels detect and run as XNOR-popcount products (forward) and table lookups (kernel and input gradients), src/backend/binary-conv-kernels.ts; the float twins run XNNPACK's float GEMMs. " +
    "What each of lowbit's training-speed fixes contributes: bench/results/train-speed-levers.md." +
    (backends.includes('cpu')
      ? ''
      : ' The cpu backend rows: bench/results/train-speed-cpu.md (`--backends cpu`).'),
  '',
  '| network | backend | lowbit samples/s (CPU) | lowbit samples/s (wall) | PyTorch samples/s (CPU) | PyTorch samples/s (wall) | lowbit / PyTorch (CPU) | lowbit / PyTorch (wall) | benchmarks.md PyTorch |',
  '|---|---|---|---|---|---|---|---|---|',
];
for (const r of results) {
  const ref = NETWORKS.find((n) => n.label === r.network)?.reference;
  md.push(
    `| ${r.network} | ${r.backend} | ${r.lowbit.samplesPerSecCpu.toFixed(0)} | ${r.lowbit.samplesPerSecWall.toFixed(0)} | ${
      r.peer ? r.peer.samplesPerSecCpu.toFixed(0) : '-'
    } | ${r.peer ? r.peer.samplesPerSecWall.toFixed(0) : '-'} | ${
      r.peer ? (r.lowbit.samplesPerSecCpu / r.peer.samplesPerSecCpu).toFixed(2) : '-'
    } | ${r.peer ? (r.lowbit.samplesPerSecWall / r.peer.samplesPerSecWall).toFixed(2) : '-'} | ${ref ?? '-'} |`,
  );
}
md.push(
  '',
  '## Binarized step / float twin step (goal <= 1.3)',
  '',
  '| network | backend | CPU time ratio | wall time ratio |',
  '|---|---|---|---|',
);
const ratios: Record<string, unknown> = {};
for (const backend of backends) {
  for (const [binary, float] of [
    ['larq-intro-cnn, binary', 'larq-intro-cnn, float twin'],
    ['binary-mlp', 'binary-mlp, float twin'],
  ]) {
    const cpu = stepRatio(backend, binary, float, 'medianCpuMs');
    const wall = stepRatio(backend, binary, float, 'medianWallMs');
    if (cpu === null || wall === null) continue;
    ratios[`${backend}: ${binary}`] = { cpu, wall };
    md.push(`| ${binary} | ${backend} | ${cpu.toFixed(2)} | ${wall.toFixed(2)} |`);
  }
}
for (const [label, p] of Object.entries(profiles) as Array<
  [string, { totalKernelMs: number; kernels: KernelShare[] }]
>) {
  md.push(
    '',
    `## Where a wasm training step goes: ${label} (tf.profile, ${p.totalKernelMs.toFixed(0)} ms of kernel time)`,
    '',
    'Wall-clock kernel times; a lowbit kernel built from other kernels (conv gradients, matMul, reductions) also counts the kernels it runs, so shares overlap.',
    '',
    '| kernel | ms | share | calls |',
    '|---|---|---|---|',
  );
  for (const k of p.kernels.slice(0, 12))
    md.push(`| ${k.kernel} | ${k.ms.toFixed(1)} | ${(100 * k.share).toFixed(1)}% | ${k.calls} |`);
}
md.push('');

writeAtomic(
  join(RESULTS_DIR, `${OUT}.json`),
  `${JSON.stringify({ command: commandLine(), machine, backends: backendInfos, batch: BATCH, steps: STEPS, warmup: WARMUP, peer, results, ratios, profiles }, null, 2)}\n`,
);
writeAtomic(join(RESULTS_DIR, `${OUT}.md`), md.join('\n'));
console.log(md.join('\n'));

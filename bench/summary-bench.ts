/**
 * Efficiency metrics of larq-intro-cnn and its float twin, side by side (seed 002's table:
 * parameter size, MACs / FLOPs, latency, throughput, energy): the counted and estimated figures
 * from lq.models.profile / estimateEnergy, and latency measured with lq.models.benchmark on the
 * wasm and cpu backends. The two models are timed in alternating rounds in the same process, so
 * their ratio is measured side by side.
 *
 * Note: on tfjs both models compute in float32 (the binary one adds its sign quantizers), so this
 * measures simulated quantization, not bitpacked inference (that is the engine's benchmark).
 *
 * Run: npx tsx bench/summary-bench.ts [--quick]
 * Writes bench/summary-bench.json and bench/summary-bench.md (atomically).
 */
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfl from '@tensorflow/tfjs-layers';
import { setBackend } from '../src/backend/index.js';
import {
  type BatchTiming,
  type BenchmarkResult,
  benchmark,
  energyAsReadable,
  estimateEnergy,
  median,
  memoryAsReadable,
  percentile,
  profile,
} from '../src/summary/index.js';
import { larqIntroCnn } from '../src/summary/testing.js';
import { setWarningHandler } from '../src/util/log.js';
import { writeAtomic } from './zoo-bench-util.js';

setWarningHandler(() => {});
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 2 : 5;
const RUNS_PER_ROUND = quick ? 3 : 6;
const BACKENDS: Record<string, number[]> = { wasm: [1, 32, 128], cpu: [1, 32] };

let models: Record<string, tfl.LayersModel> = {};

interface Row {
  backend: string;
  model: string;
  batchSize: number;
  medianMs: number;
  p90Ms: number;
  samplesPerSecond: number;
  runs: number;
}

// Other processes on the machine make latencies noisy; the 1-minute load average says how busy it was.
const loadBefore = loadavg()[0];
const rows: Row[] = [];
let lastResult: BenchmarkResult | null = null;
for (const [backend, batchSizes] of Object.entries(BACKENDS)) {
  await setBackend(backend);
  // Built on the backend being measured, so no weights move between backends while timing.
  models = { binary: larqIntroCnn(true), float: larqIntroCnn(false) };
  const times: Record<string, Record<number, number[]>> = { binary: {}, float: {} };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which model goes first, so drift in the machine's speed hits both alike.
    const order = round % 2 === 0 ? ['binary', 'float'] : ['float', 'binary'];
    for (const name of order) {
      const r = await benchmark(models[name], { batchSizes, runs: RUNS_PER_ROUND, warmup: 2, seed: round });
      lastResult = r;
      for (const t of r.results as BatchTiming[]) {
        times[name][t.batchSize] = [...(times[name][t.batchSize] ?? []), ...t.timesMs];
      }
    }
  }
  for (const name of ['binary', 'float']) {
    for (const batchSize of batchSizes) {
      const all = times[name][batchSize];
      const med = median(all);
      rows.push({
        backend,
        model: name,
        batchSize,
        medianMs: med,
        p90Ms: percentile(all, 0.9),
        samplesPerSecond: batchSize / (med / 1000),
        runs: all.length,
      });
    }
  }
}

const figures = Object.fromEntries(
  Object.entries(models).map(([name, model]) => {
    const p = profile(model);
    const e = estimateEnergy(p);
    return [
      name,
      {
        params: p.params,
        paramsByBits: p.paramsByBits,
        modelSize: memoryAsReadable(p.memoryBits),
        memoryBits: p.memoryBits,
        macsByPrecision: p.macsByPrecision,
        flops: p.ops.flops,
        binaryOps: p.ops.binaryOps,
        energySramPj: e.totalSramPj,
        energyDramPj: e.totalDramPj,
      },
    ];
  }),
);

const machine = lastResult?.machine;
const load = { before: loadBefore, after: loadavg()[0] };
const result = {
  date: new Date().toISOString(),
  machine,
  load,
  rounds: ROUNDS,
  runsPerRound: RUNS_PER_ROUND,
  figures,
  latency: rows,
};

const fmt = (v: number, d = 2) => v.toFixed(d);
const md: string[] = [
  '# Efficiency metrics: larq-intro-cnn, binary and float twin',
  '',
  `Machine: ${machine?.cpu}, ${machine?.cores} cores, ${machine?.os}, Node ${machine?.node}; ${result.date}. 1-minute load average ${fmt(load.before)} before, ${fmt(load.after)} after (above the core count, other processes shared the cores and latencies are noisy).`,
  `Command: \`npx tsx bench/summary-bench.ts${quick ? ' --quick' : ''}\`. Latency: medians over ${ROUNDS} alternating rounds x ${RUNS_PER_ROUND} runs of model.predict + dataSync (seeded random inputs, 2 warm-up runs per round).`,
  '',
  '## Counted and estimated (hardware independent except energy)',
  '',
  '| metric | binary | float twin |',
  '|---|---|---|',
];
const f = figures as Record<string, (typeof figures)[string]>;
const macs = (name: string, bits: number) => f[name].macsByPrecision.find((m) => m.bits === bits)?.count ?? 0;
md.push(
  `| parameters | ${f.binary.params.toLocaleString('en-US')} | ${f.float.params.toLocaleString('en-US')} |`,
);
md.push(`| model size | ${f.binary.modelSize} | ${f.float.modelSize} |`);
md.push(
  `| 1-bit MACs | ${macs('binary', 1).toLocaleString('en-US')} | ${macs('float', 1).toLocaleString('en-US')} |`,
);
md.push(
  `| 32-bit MACs | ${macs('binary', 32).toLocaleString('en-US')} | ${macs('float', 32).toLocaleString('en-US')} |`,
);
md.push(`| FLOPs | ${f.binary.flops.toLocaleString('en-US')} | ${f.float.flops.toLocaleString('en-US')} |`);
md.push(
  `| binary ops (XNOR + popcount) | ${f.binary.binaryOps.toLocaleString('en-US')} | ${f.float.binaryOps.toLocaleString('en-US')} |`,
);
md.push(
  `| energy / inference, weights in SRAM (estimate, 45 nm) | ${energyAsReadable(f.binary.energySramPj)} | ${energyAsReadable(f.float.energySramPj)} |`,
);
md.push(
  `| energy / inference, weights in DRAM (estimate, 45 nm) | ${energyAsReadable(f.binary.energyDramPj)} | ${energyAsReadable(f.float.energyDramPj)} |`,
);
md.push(
  '',
  'Energy: Horowitz (ISSCC 2014, 45 nm) per operation, binary MAC assumed 0.0075 pJ (XNOR + popcount as two full adders), weights read once per inference; see src/summary/energy.ts.',
  '',
  '## Measured on tfjs (simulated quantization: both models compute in float32)',
  '',
  '| backend | batch | binary median ms | binary p90 ms | binary samples/s | float median ms | float p90 ms | float samples/s | binary / float time |',
  '|---|---|---|---|---|---|---|---|---|',
);
for (const [backend, batchSizes] of Object.entries(BACKENDS)) {
  for (const batchSize of batchSizes) {
    const b = rows.find((r) => r.backend === backend && r.model === 'binary' && r.batchSize === batchSize);
    const fl = rows.find((r) => r.backend === backend && r.model === 'float' && r.batchSize === batchSize);
    if (!b || !fl) continue;
    md.push(
      `| ${backend} | ${batchSize} | ${fmt(b.medianMs, 3)} | ${fmt(b.p90Ms, 3)} | ${fmt(b.samplesPerSecond, 0)} | ${fmt(fl.medianMs, 3)} | ${fmt(fl.p90Ms, 3)} | ${fmt(fl.samplesPerSecond, 0)} | ${fmt(b.medianMs / fl.medianMs)} |`,
    );
  }
}
md.push('');

const here = dirname(fileURLToPath(import.meta.url));
writeAtomic(join(here, 'summary-bench.json'), `${JSON.stringify(result, null, 2)}\n`);
writeAtomic(join(here, 'summary-bench.md'), md.join('\n'));
process.stdout.write(`${md.join('\n')}\n`);

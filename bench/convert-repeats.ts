/**
 * The whole-network speed-ups of bench/convert-bench.ts, repeated: runs its timing part (no exactness,
 * no per-node breakdown) `--runs N` times (default 8) as separate processes `--pause S` seconds apart
 * (default 20), so that the repeats sample different minutes of a shared machine whose speed drifts,
 * and reports each run's ratios and their median (one run's ratio says little on such a machine).
 *
 * Run: `npx tsx bench/convert-repeats.ts [--runs N] [--pause S] [--models a,b]`. Writes each run to
 * bench/results/convert-repeat-I.{json,md} (convert-bench's own format) and the summary to
 * bench/results/convert-repeats.{json,md}.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  commandLine,
  flag,
  machineInfo,
  machineLine,
  median,
  RESULTS_DIR,
  writeAtomic,
} from './zoo-bench-util.js';

interface SpeedRow {
  model: string;
  batch: number;
  speedupP50: number;
  speedupU8P50: number;
  speedupCpu: number;
  engine: { p50Ms: number };
  tfjs: { p50Ms: number };
}

const runs = Number(flag('runs') ?? 8);
const pause = Number(flag('pause') ?? 20);
const models = flag('models') ?? 'binary-mlp,larq-intro-cnn';
if (!Number.isInteger(runs) || runs < 1 || !(pause >= 0)) {
  console.error(
    `--runs must be an integer >= 1 and --pause a number of seconds >= 0 (got ${runs}, ${pause})`,
  );
  process.exit(1);
}

const machine = machineInfo();
const perRun: SpeedRow[][] = [];
for (let i = 1; i <= runs; i++) {
  if (i > 1) await new Promise((r) => setTimeout(r, pause * 1000));
  const out = `results/convert-repeat-${i}`;
  execFileSync(
    process.execPath,
    [
      ...process.execArgv,
      join(RESULTS_DIR, '..', 'convert-bench.ts'),
      '--models',
      models,
      '--no-exactness',
      '--no-breakdown',
      '--out',
      out,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  perRun.push(
    (JSON.parse(readFileSync(join(RESULTS_DIR, '..', `${out}.json`), 'utf8')) as { speed: SpeedRow[] }).speed,
  );
  process.stdout.write(`run ${i} of ${runs} done\n`);
}

const keys = perRun[0].map((r) => ({ model: r.model, batch: r.batch }));
const summary = keys.map(({ model, batch }) => {
  const rows = perRun.map((rs) => rs.find((r) => r.model === model && r.batch === batch)!);
  return {
    model,
    batch,
    speedupP50: rows.map((r) => r.speedupP50),
    speedupU8P50: rows.map((r) => r.speedupU8P50),
    speedupCpu: rows.map((r) => r.speedupCpu),
    engineP50Ms: rows.map((r) => r.engine.p50Ms),
    tfjsP50Ms: rows.map((r) => r.tfjs.p50Ms),
  };
});
const f = (x: number, d = 1) => x.toFixed(d);
const list = (v: number[], d = 1) => v.map((x) => f(x, d)).join(', ');
const md = [
  '# Converted networks: engine vs tfjs, repeated',
  '',
  `${machineLine(machine, 'tfjs-backend-wasm vs lowbit engine, 1 thread')}`,
  `Command: \`${commandLine()}\`: ${runs} runs of \`bench/convert-bench.ts --models ${models} --no-exactness --no-breakdown\` (each in its own process, ${pause} s apart; each run's table in bench/results/convert-repeat-I.md). A run's ratio is tfjs's p50 over the engine's p50 on the first MNIST test images, the two taking turns of 10 runs.`,
  '',
  '| model | batch | speed-up (p50), median of runs | each run | uint8 input: median | each run | speed-up (CPU ms): median | engine p50 ms: median | tfjs p50 ms: median |',
  '|---|---|---|---|---|---|---|---|---|',
  ...summary.map(
    (s) =>
      `| ${s.model} | ${s.batch} | **${f(median(s.speedupP50))}x** | ${list(s.speedupP50)} | ${f(median(s.speedupU8P50))}x | ${list(s.speedupU8P50)} | ${f(median(s.speedupCpu))}x | ${f(median(s.engineP50Ms), 3)} | ${f(median(s.tfjsP50Ms), 3)} |`,
  ),
  '',
  'Target: >= 8x faster than tfjs on its fastest available backend, batch 1 and 64, for binary-mlp and larq-intro-cnn.',
  '',
].join('\n');
writeAtomic(
  join(RESULTS_DIR, 'convert-repeats.json'),
  `${JSON.stringify({ machine, runs, pause, models, summary }, null, 2)}\n`,
);
writeAtomic(join(RESULTS_DIR, 'convert-repeats.md'), md);
process.stdout.write(md);

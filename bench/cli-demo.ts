/**
 * Benchmark of `lowbit demo` (what `npm start` runs): runs the demo itself, in-process, for each seed and
 * records test accuracy on the embedded MNIST's 2,000 test images, training time (wall and CPU), the
 * engine's agreement with tfjs, inference time and file sizes.
 *
 * Run: npx tsx bench/cli-demo.ts [--seeds 0,1,2] [--epochs N]
 * Writes bench/cli-demo.json and bench/cli-demo.md (rewritten after each seed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureIo, runCli } from '../src/cli/index.js';
import { commandLine, machineInfo, writeAtomic } from './zoo-bench-util.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const seeds = (flag('seeds') ?? '0').split(',').map(Number);
const epochs = flag('epochs');

const machine = machineInfo();
const command = commandLine();

interface Row {
  seed: number;
  testAccuracy: number;
  epochs: number;
  trainSeconds: number;
  wallSeconds: number;
  cpuSeconds: number;
  samplesPerSecond: number;
  backend: string;
  engine: Record<string, number | string>;
  history: { epoch: number; loss: number; accuracy: number }[];
}
const rows: Row[] = [];

function report(): void {
  writeAtomic(join(here, 'cli-demo.json'), `${JSON.stringify({ machine, command, rows }, null, 2)}\n`);
  const pct = (a: number) => `${(100 * a).toFixed(2)}%`;
  const lines = [
    '# `lowbit demo` (npm start): accuracy, time, engine vs tfjs',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}; load average at start ${machine.loadAverage.join(' / ')} (shared machine); ${machine.date}; commit ${machine.commit ?? '?'}.`,
    `Command: \`${command}\`. Each row is one \`lowbit demo --seed S --json\` run (larq-intro-cnn, Adam lr 2e-3 with cosine decay, batch 64, 6 epochs, embedded MNIST 8,000 train / 2,000 test, then BatchNorm statistics re-estimated on the training images).`,
    '',
    '| seed | test accuracy | goal 95% | epochs | train s (wall) | CPU s (whole run) | samples/s | backend | engine accuracy | argmax agreement | engine ms | tfjs ms | engine speed-up | .lbm bytes | float32 bytes |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.seed} | ${pct(r.testAccuracy)} | ${r.testAccuracy >= 0.95 ? 'yes' : 'no'} | ${r.epochs} | ${r.trainSeconds.toFixed(0)} | ${r.cpuSeconds.toFixed(0)} | ${r.samplesPerSecond.toFixed(0)} | ${r.backend} | ${pct(Number(r.engine.engineAccuracy))} | ${pct(Number(r.engine.argmaxAgreement))} | ${Number(r.engine.engineMs).toFixed(1)} | ${Number(r.engine.tfjsMs).toFixed(1)} | ${Number(r.engine.speedup).toFixed(2)}x | ${r.engine.lbmBytes} | ${r.engine.float32Bytes} |`,
    ),
    '',
    'Wall-clock figures are depressed by the other jobs on this machine; CPU seconds are the fairer measure of cost.',
    'Engine and tfjs times are medians of 3 alternated runs predicting the 2,000 test images (tfjs in batches of 256).',
  ];
  writeAtomic(join(here, 'cli-demo.md'), `${lines.join('\n')}\n`);
}

for (const seed of seeds) {
  const out = mkdtempSync(join(os.tmpdir(), 'lowbit-demo-bench-'));
  try {
    const io = captureIo();
    const args = [
      'demo',
      '--seed',
      String(seed),
      '--out',
      out,
      '--json',
      ...(epochs ? ['--epochs', epochs] : []),
    ];
    const code = await runCli(args, io);
    if (code !== 0) throw new Error(`lowbit ${args.join(' ')} exited with ${code}: ${io.err()}`);
    const r = JSON.parse(io.out());
    rows.push({
      seed,
      testAccuracy: r.metrics.test.accuracy,
      epochs: r.metrics.settings.epochs,
      trainSeconds: r.metrics.timing.trainSeconds,
      wallSeconds: r.metrics.timing.wallSeconds,
      cpuSeconds: r.metrics.timing.cpuSeconds,
      samplesPerSecond: r.metrics.timing.samplesPerSecond,
      backend: r.metrics.backend.name,
      engine: r.engine,
      history: r.metrics.history.map((h: Row['history'][number]) => ({
        epoch: h.epoch,
        loss: h.loss,
        accuracy: h.accuracy,
      })),
    });
    report();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Data benchmark: load times of the embedded MNIST and of Fashion-MNIST, lowbit's streaming IDX
 * reader against the obvious baseline (read the whole .gz, zlib.gunzipSync, parse) on the same file
 * in the same run, and the throughput of seeded shuffled batching.
 *
 * Run: npx tsx bench/data-load.ts [--quick]
 * Writes bench/results/data.json and bench/results/data.md (atomically). Fashion-MNIST parts are
 * skipped (and say so) when /usr/share/datasets/fashion-mnist or $LOWBIT_FASHION_MNIST_DIR is absent.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import {
  batches,
  type Dataset,
  fashionMnist,
  findFashionMnist,
  mnist,
  parseIdx,
  readIdxFile,
} from '../src/data/index.js';
import { writeAtomic } from './zoo-bench-util.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 7;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function time(fn: () => Promise<unknown> | unknown, runs = RUNS, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const results: Record<string, unknown> = {};
const md: string[] = [];
const ms = (v: number) => v.toFixed(1);

// mnist() parses the package's JSON once per process: time that first call, then the later ones.
let t0 = performance.now();
await mnist();
const mnistFirstMs = performance.now() - t0;
const mnistMs = await time(() => mnist(), RUNS, 0);
results.mnistLoadMs = { firstCall: mnistFirstMs, laterCallsMedian: median(mnistMs), runs: mnistMs };

let fashion: Dataset | null = null;
let fashionNote = '';
try {
  const files = await findFashionMnist();
  const fashionMs = await time(() => fashionMnist(), quick ? 2 : 5);
  results.fashionMnistLoadMs = { median: median(fashionMs), runs: fashionMs, dir: files.dir };
  const path = files.paths.trainImages;
  // Side by side on the same file, interleaved so that caches and clocks treat both alike.
  const streaming: number[] = [];
  const whole: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    t0 = performance.now();
    await readIdxFile(path);
    if (i > 0) streaming.push(performance.now() - t0);
    t0 = performance.now();
    parseIdx(gunzipSync(readFileSync(path)), { source: path });
    if (i > 0) whole.push(performance.now() - t0);
  }
  results.idxTrainImages = {
    file: path,
    streamingReadIdxFileMs: { median: median(streaming), runs: streaming },
    gunzipSyncParseIdxMs: { median: median(whole), runs: whole },
    ratioStreamingOverWhole: median(streaming) / median(whole),
  };
  fashion = await fashionMnist();
} catch (e) {
  fashionNote = `Fashion-MNIST skipped: ${(e as Error).message}`;
  results.fashionMnist = fashionNote;
}

const split = (fashion ?? (await mnist())).train;
const batchMs = await time(() => {
  let n = 0;
  for (const b of batches(split, { batchSize: 64, seed: 1 })) n += b.size;
  return n;
});
results.batching = {
  dataset: fashion ? 'fashion-mnist train' : 'mnist train',
  examples: split.count,
  batchSize: 64,
  medianMs: median(batchMs),
  samplesPerSecond: split.count / (median(batchMs) / 1000),
  runs: batchMs,
};

const machine = {
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  backend: 'none (plain typed arrays; no tfjs)',
  loadAverage1m: os.loadavg()[0],
  date: new Date().toISOString(),
};
results.machine = machine;

md.push('# Data benchmark', '');
md.push(
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}, 1-minute load average ${machine.loadAverage1m.toFixed(1)} at the end (other jobs share the machine); medians of ${RUNS} runs (Fashion-MNIST load: ${quick ? 2 : 5}); ${machine.date}.`,
  'Command: `npx tsx bench/data-load.ts`.',
  '',
);
md.push('| what | median ms |', '|---|---|');
md.push(`| mnist(), first call (read and parse the package's JSON, split, scale) | ${ms(mnistFirstMs)} |`);
md.push(`| mnist(), later calls (parsed pixels kept: split, scale) | ${ms(median(mnistMs))} |`);
if (results.fashionMnistLoadMs) {
  const f = results.fashionMnistLoadMs as { median: number };
  const idx = results.idxTrainImages as {
    streamingReadIdxFileMs: { median: number };
    gunzipSyncParseIdxMs: { median: number };
    ratioStreamingOverWhole: number;
  };
  md.push(`| fashionMnist() (4 gzip IDX files, 70,000 images, scaled) | ${ms(f.median)} |`);
  md.push(
    `| readIdxFile(train-images .gz), streaming into an exact buffer | ${ms(idx.streamingReadIdxFileMs.median)} |`,
  );
  md.push(
    `| baseline: readFileSync + gunzipSync + parseIdx, same file | ${ms(idx.gunzipSyncParseIdxMs.median)} |`,
  );
  md.push(
    '',
    `Streaming reader / whole-buffer baseline: ${idx.ratioStreamingOverWhole.toFixed(2)}x the time. The streaming reader validates the header against the gzip trailer before allocating and never holds the compressed and decompressed file at once.`,
  );
} else {
  md.push('', fashionNote);
}
const b = results.batching as { dataset: string; samplesPerSecond: number; medianMs: number };
md.push(
  '',
  `Shuffled batching (batch 64, ${b.dataset}): ${ms(b.medianMs)} ms per epoch, ${Math.round(b.samplesPerSecond).toLocaleString('en-US')} samples/s (typed-array copies only).`,
  '',
);

const outDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
for (const [name, text] of [
  ['data.json', `${JSON.stringify(results, null, 2)}\n`],
  ['data.md', md.join('\n')],
] as const) {
  writeAtomic(join(outDir, name), text);
}
process.stdout.write(md.join('\n'));

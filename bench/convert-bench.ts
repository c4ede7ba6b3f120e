/**
 * Converted zoo networks: file sizes (.lbm vs the tfjs model's float32 weights) and whole-network
 * speed, lowbit engine vs tfjs on its fastest available backend, measured side by side (the two
 * take turns of 10 consecutive runs, so machine noise hits both alike; see sideBySide).
 *
 * Run: `npx tsx bench/convert-bench.ts [--quick] [--models a,b] [--no-exactness] [--no-breakdown] [--out NAME]
 * [--exactness-from FILE.json]`. --exactness-from takes the exactness rows (which do not depend on
 * timing) from an earlier run's JSON instead of recomputing them, so a quiet-machine window only times.
 * Writes bench/NAME.json and bench/NAME.md (default convert-bench); the flags keep one run short
 * enough for a quiet-machine window (split runs are merged by hand into the committed report).
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { backendInfo, setBinaryConvEnabled, useFastestBackend } from '../src/backend/index.js';
import { type Dataset, fashionMnist, mnist } from '../src/data/index.js';
import { convert, pruneGraph } from '../src/engine/convert/index.js';
import {
  type Agreement,
  agreement,
  argmaxRows,
  logitsModel,
  randomizeBatchNorm,
} from '../src/engine/convert/testing.js';
import { decodeModel, encodeModel, type Graph, load } from '../src/engine/index.js';
import { get as zoo } from '../src/zoo/index.js';
import { writeAtomic } from './zoo-bench-util.js';

const quick = process.argv.includes('--quick');
function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const modelNames = (flag('--models') ?? 'binary-mlp,larq-intro-cnn,quicknet-tiny').split(',');
const exactnessFrom = flag('--exactness-from');
const exactnessOn = !process.argv.includes('--no-exactness') && exactnessFrom === undefined;
const breakdownOn = !process.argv.includes('--no-breakdown');
const outName = flag('--out') ?? 'convert-bench';

function quantile(v: number[], q: number): number {
  const s = [...v].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
}

/** Bytes of the weights file tfjs writes for `model` (model.save's weightData). */
async function tfjsWeightBytes(model: tfl.LayersModel): Promise<number> {
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const w = artifacts.weightData;
      bytes = Array.isArray(w) ? w.reduce((a, b) => a + b.byteLength, 0) : (w?.byteLength ?? 0);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return bytes;
}

interface Timing {
  p50Ms: number;
  p90Ms: number;
  samplesPerSecond: number;
  /** Median CPU milliseconds of this process per run (all its threads). */
  cpuMsMedian: number;
}

function summarize(wallMs: number[], cpuMs: number[], batch: number): Timing {
  const p50 = quantile(wallMs, 0.5);
  return {
    p50Ms: p50,
    p90Ms: quantile(wallMs, 0.9),
    samplesPerSecond: (batch * 1000) / p50,
    cpuMsMedian: quantile(cpuMs, 0.5),
  };
}

/**
 * Runs the functions in turn, BLOCK calls of one before the next, until each ran `runs` times (after
 * warm-up), timing each call (wall and CPU ms). Blocks: each function runs as it would in a loop of
 * predictions (its code and data in cache, as in any application that keeps predicting), while the
 * turns spread the machine's noise over all of them alike.
 */
function sideBySide(fns: Array<() => void>, runs: number, warmup: number) {
  for (let i = 0; i < warmup; i++) for (const fn of fns) fn();
  const wall = fns.map(() => [] as number[]);
  const cpu = fns.map(() => [] as number[]);
  for (let i = 0; i < runs; i += BLOCK)
    fns.forEach((fn, k) => {
      for (let j = i; j < Math.min(runs, i + BLOCK); j++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        fn();
        wall[k].push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu[k].push((c.user + c.system) / 1000);
      }
    });
  return { wall, cpu };
}

/** Consecutive calls of one function in sideBySide. */
const BLOCK = 10;

/** The data's pixel scaling ('symmetric': x = p / 127.5 - 1), recorded for the 8-bit input API. */
const UINT8_INPUT = { scale: 1 / 127.5, offset: -1 };

/** The bytes behind pixels scaled as p / 127.5 - 1; throws unless they give back exactly the same floats. */
function toBytes(x: Float32Array): Uint8Array {
  const q = Uint8Array.from(x, (v) => Math.round((v + 1) * 127.5));
  for (let i = 0; i < x.length; i++)
    if (Math.fround(q[i] * UINT8_INPUT.scale + UINT8_INPUT.offset) !== x[i])
      throw new Error(`pixel ${i}: ${x[i]} is not q / 127.5 - 1 for a byte q`);
  return q;
}

/**
 * Engine time by node at one batch size: every prefix of the graph that ends in a float value is run
 * on its own (fastest of `runs`, the figure least disturbed by other jobs), and each node is charged
 * the difference to the previous prefix.
 * Nodes with packed-bit outputs are charged together with the next float node.
 */
async function breakdown(graph: Graph, x: Float32Array, shape: number[], runs: number) {
  const values = decodeModel(encodeModel(graph)).checked.values;
  const rows: Array<{ nodes: string; ms: number }> = [];
  let prev = 0;
  let pending: string[] = [];
  for (let i = 0; i < graph.nodes.length; i++) {
    const n = graph.nodes[i];
    pending.push('transform' in n ? `${n.op}:${n.transform.kind}` : n.op);
    if (values.get(n.name)?.kind !== 'float') continue;
    const prefix = pruneGraph({ ...graph, nodes: graph.nodes.slice(0, i + 1), outputs: [n.name] });
    const net = await load(encodeModel(prefix));
    const t: number[] = [];
    for (let r = 0; r < runs + 3; r++) {
      const t0 = performance.now();
      net.predict(x, shape);
      if (r >= 3) t.push(performance.now() - t0);
    }
    net.dispose();
    const ms = Math.min(...t);
    rows.push({ nodes: pending.join(' + '), ms: ms - prev });
    prev = ms;
    pending = [];
  }
  return rows;
}

async function main() {
  const backend = await useFastestBackend();
  const info = await backendInfo();
  const machine = {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    tfjsBackend: `${backend} (simd ${info.simd}, threads ${info.threads})`,
    engine: 'lowbit engine WebAssembly, 1 thread',
    date: new Date().toISOString(),
    loadAverageAtStart: os.loadavg(),
  };
  const data = await mnist();
  const [, h, w, c] = data.train.xShape;
  const pixels = h * w * c;
  const rows = [];
  const sizes = [];
  const exactness: Array<
    | ({ model: string; dataset: string; cpuRecheck?: Agreement } & Agreement)
    | { model: string; dataset: string; skipped: string }
  > = [];
  const perNode: Array<{ model: string; batch: number; rows: Array<{ nodes: string; ms: number }> }> = [];
  const datasets: Record<string, Dataset | string> = {
    mnist: data,
    'fashion-mnist': await fashionMnist().catch((e: Error) => e.message),
  };
  for (const name of modelNames) {
    const model = zoo(name, { seed: 1 });
    const calib = tf.tensor4d(data.train.x.subarray(0, 64 * pixels), [64, h, w, c]);
    randomizeBatchNorm(model, calib, 2);
    calib.dispose();
    const { bytes, graph } = convert(model);
    const tfjsBytes = await tfjsWeightBytes(model);
    sizes.push({
      model: name,
      lbmBytes: bytes.length,
      tfjsFloat32WeightBytes: tfjsBytes,
      ratio: tfjsBytes / bytes.length,
      nodes: graph.nodes.map((n) => ('transform' in n ? `${n.op}:${n.transform.kind}` : n.op)).join(' '),
    });
    const net = await load(bytes);
    const u8Net = await load(convert(model, { uint8Input: UINT8_INPUT }).bytes);
    // Exactness on the logits (the model without its softmax), as the tests compare them.
    const logits = logitsModel(model);
    const logitsNet = await load(convert(logits).bytes);
    const logitsU8 = await load(convert(logits, { uint8Input: UINT8_INPUT }).bytes);
    const predictFloat = (x: Float32Array, shape: number[]) => logitsNet.predict(x, shape).data;
    const predictU8 = (x: Float32Array, shape: number[]) => logitsU8.predict(toBytes(x), shape).data;
    const sets = Object.entries(datasets).flatMap(([set, d]) => [
      [set, d, predictFloat] as const,
      [`${set} (uint8 input)`, d, predictU8] as const,
    ]);
    for (const [set, d, predict] of exactnessOn ? sets : []) {
      if (typeof d === 'string') {
        exactness.push({ model: name, dataset: set, skipped: d });
        continue;
      }
      const a = agreement(logits, predict, d.test.x, d.test.xShape);
      // Rows off by more than 1e-4 on the fast backend are checked again on tfjs's reference cpu backend.
      let cpuRecheck: Agreement | undefined;
      if (a.rowsAbove1e4.length > 0 && backend !== 'cpu') {
        const rowPixels = pixels;
        const xs = new Float32Array(a.rowsAbove1e4.length * rowPixels);
        a.rowsAbove1e4.forEach((r, i) => {
          xs.set(d.test.x.subarray(r * rowPixels, (r + 1) * rowPixels), i * rowPixels);
        });
        await tf.setBackend('cpu');
        cpuRecheck = agreement(logits, predict, xs, [a.rowsAbove1e4.length, h, w, c]);
        await tf.setBackend(backend);
      }
      exactness.push({ model: name, dataset: set, ...a, cpuRecheck });
    }
    logitsNet.dispose();
    logitsU8.dispose();
    if (breakdownOn)
      perNode.push({
        model: name,
        batch: 64,
        rows: await breakdown(graph, data.test.x.subarray(0, 64 * pixels), [64, h, w, c], quick ? 3 : 25),
      });
    for (const batch of [1, 64]) {
      const x = data.test.x.subarray(0, batch * pixels);
      const q = toBytes(x);
      const xt = tf.tensor4d(x, [batch, h, w, c]);
      // Same predictions, as a sanity check of what is timed.
      const t = argmaxRows(tf.tidy(() => (model.predict(xt) as tf.Tensor).dataSync()) as Float32Array, 10);
      const same = (y: Float32Array) => argmaxRows(y, 10).every((v, i) => v === t[i]);
      const sameArgmax = same(net.predict(x, [batch, h, w, c]).data);
      const sameArgmaxU8 = same(u8Net.predict(q, [batch, h, w, c]).data);
      const runs = quick ? 10 : batch === 1 ? 200 : 40;
      const r = sideBySide(
        [
          () => net.predict(x, [batch, h, w, c]),
          () => u8Net.predict(q, [batch, h, w, c]),
          // Stock tfjs: lowbit's +-1 Conv2D/Dense kernels for the wasm backend (src/backend, a training
          // speed-up) switched off, so tfjs runs its own kernels.
          () => {
            setBinaryConvEnabled(false);
            const y = model.predict(xt) as tf.Tensor;
            y.dataSync();
            y.dispose();
          },
          // The same with lowbit's +-1 kernels on (what a lowbit user's tfjs runs), for information.
          () => {
            setBinaryConvEnabled(true);
            const y = model.predict(xt) as tf.Tensor;
            y.dataSync();
            y.dispose();
          },
        ],
        runs,
        quick ? 2 : 10,
      );
      setBinaryConvEnabled(true);
      xt.dispose();
      const engine = summarize(r.wall[0], r.cpu[0], batch);
      const engineU8 = summarize(r.wall[1], r.cpu[1], batch);
      const tfjs = summarize(r.wall[2], r.cpu[2], batch);
      const tfjsLowbit = summarize(r.wall[3], r.cpu[3], batch);
      rows.push({
        model: name,
        batch,
        runs,
        sameArgmax,
        sameArgmaxU8,
        engine,
        engineU8,
        tfjs,
        tfjsLowbitKernels: tfjsLowbit,
        speedupP50: tfjs.p50Ms / engine.p50Ms,
        speedupVsLowbitKernelsP50: tfjsLowbit.p50Ms / engine.p50Ms,
        speedupU8P50: tfjs.p50Ms / engineU8.p50Ms,
        speedupCpu: tfjs.cpuMsMedian / engine.cpuMsMedian,
      });
      process.stdout.write(
        `${name} batch ${batch}: ${(tfjs.p50Ms / engine.p50Ms).toFixed(1)}x float input, ${(tfjs.p50Ms / engineU8.p50Ms).toFixed(1)}x uint8 input\n`,
      );
    }
    u8Net.dispose();
    net.dispose();
    model.dispose();
  }
  if (exactnessFrom !== undefined)
    exactness.push(
      ...(JSON.parse(readFileSync(exactnessFrom, 'utf8')) as { exactness: typeof exactness }).exactness,
    );
  const loadAverageAtEnd = os.loadavg();
  const result = {
    machine: { ...machine, loadAverageAtEnd },
    sizes,
    speed: rows,
    exactness,
    exactnessFrom: exactnessFrom ?? null,
    perNode,
    targets: { sizeRatio: 25, speedup: 8 },
  };
  const f = (x: number, d = 1) => x.toFixed(d);
  const md = [
    '# Converted networks: engine vs tfjs',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}; tfjs backend ${machine.tfjsBackend}; engine ${machine.engine}; ${machine.date}; load average ${machine.loadAverageAtStart.map((x) => x.toFixed(1)).join(' / ')} at start, ${loadAverageAtEnd.map((x) => x.toFixed(1)).join(' / ')} at end (1, 5, 15 minute averages: they include the minutes before the run).`,
    `Command: \`npx tsx bench/convert-bench.ts ${process.argv.slice(2).join(' ')}\`. Zoo networks with seeded weights and BatchNorm statistics from MNIST training images; inputs: MNIST test images. Engine and tfjs take turns of ${BLOCK} consecutive runs (each as in a loop of predictions, the turns spreading machine noise over both); p50/p90 of wall-clock latency, samples/s = batch / p50; CPU ms = median CPU time of this process per run.`,
    '',
    '## File size',
    '',
    '| model | .lbm bytes | tfjs float32 weights bytes | ratio |',
    '|---|---|---|---|',
    ...sizes.map((s) => `| ${s.model} | ${s.lbmBytes} | ${s.tfjsFloat32WeightBytes} | ${f(s.ratio)}x |`),
    '',
    'Target: binary-mlp .lbm >= 25x smaller than its tfjs float32 weights.',
    '',
    '## Whole-network latency',
    '',
    '| model | batch | engine p50 ms | engine p90 ms | engine samples/s | engine, uint8 input: p50 ms | p90 ms | samples/s | tfjs p50 ms | tfjs p90 ms | tfjs samples/s | speed-up (p50) | speed-up, uint8 input (p50) | speed-up (CPU ms) | same argmax (float / uint8) | tfjs + lowbit +-1 kernels p50 ms | speed-up vs that (p50) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.batch} | ${f(r.engine.p50Ms, 3)} | ${f(r.engine.p90Ms, 3)} | ${f(r.engine.samplesPerSecond, 0)} | ${f(r.engineU8.p50Ms, 3)} | ${f(r.engineU8.p90Ms, 3)} | ${f(r.engineU8.samplesPerSecond, 0)} | ${f(r.tfjs.p50Ms, 3)} | ${f(r.tfjs.p90Ms, 3)} | ${f(r.tfjs.samplesPerSecond, 0)} | ${f(r.speedupP50)}x | ${f(r.speedupU8P50)}x | ${f(r.speedupCpu)}x | ${r.sameArgmax} / ${r.sameArgmaxU8} | ${f(r.tfjsLowbitKernels.p50Ms, 3)} | ${f(r.speedupVsLowbitKernelsP50)}x |`,
    ),
    '',
    "uint8 input: the same network converted with `uint8Input: { scale: 1 / 127.5, offset: -1 }` (the data's pixel scaling) and given the MNIST bytes, `net.predict(Uint8Array, shape)`; " +
      "the nodes in net.info.uint8Nodes then run on the bytes in integers (larq-intro-cnn: the first conv with its max pool); other first layers get the dequantized floats (binary-mlp's first dense layer, whose signs denseSigns certifies from the 8-bit levels it finds there; quicknet-tiny's float-kernel, same-padded stem). " +
      'tfjs gets the float images (p / 127.5 - 1) in both comparisons.',
    '',
    'Target: >= 8x faster than tfjs on its fastest available backend, batch 1 and 64, for binary-mlp and larq-intro-cnn (quicknet-tiny for information). ' +
      "tfjs = stock tfjs kernels (lowbit's +-1 Conv2D/Dense kernels for tfjs-backend-wasm, src/backend, switched off with setBinaryConvEnabled(false)); " +
      'the last two columns time the same model with them on, which is what tfjs runs in a process that imports lowbit.',
    '',
    '## Exactness on real data (engine vs tfjs on the backend above, every test image)',
    '',
    ...(exactnessFrom
      ? [
          `Rows from the run recorded in ${exactnessFrom} (same code; exactness does not depend on timing).`,
          '',
        ]
      : []),
    '| model | dataset | images | differing argmax | max relative error | classes predicted | rows above 1e-4 | those rows on tfjs cpu: max relative error |',
    '|---|---|---|---|---|---|---|---|---|',
    ...exactness.map((e) =>
      'skipped' in e
        ? `| ${e.model} | ${e.dataset} | skipped: ${e.skipped} | | | | | | |`
        : `| ${e.model} | ${e.dataset} | ${e.count} | ${e.differingArgmax} | ${e.maxRelativeError.toExponential(1)} | ${e.classes} | ${e.rowsAbove1e4.length} | ${e.cpuRecheck ? e.cpuRecheck.maxRelativeError.toExponential(1) : ''} |`,
    ),
    '',
    'A row above 1e-4 holds a sign flip of an activation within rounding of 0 before a binarization. ' +
      "The engine evaluates a BatchNorm that feeds a sum or a sign as tfjs-backend-wasm's FusedBatchNorm kernel does " +
      '(bit for bit), and importing lowbit gives tfjs-backend-wasm an exact Sign (its own returns 0 for |x| < 2^-23), ' +
      "so on float input the values before every sign are tfjs-wasm's; where only the signs of a first dense layer " +
      "are used (denseSigns, binary-mlp) they are certified to be tfjs's, on float and on uint8 input. With uint8 " +
      "input a first conv (convPoolU8, larq-intro-cnn) sums the integers exactly where tfjs's float sum rounds, so a " +
      "value at rounding of 0 could take the other sign. The last column reruns such rows on tfjs's cpu backend " +
      '(BatchNorm in float64, rounded once).',
    '',
    '## Engine time by node (batch 64, fastest of the prefix runs; differences of prefixes)',
    '',
    ...perNode.flatMap((p) => [
      `- ${p.model}: ${p.rows.map((r) => `${r.nodes} ${f(r.ms, 2)} ms`).join('; ')}`,
    ]),
    '',
    '## Converted graphs',
    '',
    ...sizes.map((s) => `- ${s.model}: ${s.nodes}`),
    '',
  ].join('\n');
  const outDir = dirname(fileURLToPath(import.meta.url));
  writeAtomic(
    join(outDir, `${outName}.json`),
    `${JSON.stringify(result, null, 2)}
`,
  );
  writeAtomic(join(outDir, `${outName}.md`), md);
  process.stdout.write(`${md}\n`);
}

await main();

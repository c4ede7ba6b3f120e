/**
 * Engine benchmark: binary GEMM throughput (G binary MAC/s) of both popcount strategies against
 * tfjs-backend-wasm's float32 matMul (XNNPACK, SIMD, 1 thread) on the same shapes, measured side by side
 * in one run, plus end-to-end latency of the engine on the benchmark networks (random weights).
 *
 * Run: npx tsx bench/engine-bench.ts [--quick] [--only gemm|models] [--out NAME]
 * Writes bench/results/NAME.json and bench/results/NAME.md (default engine; atomically). --only runs one
 * half, to keep each run short enough for a quiet-machine window.
 *
 * A binary MAC is one XNOR + popcount lane of the +-1 dot product; an M x N x K GEMM does M N K of them.
 */
import os from 'node:os';
import { join } from 'node:path';
import { encodeModel, type Graph, load, optimizeGraph } from '../src/engine/index.js';
import { calibrate, Kernels, type PopcountStrategy } from '../src/engine/runtime/kernels.js';
import { binaryMlp, larqIntroCnn, quicknetLike, randomInput } from '../src/engine/testing/models.js';
import { RESULTS_DIR, writeAtomic } from './zoo-bench-util.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 9;
function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const only = flag('--only');
const outName = flag('--out') ?? 'engine';

function quantile(v: number[], q: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * q))];
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * CPU seconds of this process per run, next to the wall-clock seconds: when other jobs share the
 * machine, the wall clock includes time spent waiting for a core, CPU time does not (only for
 * single-threaded work; worker threads add their own CPU time).
 */
const cpuSeconds: Record<string, number[]> = {};

function time(fn: () => void, runs: number, warmup = 2, cpuKey?: string): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    out.push((performance.now() - t0) / 1000);
    if (cpuKey) {
      const c = process.cpuUsage(c0);
      cpuSeconds[cpuKey] = [...(cpuSeconds[cpuKey] ?? []), (c.user + c.system) / 1e6];
    }
  }
  return out;
}

interface GemmResult {
  shape: [number, number, number];
  scalarGmacs: number;
  simdGmacs: number;
  tfjsWasmFloat32Gmacs: number;
  speedupBestVsTfjs: number;
  /** Best single-thread strategy on 2 threads (worker_threads, shared memory). */
  twoThreadsGmacs: number;
  /** Plain JavaScript binary GEMM (2x2 tile, SWAR popcount). */
  plainJsGmacs: number;
  /** G MAC/s per CPU second of this process (medians): robust to other jobs sharing the machine. */
  perCpuSecond: Record<string, number>;
  /** Fastest single run (less sensitive to other jobs on the machine than the median). */
  bestOfRuns: Record<string, number>;
  seconds: Record<string, number[]>;
}

async function tfjsMatmul(m: number, n: number, k: number): Promise<number[]> {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (tf.getBackend() !== 'wasm') {
    wasm.setThreadsCount(1);
    await tf.setBackend('wasm');
    await tf.ready();
  }
  const a = tf.randomNormal([m, k]);
  const b = tf.randomNormal([k, n]);
  const times = time(
    () => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    },
    RUNS,
    1,
    `${m}x${n}x${k}/tfjsWasmFloat32`,
  );
  a.dispose();
  b.dispose();
  return times;
}

/** Plain-JavaScript binary GEMM (2x2 tile, SWAR popcount on 32-bit words): the no-WASM baseline. */
function jsBgemm(a: Uint32Array, b: Uint32Array, c: Int32Array, m: number, n: number, words: number): void {
  const pc = (v: number) => {
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) | 0;
  };
  for (let i = 0; i < m; i += 2)
    for (let j = 0; j < n; j += 2) {
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      const a0 = i * words;
      const a1 = a0 + words;
      const b0 = j * words;
      const b1 = b0 + words;
      for (let t = 0; t < words; t++) {
        const x0 = a[a0 + t];
        const x1 = a[a1 + t];
        const w0 = b[b0 + t];
        const w1 = b[b1 + t];
        s00 += pc(x0 ^ w0);
        s01 += pc(x0 ^ w1);
        s10 += pc(x1 ^ w0);
        s11 += pc(x1 ^ w1);
      }
      c[i * n + j] = s00;
      c[i * n + j + 1] = s01;
      c[(i + 1) * n + j] = s10;
      c[(i + 1) * n + j + 1] = s11;
    }
}

async function benchGemm(m: number, n: number, kBits: number): Promise<GemmResult> {
  const k = await Kernels.create();
  const rowBytes = kBits / 8;
  const a = k.alloc(m * rowBytes);
  const b = k.alloc(n * rowBytes);
  const c = k.alloc(m * n * 4);
  const words = k.u32(a, ((m + n) * rowBytes) / 4);
  let s = 12345;
  for (let i = 0; i < words.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    words[i] = Math.imul(s ^ (s >>> 15), 2654435761) >>> 0;
  }
  const seconds: Record<string, number[]> = {};
  const strategies: PopcountStrategy[] = ['scalar', 'simd'];
  // Interleave the strategies so machine noise hits both alike.
  for (const st of strategies) seconds[st] = [];
  for (let r = 0; r < RUNS; r++)
    for (const st of strategies)
      seconds[st].push(
        ...time(() => k.bgemm(st, a, b, c, m, n, rowBytes), 1, r === 0 ? 2 : 0, `${m}x${n}x${kBits}/${st}`),
      );
  // Both strategies must agree (a quick correctness guard for the benchmark itself).
  k.bgemm('scalar', a, b, c, m, n, rowBytes);
  const ref = k.i32(c, m * n).slice();
  k.bgemm('simd', a, b, c, m, n, rowBytes);
  const got = k.i32(c, m * n);
  for (let i = 0; i < ref.length; i += 997)
    if (ref[i] !== got[i]) throw new Error(`strategies disagree at ${i}`);
  // The better strategy on 2 threads (main + 1 worker on a shared memory).
  const bestSt: PopcountStrategy = median(seconds.scalar) <= median(seconds.simd) ? 'scalar' : 'simd';
  const k2 = await Kernels.create(2);
  const a2 = k2.alloc(m * rowBytes);
  const b2 = k2.alloc(n * rowBytes);
  const c2 = k2.alloc(m * n * 4);
  k2.u32(a2, ((m + n) * rowBytes) / 4).set(words);
  seconds.twoThreads = time(() => k2.bgemm(bestSt, a2, b2, c2, m, n, rowBytes), RUNS);
  k2.dispose();
  seconds.tfjsWasmFloat32 = await tfjsMatmul(m, n, kBits);
  {
    const wordsPerRow = rowBytes / 4;
    const ja = words.slice(0, m * wordsPerRow);
    const jb = words.slice(m * wordsPerRow);
    const jc = new Int32Array(m * n);
    seconds.plainJs = time(() => jsBgemm(ja, jb, jc, m, n, wordsPerRow), quick ? 1 : 3, 1);
    // The JS baseline computes the same counts as the WASM kernels.
    k.bgemm('scalar', a, b, c, m, n, rowBytes);
    const wc = k.i32(c, m * n);
    for (let i = 0; i < jc.length; i += 991)
      if (jc[i] !== wc[i]) throw new Error(`plain JS disagrees at ${i}`);
  }
  const macs = m * n * kBits;
  const g = (key: string) => macs / median(seconds[key]) / 1e9;
  const best = Math.max(g('scalar'), g('simd'));
  return {
    shape: [m, n, kBits],
    scalarGmacs: g('scalar'),
    simdGmacs: g('simd'),
    tfjsWasmFloat32Gmacs: g('tfjsWasmFloat32'),
    speedupBestVsTfjs: best / g('tfjsWasmFloat32'),
    twoThreadsGmacs: g('twoThreads'),
    plainJsGmacs: g('plainJs'),
    perCpuSecond: Object.fromEntries(
      ['scalar', 'simd', 'tfjsWasmFloat32'].map((key) => [
        key,
        macs / median(cpuSeconds[`${m}x${n}x${kBits}/${key}`]) / 1e9,
      ]),
    ),
    bestOfRuns: {
      scalar: macs / Math.min(...seconds.scalar) / 1e9,
      simd: macs / Math.min(...seconds.simd) / 1e9,
      tfjsWasmFloat32: macs / Math.min(...seconds.tfjsWasmFloat32) / 1e9,
    },
    seconds,
  };
}

/** Median wall seconds of `a` and `b` run alternately (after warm-up), with their CPU seconds under `keys`. */
/** Consecutive runs of one function per turn (see alternate). */
const TURN = 10;

/**
 * Times a and b in turns of TURN consecutive runs each until both ran `runs` times (after warm-up):
 * each runs as in a loop of predictions (2 threads: the worker, still spinning from the previous
 * run, is not woken from sleep but for a turn's first run), and the turns spread machine noise over both.
 */
function alternate(a: () => void, b: () => void, runs: number, keys: [string, string]): [number[], number[]] {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < 10; i++) {
    a();
    b();
  }
  for (let i = 0; i < runs; i += TURN) {
    const n = Math.min(TURN, runs - i);
    ta.push(...time(a, n, 0, keys[0]));
    tb.push(...time(b, n, 0, keys[1]));
  }
  return [ta, tb];
}

async function benchModels() {
  const rows = [];
  // Rewritten by optimizeGraph as the converter does (BN and sign into bit outputs, max-pools on bits).
  const optimized = (g: Graph, uint8 = false): Graph => {
    const o = optimizeGraph(g).graph;
    if (uint8) o.inputs[0].uint8 = { scale: 1 / 127.5, offset: -1 };
    return o;
  };
  for (const [name, graph] of [
    ['larq-intro-cnn', optimized(larqIntroCnn())],
    ['larq-intro-cnn, uint8 input', optimized(larqIntroCnn(), true)],
    ['binary-mlp', optimized(binaryMlp())],
    ['binary-mlp, uint8 input', optimized(binaryMlp(), true)],
    ['quicknet-like', optimized(quicknetLike())],
  ] as const) {
    const bytes = encodeModel(graph);
    const one = await load(bytes);
    const two = await load(bytes, { threads: 2 });
    const u8 = graph.inputs[0].uint8 !== undefined;
    const inputs = (batch: number) => {
      const x = randomInput(graph, batch);
      return u8 ? { data: Uint8Array.from(x.data, (v) => Math.round((v + 1) * 127.5)), shape: x.shape } : x;
    };
    const x1 = inputs(1);
    const x64 = inputs(64);
    const runs = quick ? 5 : 61;
    const t1 = time(() => one.predict(x1.data, x1.shape), runs, 3, `${name}/1/1`);
    // 1 and 2 threads take turns of TURN runs, so machine noise hits both alike.
    const [t64, t64x2] = alternate(
      () => one.predict(x64.data, x64.shape),
      () => two.predict(x64.data, x64.shape),
      runs,
      [`${name}/1/64`, `${name}/2/64`],
    );
    const threads2 = two.info.threads;
    const batchSplit = two.info.batchSplit;
    one.dispose();
    two.dispose();
    for (const [threads, batch, t] of [
      [1, 1, t1],
      [1, 64, t64],
      [threads2, 64, t64x2],
    ] as const)
      rows.push({
        model: name,
        threads,
        batch,
        medianMs: median(t) * 1000,
        samplesPerSecond: batch / median(t),
        /** CPU time of the whole process (all threads) per sample. */
        cpuMsPerSample: (median(cpuSeconds[`${name}/${threads === 1 ? 1 : 2}/${batch}`]) * 1000) / batch,
        /** Throughput relative to one thread at the same batch. */
        vsOneThread: batch === 64 ? median(t64) / median(t) : 1,
        /** Fastest tenth of the runs (p10), the figure least disturbed by other jobs on a shared machine. */
        p10Ms: quantile(t, 0.1) * 1000,
        vsOneThreadP10: batch === 64 ? quantile(t64, 0.1) / quantile(t, 0.1) : 1,
        fileBytes: bytes.length,
        binaryMacs: one.info.binaryMacs,
        floatMacs: one.info.floatMacs,
        popcount: one.info.popcount,
        /** With 2 threads: batch 64 split over the threads (each runs the whole network on 32 samples). */
        batchSplit: threads === 1 ? false : batchSplit,
      });
  }
  return rows;
}

async function main() {
  const machine = {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    threads: 1,
    backend:
      'lowbit engine WebAssembly (AssemblyScript, SIMD) vs @tensorflow/tfjs-backend-wasm 4.22 (XNNPACK, SIMD, 1 thread)',
    date: new Date().toISOString(),
    runs: RUNS,
    loadAverage: os.loadavg(),
  };
  const k = await Kernels.create();
  const cal = calibrate(k);
  const gemm = only === 'models' ? [] : [await benchGemm(1024, 1024, 1024), await benchGemm(256, 4096, 4096)];
  const models = only === 'gemm' ? [] : await benchModels();
  const result = {
    machine,
    calibration: cal,
    gemm,
    models,
    targets: { gmacs256x4096x4096: 100, speedupVsTfjs: 12 },
  };

  const outDir = RESULTS_DIR;
  const f = (x: number, d = 1) => x.toFixed(d);
  const md = [
    '# Engine benchmark',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}; single thread unless noted; medians of ${RUNS} runs; ${machine.date}; load average at start ${machine.loadAverage.map((x) => x.toFixed(1)).join(' / ')} (other jobs shared the machine when it was above ~0.5).`,
    `Command: \`npx tsx bench/engine-bench.ts ${process.argv.slice(2).join(' ')}\`. Start-up calibration picked **${cal.strategy}** (rows over 128 bytes) and **${cal.midStrategy}** (rows of 65 to 128 bytes).`,
    '',
    '## Binary GEMM (M x N x K bits) vs tfjs-backend-wasm float32 matMul on the same shape',
    '',
    '| shape | scalar i64.popcnt G binary MAC/s | SIMD i8x16.popcnt G binary MAC/s | tfjs-wasm float32 G MAC/s | best / tfjs | best on 2 threads | plain JS binary |',
    '|---|---|---|---|---|---|---|',
    ...gemm.map(
      (r) =>
        `| ${r.shape.join('x')} | ${f(r.scalarGmacs)} | ${f(r.simdGmacs)} | ${f(r.tfjsWasmFloat32Gmacs, 2)} | ${f(r.speedupBestVsTfjs)}x | ${f(r.twoThreadsGmacs)} | ${f(r.plainJsGmacs)} |`,
    ),
    '',
    'Targets (engine.md): >= 100 G binary MAC/s single thread at 256x4096x4096 and >= 12x tfjs-wasm float32.',
    '',
    'Per CPU second of this process, medians (scalar / SIMD / tfjs-wasm float32; excludes time spent waiting for a core): ' +
      gemm
        .map(
          (r) =>
            `${r.shape.join('x')}: ${f(r.perCpuSecond.scalar)} / ${f(r.perCpuSecond.simd)} / ${f(r.perCpuSecond.tfjsWasmFloat32, 2)} (best / tfjs ${f(Math.max(r.perCpuSecond.scalar, r.perCpuSecond.simd) / r.perCpuSecond.tfjsWasmFloat32)}x)`,
        )
        .join('; ') +
      '.',
    '',
    'Fastest single run, wall clock (scalar / SIMD / tfjs): ' +
      gemm
        .map(
          (r) =>
            `${r.shape.join('x')}: ${f(r.bestOfRuns.scalar)} / ${f(r.bestOfRuns.simd)} / ${f(r.bestOfRuns.tfjsWasmFloat32, 2)}`,
        )
        .join('; ') +
      '.',
    '',
    '## End-to-end engine latency (random weights, same structure as the trained networks, optimized as the converter does)',
    '',
    '| model | threads | batch | median ms (wall) | samples/s (wall) | throughput vs 1 thread | p10 ms (wall) | throughput vs 1 thread at p10 | CPU ms per sample (all threads) | file bytes | binary MACs/sample | float MACs/sample |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...models.map(
      (r) =>
        `| ${r.model} | ${r.threads} | ${r.batch} | ${f(r.medianMs, 3)} | ${f(r.samplesPerSecond, 0)} | ${f(r.vsOneThread, 2)}x | ${f(r.p10Ms, 3)} | ${f(r.vsOneThreadP10, 2)}x | ${f(r.cpuMsPerSample, 3)} | ${r.fileBytes} | ${r.binaryMacs} | ${r.floatMacs} |`,
    ),
    '',
    '2 threads: main thread + 1 worker on a shared memory; at batch 64 the batch is split over them ' +
      `(${models.some((r) => r.batchSplit) ? 'net.info.batchSplit true: ' : ''}4 parts of 16 samples, each the whole network, claimed by whichever thread is free; one synchronisation per predict). ` +
      `1 and 2 threads take turns of ${TURN} consecutive runs, as in a loop of predictions (the worker spins a moment for the next job before it sleeps, so only a turn's first run must wake it). ` +
      'p10: the fastest tenth of the runs, least disturbed by other jobs (a 2-thread run needs both cores at once). ' +
      'Target (engine.md): >= 1.7x single-thread throughput at batch 64 on an idle machine.',
    '',
  ].join('\n');
  writeAtomic(
    join(outDir, `${outName}.json`),
    `${JSON.stringify(result, null, 2)}
`,
  );
  writeAtomic(join(outDir, `${outName}.md`), md);
  process.stdout.write(`${md}\n`);
}

await main();

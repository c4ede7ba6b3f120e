/**
 * Optional multi-threading: worker threads (Node's worker_threads, or Web Workers in a
 * cross-origin-isolated page) instantiate the shared-memory build of the kernels on the same
 * WebAssembly.Memory and share the rows of each large GEMM with the main thread.
 *
 * Dispatch is a control block in shared memory. The main thread writes the job, resets the chunk
 * counter NEXT to (job << 16 | 0), bumps SEQ and Atomics.notify()s. Every participant (main thread
 * included) then claims chunks of rows with a compare-and-swap on NEXT, which succeeds only while NEXT
 * still carries its job number, runs them and counts them in COMPLETED. The main thread returns once
 * every chunk is completed, so a worker that the OS has not scheduled yet never delays it (the main
 * thread simply takes its chunks), and a worker that wakes late for an old job claims nothing.
 * Browsers' main threads cannot Atomics.wait, so there the main thread spins for in-flight chunks.
 */

/** Control block layout (Int32 slots). */
const SEQ = 0;
const NEXT = 1;
const OP = 2;
const A = 3;
const B = 4;
const C = 5;
const M = 6;
const P1 = 7;
const P2 = 8;
const A_STRIDE = 9;
const C_STRIDE = 10;
const CHUNK = 11;
const QUIT = 12;
const COMPLETED = 13;
const SCRATCH = 14;
const SCRATCH_STRIDE = 15;
/** Milliseconds a worker spins for the next job before it sleeps in Atomics.wait. */
const SPIN_MS = 0.3;
/** Milliseconds the main thread spins for the chunks still in flight before it sleeps. */
const MAIN_SPIN_MS = 3;
/** Bytes of the control block. */
export const CONTROL_BYTES = 64;

/** Job code: binary GEMM, scalar popcount. */
export const OP_BGEMM_SCALAR = 1;
/** Job code: binary GEMM, SIMD popcount. */
export const OP_BGEMM_SIMD = 2;
/** Job code: float GEMM. */
export const OP_SGEMM = 3;
/** Job code: a row-range job (runJob in assembly/jobs.ts), its arguments in memory at A. */
export const OP_JOB = 4;
/**
 * Job code: recorded programs (see runProgram), one per chunk; A holds the address of a table of
 * their (8-byte aligned) addresses, one Int32 each.
 */
export const OP_PROGRAM = 5;

/**
 * Kernel exports a recorded program may call, by index (the program's function ids). Mirrored by the
 * literal list inside runProgram, which must stay self-contained (it runs from its source text).
 */
export const PROGRAM_FUNCTIONS = [
  'bgemmScalar',
  'bgemmSimd',
  'sgemm',
  'runJob',
  'packSigns',
  'im2colBits',
  'im2colF32',
  'padRows',
  'affineRows',
  'avgPoolF32',
  'globalAvgPoolF32',
  'addF32',
  'affineF32',
  'reluF32',
  'batchNormF32',
  'dequantizeU8',
] as const;

/**
 * Runs the recorded program at byte address `addr` of `memory`: float64 slots [calls, then per call:
 * function id (index in the list below, as PROGRAM_FUNCTIONS), argument count, arguments...]. Every
 * argument is a number the export receives as is (pointers, sizes, float32 values), so a program call
 * does exactly what the direct call would. Self-contained: the workers run it from its source text.
 */
export function runProgram(memory: WebAssembly.Memory, addr: number, x: unknown): void {
  const names = [
    'bgemmScalar',
    'bgemmSimd',
    'sgemm',
    'runJob',
    'packSigns',
    'im2colBits',
    'im2colF32',
    'padRows',
    'affineRows',
    'avgPoolF32',
    'globalAvgPoolF32',
    'addF32',
    'affineF32',
    'reluF32',
    'batchNormF32',
    'dequantizeU8',
  ];
  const f = new Float64Array(memory.buffer, addr);
  const fns = x as Record<string, (...a: number[]) => void>;
  const calls = f[0];
  let i = 1;
  for (let c = 0; c < calls; c++) {
    const fn = fns[names[f[i]]];
    const n = f[i + 1];
    const args = Array.prototype.slice.call(f, i + 2, i + 2 + n) as number[];
    fn.apply(null, args);
    i += 2 + n;
  }
}

/** Rows per chunk for an m-row job on `threads` participants: about 4 chunks each, even (2x2 tiles). */
export function chunkRows(m: number, threads: number): number {
  return Math.max(2, Math.ceil(m / (threads * 4) / 2) * 2);
}

interface ClaimExports {
  bgemmScalar(a: number, b: number, c: number, m: number, n: number, rowBytes: number): void;
  bgemmSimd(a: number, b: number, c: number, m: number, n: number, rowBytes: number): void;
  sgemm(a: number, b: number, c: number, m: number, k: number, ldb: number): void;
  runJob(args: number, r0: number, count: number, scratch: number): void;
}

/**
 * Claims and runs chunks of job `job` until none is left or the job changed. It runs on the main
 * thread (participant 0) and, through its source text, in the workers (participants 1, 2, ...), so it
 * refers to nothing outside itself: the slot numbers are the constants above (NEXT 1, OP 2, A 3, B 4,
 * C 5, M 6, P1 7, P2 8, A_STRIDE 9, C_STRIDE 10, CHUNK 11, COMPLETED 13, SCRATCH 14, SCRATCH_STRIDE 15)
 * and the job codes OP_BGEMM_SCALAR 1, OP_BGEMM_SIMD 2, OP_SGEMM 3, OP_JOB 4, OP_PROGRAM 5 (with
 * runProgram passed in as `run`, so that a minifier renames nothing across the two functions). Each
 * participant has its own scratch area at SCRATCH + participant * SCRATCH_STRIDE.
 */
function claimLoop(
  ctrl: Int32Array,
  base: number,
  job: number,
  x: ClaimExports,
  participant: number,
  memory: WebAssembly.Memory,
  run: typeof runProgram,
): void {
  const m = ctrl[base + 6];
  const rows = ctrl[base + 11];
  const chunks = Math.ceil(m / rows);
  const a0 = ctrl[base + 3];
  const b = ctrl[base + 4];
  const c0 = ctrl[base + 5];
  const p1 = ctrl[base + 7];
  const p2 = ctrl[base + 8];
  const as = ctrl[base + 9];
  const cs = ctrl[base + 10];
  const op = ctrl[base + 2];
  const scratch = ctrl[base + 14] + participant * ctrl[base + 15];
  for (;;) {
    const v = Atomics.load(ctrl, base + 1);
    if (v >>> 16 !== job || (v & 0xffff) >= chunks) return;
    if (Atomics.compareExchange(ctrl, base + 1, v, v + 1) !== v) continue;
    const r0 = (v & 0xffff) * rows;
    const n = Math.min(rows, m - r0);
    if (op === 1) x.bgemmScalar(a0 + r0 * as, b, c0 + r0 * cs, n, p1, p2);
    else if (op === 2) x.bgemmSimd(a0 + r0 * as, b, c0 + r0 * cs, n, p1, p2);
    else if (op === 3) x.sgemm(a0 + r0 * as, b, c0 + r0 * cs, n, p1, p2);
    else if (op === 4) x.runJob(a0, r0, n, scratch);
    else for (let r = r0; r < r0 + n; r++) run(memory, new Int32Array(memory.buffer, a0 + 4 * r, 1)[0], x);
    Atomics.add(ctrl, base + 13, 1);
    Atomics.notify(ctrl, base + 13);
  }
}

// The worker's whole program (plain JavaScript, the same text for Node and browsers).
const WORKER_SOURCE = `
'use strict';
const isNode = typeof process === 'object' && !!(process.versions && process.versions.node);
let post;
const runProgram = (${runProgram.toString()});
const claimLoop = (${claimLoop.toString()});
async function start(d) {
  try {
    const inst = await WebAssembly.instantiate(d.module, { env: { memory: d.memory, abort() { throw new Error('wasm abort'); } } });
    const x = inst.exports;
    const ctrl = new Int32Array(d.memory.buffer);
    const base = d.ctrl >> 2;
    let seq = Atomics.load(ctrl, base + ${SEQ});
    post('ready');
    for (;;) {
      // Spin for up to SPIN_MS before sleeping: the layers of one predict() come as a burst of jobs,
      // and waking from Atomics.wait takes tens of microseconds (spin-then-sleep, as OpenMP runtimes do).
      const until = performance.now() + ${SPIN_MS};
      while (Atomics.load(ctrl, base + ${SEQ}) === seq && performance.now() < until) {}
      Atomics.wait(ctrl, base + ${SEQ}, seq);
      seq = Atomics.load(ctrl, base + ${SEQ});
      if (Atomics.load(ctrl, base + ${QUIT})) return;
      claimLoop(ctrl, base, seq & 0x7fff, x, d.index, d.memory, runProgram);
    }
  } catch (e) {
    post({ error: String(e && e.stack || e) });
  }
}
if (isNode) {
  const { parentPort } = require('node:worker_threads');
  post = (m) => parentPort.postMessage(m);
  parentPort.once('message', start);
} else {
  post = (m) => self.postMessage(m);
  self.onmessage = (e) => start(e.data);
}
`;

interface WorkerLike {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

type NodeWorkerCtor = new (
  src: string,
  opts: { eval: boolean },
) => WorkerLike & { on(ev: string, f: (m: unknown) => void): void; unref(): void };

/** Why threads are not available here, or null when they are. */
export function threadSupport(): string | null {
  if (typeof SharedArrayBuffer === 'undefined')
    return 'SharedArrayBuffer is unavailable (a browser page needs cross-origin isolation: COOP/COEP headers)';
  const g = globalThis as {
    crossOriginIsolated?: boolean;
    process?: { getBuiltinModule?: unknown };
    Worker?: unknown;
  };
  if (g.crossOriginIsolated === false) return 'the page is not cross-origin isolated (COOP/COEP headers)';
  const nodeLike =
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ===
    'string';
  if (nodeLike && typeof g.process?.getBuiltinModule !== 'function')
    return 'this Node.js lacks process.getBuiltinModule (needs 20.16+)';
  if (!nodeLike && typeof g.Worker !== 'function') return 'Web Workers are unavailable';
  return null;
}

/** A pool of workers sharing the kernels' memory. */
export class ThreadPool {
  private canWait = true;

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly workers: WorkerLike[],
    private readonly ctrl: number,
    /** Participants including the main thread. */
    readonly threads: number,
  ) {}

  /** Starts `threads - 1` workers on `module` (the shared build) and `memory`; resolves when all are ready. */
  static async create(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    threads: number,
    ctrl: number,
  ): Promise<ThreadPool> {
    const g = globalThis as {
      process?: { getBuiltinModule?: (n: string) => { Worker: NodeWorkerCtor } };
      Worker?: new (url: string) => WorkerLike & { onmessage: ((e: { data: unknown }) => void) | null };
    };
    const workers: WorkerLike[] = [];
    const ready: Promise<void>[] = [];
    const nodeWorker = g.process?.getBuiltinModule?.('node:worker_threads')?.Worker;
    for (let i = 1; i < threads; i++) {
      const msg = { module, memory, index: i, ctrl };
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: unknown) =>
            m === 'ready'
              ? resolve()
              : reject(new Error(`engine worker: ${(m as { error?: string }).error ?? String(m)}`));
          if (nodeWorker) {
            const w = new nodeWorker(WORKER_SOURCE, { eval: true });
            w.on('message', (m) => {
              // Once ready, the idle worker must not keep the process alive.
              if (m === 'ready') w.unref();
              onMessage(m);
            });
            w.on('error', (e) => reject(e));
            w.postMessage(msg);
            workers.push(w);
          } else {
            const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
            const w = new g.Worker!(url);
            w.onmessage = (e) => {
              URL.revokeObjectURL(url);
              onMessage(e.data);
            };
            w.postMessage(msg);
            workers.push(w);
          }
        }),
      );
    }
    const pool = new ThreadPool(memory, workers, ctrl, threads);
    try {
      await Promise.all(ready);
    } catch (e) {
      pool.dispose();
      throw e;
    }
    return pool;
  }

  /**
   * Runs job `op` over `m` rows on every participant, the main thread included (its exports are `x`).
   * Row r of operand a starts at a + r * aStride, of the result at c + r * cStride; participant p's
   * scratch at scratch + p * scratchStride.
   */
  run(
    op: number,
    a: number,
    b: number,
    c: number,
    m: number,
    p1: number,
    p2: number,
    aStride: number,
    cStride: number,
    x: ClaimExports,
    scratch = 0,
    scratchStride = 0,
  ): void {
    const job = this.start(op, a, b, c, m, p1, p2, aStride, cStride, scratch, scratchStride);
    this.finish(job, x);
  }

  /**
   * Runs recorded programs (see runProgram), one per chunk: `table` is the address of their addresses
   * (Int32 each). The workers start on them at once; `mainWork` runs on the main thread meanwhile, which
   * then takes any program no worker has claimed yet and returns when every program has run.
   */
  runPrograms(table: number, count: number, x: ClaimExports, mainWork: () => void): void {
    const job = this.start(OP_PROGRAM, table, 0, 0, count, 0, 0, 0, 0, 0, 0, 1);
    try {
      mainWork();
    } finally {
      this.finish(job, x);
    }
  }

  /** Publishes a job and wakes the workers; returns its number. */
  private start(
    op: number,
    a: number,
    b: number,
    c: number,
    m: number,
    p1: number,
    p2: number,
    aStride: number,
    cStride: number,
    scratch: number,
    scratchStride: number,
    rows = chunkRows(m, this.threads),
  ): number {
    const ctrl = new Int32Array(this.memory.buffer);
    const base = this.ctrl >> 2;
    const job = (Atomics.load(ctrl, base + SEQ) + 1) & 0x7fff;
    ctrl[base + OP] = op;
    ctrl[base + A] = a;
    ctrl[base + B] = b;
    ctrl[base + C] = c;
    ctrl[base + M] = m;
    ctrl[base + P1] = p1;
    ctrl[base + P2] = p2;
    ctrl[base + A_STRIDE] = aStride;
    ctrl[base + C_STRIDE] = cStride;
    ctrl[base + CHUNK] = rows;
    ctrl[base + SCRATCH] = scratch;
    ctrl[base + SCRATCH_STRIDE] = scratchStride;
    Atomics.store(ctrl, base + COMPLETED, 0);
    Atomics.store(ctrl, base + NEXT, job << 16);
    Atomics.add(ctrl, base + SEQ, 1);
    Atomics.notify(ctrl, base + SEQ);
    return job;
  }

  /** The main thread's share of job `job` (chunks nobody has claimed), then waits for the rest. */
  private finish(job: number, x: ClaimExports): void {
    const ctrl = new Int32Array(this.memory.buffer);
    const base = this.ctrl >> 2;
    const chunks = Math.ceil(ctrl[base + M] / ctrl[base + CHUNK]);
    claimLoop(ctrl, base, job, x, 0, this.memory, runProgram);
    // Spin before sleeping: the chunks still in flight finish within about a chunk's time, and waking
    // from Atomics.wait can take a millisecond on a virtual machine (measured here: batch 64 of
    // larq-intro-cnn on 2 threads went from 2.2 to 1.6 ms).
    const until = performance.now() + MAIN_SPIN_MS;
    while (Atomics.load(ctrl, base + COMPLETED) < chunks && performance.now() < until) {}
    for (;;) {
      const done = Atomics.load(ctrl, base + COMPLETED);
      if (done >= chunks) break;
      if (this.canWait) {
        try {
          Atomics.wait(ctrl, base + COMPLETED, done, 1000);
        } catch {
          // A browser's main thread may not block: spin for the chunks still in flight.
          this.canWait = false;
        }
      }
    }
  }

  /** Stops the workers. */
  dispose(): void {
    const ctrl = new Int32Array(this.memory.buffer);
    const base = this.ctrl >> 2;
    Atomics.store(ctrl, base + QUIT, 1);
    Atomics.add(ctrl, base + SEQ, 1);
    Atomics.notify(ctrl, base + SEQ);
    for (const w of this.workers) w.terminate();
  }
}

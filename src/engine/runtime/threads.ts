/**
 * Optional multi-threading: worker threads (Node's worker_threads, or Web Workers in a
 * cross-origin-isolated page) instantiate the shared-memory build of the kernels on the same
 * WebAssembly.Memory and split the rows of each large GEMM with the main thread. Dispatch is a
 * control block in shared memory: the main thread writes the job, bumps a sequence number and
 * Atomics.notify()s; each worker computes its slice and counts itself done. Browsers' main threads
 * cannot Atomics.wait, so there the main thread spins on the done counter.
 */

/** Control block layout (Int32 slots). */
const SEQ = 0;
const DONE = 1;
const OP = 2;
const A = 3;
const B = 4;
const C = 5;
const M = 6;
const P1 = 7;
const P2 = 8;
const A_STRIDE = 9;
const C_STRIDE = 10;
const THREADS = 11;
const QUIT = 12;
/** Bytes of the control block. */
export const CONTROL_BYTES = 64;

/** Job code: binary GEMM, scalar popcount. */
export const OP_BGEMM_SCALAR = 1;
/** Job code: binary GEMM, SIMD popcount. */
export const OP_BGEMM_SIMD = 2;
/** Job code: float GEMM. */
export const OP_SGEMM = 3;

/** Rows of participant `index` of `threads` for an m-row job: slices of an even row count (the 2x2 tiles). The worker source repeats this function. */
export function sliceRows(m: number, threads: number, index: number): [number, number] {
  const per = Math.ceil(m / threads / 2) * 2;
  const m0 = Math.min(m, index * per);
  return [m0, Math.min(m, m0 + per)];
}

// The worker's whole program (plain JavaScript, the same text for Node and browsers).
const WORKER_SOURCE = `
'use strict';
const isNode = typeof process === 'object' && !!(process.versions && process.versions.node);
let post;
function sliceRows(m, threads, index) {
  const per = Math.ceil(m / threads / 2) * 2;
  const m0 = Math.min(m, index * per);
  return [m0, Math.min(m, m0 + per)];
}
async function start(d) {
  try {
    const inst = await WebAssembly.instantiate(d.module, { env: { memory: d.memory, abort() { throw new Error('wasm abort'); } } });
    const x = inst.exports;
    const ctrl = new Int32Array(d.memory.buffer);
    const base = d.ctrl >> 2;
    let seq = Atomics.load(ctrl, base + ${SEQ});
    post('ready');
    for (;;) {
      Atomics.wait(ctrl, base + ${SEQ}, seq);
      seq = Atomics.load(ctrl, base + ${SEQ});
      if (Atomics.load(ctrl, base + ${QUIT})) return;
      const r = sliceRows(ctrl[base + ${M}], ctrl[base + ${THREADS}], d.index);
      if (r[1] > r[0]) {
        const a = ctrl[base + ${A}] + r[0] * ctrl[base + ${A_STRIDE}];
        const c = ctrl[base + ${C}] + r[0] * ctrl[base + ${C_STRIDE}];
        const op = ctrl[base + ${OP}];
        if (op === ${OP_BGEMM_SCALAR}) x.bgemmScalar(a, ctrl[base + ${B}], c, r[1] - r[0], ctrl[base + ${P1}], ctrl[base + ${P2}]);
        else if (op === ${OP_BGEMM_SIMD}) x.bgemmSimd(a, ctrl[base + ${B}], c, r[1] - r[0], ctrl[base + ${P1}], ctrl[base + ${P2}]);
        else x.sgemm(a, ctrl[base + ${B}], c, r[1] - r[0], ctrl[base + ${P1}], ctrl[base + ${P2}]);
      }
      Atomics.add(ctrl, base + ${DONE}, 1);
      Atomics.notify(ctrl, base + ${DONE});
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
   * Runs job `op` over `m` rows on every participant; `self` computes the main thread's slice.
   * Row r of operand a starts at a + r * aStride, of the result at c + r * cStride.
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
    self: (a: number, c: number, rows: number) => void,
  ): void {
    const ctrl = new Int32Array(this.memory.buffer);
    const base = this.ctrl >> 2;
    ctrl[base + OP] = op;
    ctrl[base + A] = a;
    ctrl[base + B] = b;
    ctrl[base + C] = c;
    ctrl[base + M] = m;
    ctrl[base + P1] = p1;
    ctrl[base + P2] = p2;
    ctrl[base + A_STRIDE] = aStride;
    ctrl[base + C_STRIDE] = cStride;
    ctrl[base + THREADS] = this.threads;
    Atomics.store(ctrl, base + DONE, 0);
    Atomics.add(ctrl, base + SEQ, 1);
    Atomics.notify(ctrl, base + SEQ);
    const [m0, m1] = sliceRows(m, this.threads, 0);
    if (m1 > m0) self(a + m0 * aStride, c + m0 * cStride, m1 - m0);
    const others = this.threads - 1;
    for (;;) {
      const done = Atomics.load(ctrl, base + DONE);
      if (done >= others) break;
      if (this.canWait) {
        try {
          Atomics.wait(ctrl, base + DONE, done, 1000);
        } catch {
          // A browser's main thread may not block: spin instead.
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

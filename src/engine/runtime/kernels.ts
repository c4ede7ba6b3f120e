import { LowbitError } from '../../errors.js';
import {
  CONTROL_BYTES,
  OP_BGEMM_SCALAR,
  OP_BGEMM_SIMD,
  OP_JOB,
  OP_SGEMM,
  PROGRAM_FUNCTIONS,
  runProgram,
  ThreadPool,
  threadSupport,
} from './threads.js';
import { WASM_BASE64, WASM_SHARED_BASE64 } from './wasm-binary.js';

/** The raw exports of the engine's WebAssembly module (see src/engine/assembly). */
export interface KernelExports {
  heapBase(): number;
  bgemmScalar(a: number, b: number, c: number, m: number, n: number, rowBytes: number): void;
  bgemmSimd(a: number, b: number, c: number, m: number, n: number, rowBytes: number): void;
  packSigns(src: number, dst: number, rows: number, cols: number, rowWords: number): void;
  im2colBits(...args: number[]): void;
  im2colF32(...args: number[]): void;
  padRows(src: number, dst: number, rows: number, inWords: number, outWords: number): void;
  sgemm(a: number, b: number, c: number, m: number, k: number, ldb: number): void;
  runJob(args: number, r0: number, count: number, scratch: number): void;
  denseU8(...args: number[]): void;
  denseSigns(...args: number[]): void;
  denseSignsScratchBytes(k: number, units: number): number;
  outFloat(...args: number[]): void;
  outBits(...args: number[]): void;
  affineRows(...args: number[]): void;
  maxPoolBits(...args: number[]): void;
  maxPoolF32(...args: number[]): void;
  avgPoolF32(...args: number[]): void;
  globalAvgPoolF32(src: number, dst: number, n: number, pixels: number, c: number): void;
  addF32(a: number, b: number, dst: number, len: number): void;
  affineF32(src: number, dst: number, rows: number, c: number, mult: number, bias: number): void;
  reluF32(src: number, dst: number, len: number): void;
  dequantizeU8(src: number, dst: number, n: number, table: number): void;
  batchNormF32(...args: number[]): void;
  convPoolF32(...args: number[]): void;
  convPoolScratchBytes(...args: number[]): number;
  convPoolU8ScratchBytes(...args: number[]): number;
  thresholdSigns(...args: number[]): void;
}

/** Row-range job kinds of runJob, and of the blocks a binary layer reads (assembly/jobs.ts, same numbers). */
export const JOB = {
  convPool: 1,
  im2colBits: 2,
  outBits: 3,
  outFloat: 4,
  thresholdSigns: 5,
  denseU8: 6,
  maxPool: 7,
  convPoolU8: 8,
  outBitsAcc: 9,
  denseSigns: 10,
  binaryLayer: 11,
} as const;

/** The two 32-bit halves (little-endian) of a float64, for the f64 slots of a job's arguments. */
export function f64Slots(x: number): [number, number] {
  const u = new Uint32Array(new Float64Array([x]).buffer);
  return [u[0] | 0, u[1] | 0];
}

/** Popcount strategy of the binary GEMM: scalar i64.popcnt or SIMD i8x16.popcnt. */
export type PopcountStrategy = 'scalar' | 'simd';

const modulePromises: Partial<Record<'plain' | 'shared', Promise<WebAssembly.Module>>> = {};

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Compiles the embedded module (the plain or the shared-memory build) once per process or page. */
export function compileKernels(kind: 'plain' | 'shared' = 'plain'): Promise<WebAssembly.Module> {
  let p = modulePromises[kind];
  if (!p) {
    const bytes = decodeBase64(kind === 'plain' ? WASM_BASE64 : WASM_SHARED_BASE64);
    p = WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>).catch((e: unknown) => {
      delete modulePromises[kind];
      throw new LowbitError(
        `engine: cannot compile the WebAssembly kernels (${(e as Error).message}); the engine needs WebAssembly with SIMD${kind === 'shared' ? ' and threads' : ''} (Node 16.4+, Chrome 91+, Firefox 89+, Safari 16.4+)`,
      );
    });
    modulePromises[kind] = p;
  }
  return p;
}

/** Maximum pages of the shared memory (matches --maximumMemory in scripts/build-wasm.mjs): 2 GiB. */
export const SHARED_MAX_PAGES = 32768;
/** GEMMs smaller than this many binary (or 32 float) MACs run on the main thread only. */
const PARALLEL_MIN_WORK = 1 << 22;
/** Row-range jobs touching fewer elements than this run on the main thread only (a dispatch costs a few us). */
const JOB_MIN_WORK = 1 << 15;

const ALIGN = 64;

/**
 * One instance of the kernels with its own linear memory and a bump allocator: `persistent`
 * allocations (weights, tables) stay; `alloc` allocations are freed together by `reset()`.
 * Views into memory must be re-created after any allocation (growth detaches old buffers).
 */
export class Kernels {
  private top: number;
  private mark: number;
  private resets = 0;
  /** Why a multi-thread request runs on one thread, or null. */
  threadFallback: string | null = null;
  private pool: ThreadPool | null = null;
  private ctrl = 0;
  /** While recording (see record()): the calls so far, as runProgram reads them, and deferred steps. */
  private recording: { calls: number[]; count: number; deferred: Array<() => void> } | null = null;
  private readonly recorder: KernelExports;

  constructor(
    private readonly raw: KernelExports,
    readonly memory: WebAssembly.Memory,
    private readonly maxBytes: number,
  ) {
    this.top = Math.ceil(raw.heapBase() / ALIGN) * ALIGN;
    this.mark = this.top;
    // Record mode: the calls a worker replays. Pure queries (sizes) still run.
    const recorder: Record<string, unknown> = { ...raw };
    PROGRAM_FUNCTIONS.forEach((name, id) => {
      recorder[name] = (...args: number[]) => this.push(id, args);
    });
    this.recorder = recorder as unknown as KernelExports;
  }

  /** The kernel exports; while recording, calls are recorded instead of run. */
  get x(): KernelExports {
    return this.recording ? this.recorder : this.raw;
  }

  private push(id: number, args: number[]): void {
    const r = this.recording!;
    r.calls.push(id, args.length, ...args);
    r.count++;
  }

  /** Whether calls are being recorded (see record()). */
  get isRecording(): boolean {
    return this.recording !== null;
  }

  /**
   * Runs `fn` in record mode: every kernel call it makes (through `x`, bgemm, sgemm, job) is recorded,
   * single-threaded, into a program placed in memory (see runProgram in threads.ts) instead of running;
   * allocations and argument blocks are made as usual. JavaScript steps that read kernel results must be
   * handed to defer() while recording. Returns the program's address and the deferred steps.
   */
  record<T>(fn: () => T): { program: number; deferred: Array<() => void>; result: T } {
    this.recording = { calls: [], count: 0, deferred: [] };
    let result: T;
    let r: { calls: number[]; count: number; deferred: Array<() => void> };
    try {
      result = fn();
    } finally {
      r = this.recording;
      this.recording = null;
    }
    const program = this.alloc((r.calls.length + 1) * 8);
    const f = new Float64Array(this.memory.buffer, program, r.calls.length + 1);
    f[0] = r.count;
    f.set(r.calls, 1);
    return { program, deferred: r.deferred, result };
  }

  /** Runs `step` now, or after the recorded program has run when recording. */
  defer(step: () => void): void {
    if (this.recording) this.recording.deferred.push(step);
    else step();
  }

  /**
   * Runs the `count` recorded programs listed at `table` (see programTable()) on every thread: this
   * one claims them too, until none is left. Without a pool, runs them here.
   */
  runPrograms(table: number, count: number): void {
    if (this.pool) this.pool.runPrograms(table, count, this.raw, () => {});
    else for (const p of this.i32(table, count).slice()) runProgram(this.memory, p, this.raw);
  }

  /** Places the addresses of recorded programs (from record()) in a table for runPrograms(). */
  programTable(programs: number[]): number {
    const table = this.alloc(programs.length * 4);
    this.i32(table, programs.length).set(programs);
    return table;
  }

  /**
   * Instantiates a fresh kernel instance. With `threads > 1` and thread support (SharedArrayBuffer,
   * workers, cross-origin isolation in browsers) it runs the shared-memory build with a worker pool;
   * otherwise one thread, with the reason in `threadFallback`.
   */
  static async create(threads = 1): Promise<Kernels> {
    const abort = () => {
      throw new LowbitError('engine: WebAssembly kernel aborted');
    };
    const reason = threads > 1 ? threadSupport() : null;
    if (threads > 1 && reason === null) {
      try {
        const module = await compileKernels('shared');
        const memory = new WebAssembly.Memory({ initial: 32, maximum: SHARED_MAX_PAGES, shared: true });
        const instance = await WebAssembly.instantiate(module, { env: { memory, abort } });
        const k = new Kernels(instance.exports as unknown as KernelExports, memory, SHARED_MAX_PAGES * 65536);
        k.ctrl = k.alloc(CONTROL_BYTES);
        k.commit();
        k.pool = await ThreadPool.create(module, memory, threads, k.ctrl);
        return k;
      } catch (e) {
        const k = await Kernels.create(1);
        k.threadFallback = `worker start-up failed: ${(e as Error).message}`;
        return k;
      }
    }
    const module = await compileKernels('plain');
    const instance = await WebAssembly.instantiate(module, { env: { abort } });
    const exports = instance.exports as unknown as KernelExports & { memory: WebAssembly.Memory };
    const k = new Kernels(exports, exports.memory, 65536 * 65536 - 65536);
    k.threadFallback = reason;
    return k;
  }

  /** Threads in use (1 without a pool). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Stops the worker threads, if any. */
  dispose(): void {
    this.pool?.dispose();
    this.pool = null;
  }

  /** Allocates `bytes` (64-byte aligned), growing memory when needed; returns the address. */
  alloc(bytes: number): number {
    const p = this.top;
    this.top = Math.ceil((p + Math.max(bytes, 0)) / ALIGN) * ALIGN;
    const have = this.memory.buffer.byteLength;
    if (this.top > have) {
      if (this.top > this.maxBytes)
        throw new LowbitError(
          `engine: needs ${this.top} bytes of WebAssembly memory; the limit is ${this.maxBytes} bytes (use a smaller batch)`,
        );
      try {
        this.memory.grow(Math.ceil((this.top - have) / 65536));
      } catch (e) {
        this.top = p;
        throw new LowbitError(
          `engine: cannot grow WebAssembly memory to ${this.top + bytes} bytes (${(e as Error).message}); use a smaller batch`,
        );
      }
    }
    return p;
  }

  /** Makes every allocation so far permanent (reset() returns here). */
  commit(): void {
    this.mark = this.top;
  }

  /** Frees every allocation since the last commit(). */
  reset(): void {
    this.top = this.mark;
    this.resets++;
  }

  /** How many times reset() ran: temporary memory written before is intact while this is unchanged. */
  get epoch(): number {
    return this.resets;
  }

  /** Bytes in use (persistent + temporary). */
  get used(): number {
    return this.top;
  }

  /** A float32 view of `length` elements at `ptr` (invalid after the next allocation). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /** A uint32 view of `length` elements at `ptr` (invalid after the next allocation). */
  u32(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, length);
  }

  /** An int32 view of `length` elements at `ptr` (invalid after the next allocation). */
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }

  /** Copies `data` into a new allocation and returns its address. */
  put(data: Float32Array | Int32Array | Uint32Array | Uint8Array): number {
    const p = this.alloc(data.byteLength);
    new Uint8Array(this.memory.buffer, p, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return p;
  }

  /** Runs the binary GEMM with the given strategy (see bgemm.ts), split over the threads when large. */
  bgemm(
    strategy: PopcountStrategy,
    a: number,
    b: number,
    c: number,
    m: number,
    n: number,
    rowBytes: number,
  ): void {
    if (this.recording) this.x[strategy === 'simd' ? 'bgemmSimd' : 'bgemmScalar'](a, b, c, m, n, rowBytes);
    else if (this.pool && m >= 4 && m * n * rowBytes * 8 >= PARALLEL_MIN_WORK)
      this.pool.run(
        strategy === 'simd' ? OP_BGEMM_SIMD : OP_BGEMM_SCALAR,
        a,
        b,
        c,
        m,
        n,
        rowBytes,
        rowBytes,
        n * 4,
        this.raw,
      );
    else if (strategy === 'simd') this.x.bgemmSimd(a, b, c, m, n, rowBytes);
    else this.x.bgemmScalar(a, b, c, m, n, rowBytes);
  }

  /**
   * Runs a row-range job (runJob in assembly/jobs.ts) over `rows` rows: `slots` are its arguments after
   * the kind (floats at the indexes in `floatSlots`, counted with the kind as slot 0), `scratchBytes` the
   * scratch each thread needs, `work` about the number of elements it touches (split over the threads
   * when large).
   */
  job(
    kind: number,
    slots: number[],
    floatSlots: number[],
    rows: number,
    work: number,
    scratchBytes = 0,
  ): void {
    const args = this.args(kind, slots, floatSlots);
    const stride = Math.ceil(scratchBytes / ALIGN) * ALIGN;
    const parallel = this.pool !== null && !this.recording && rows >= 2 && work >= JOB_MIN_WORK;
    const scratch = stride > 0 ? this.alloc(stride * (parallel ? this.threads : 1)) : 0;
    if (parallel) this.pool!.run(OP_JOB, args, 0, 0, rows, 0, 0, 0, 0, this.raw, scratch, stride);
    else this.x.runJob(args, 0, rows, scratch);
  }

  /** A block of slots like a job's arguments (see job), for a job that reads it (see binaryLayer in assembly/jobs.ts). */
  args(kind: number, slots: number[], floatSlots: number[]): number {
    const args = this.alloc((slots.length + 1) * 4);
    const iv = this.i32(args, slots.length + 1);
    const fv = this.f32(args, slots.length + 1);
    iv[0] = kind;
    for (let i = 0; i < slots.length; i++) {
      if (floatSlots.includes(i + 1)) fv[i + 1] = slots[i];
      else iv[i + 1] = slots[i];
    }
    return args;
  }

  /** Runs the float GEMM c[m, ldb] = a[m, k] b[k, ldb] (see sgemm.ts), split over the threads when large. */
  sgemm(a: number, b: number, c: number, m: number, k: number, ldb: number): void {
    if (this.pool && !this.recording && m >= 4 && m * k * ldb * 32 >= PARALLEL_MIN_WORK)
      this.pool.run(OP_SGEMM, a, b, c, m, k, ldb, k * 4, ldb * 4, this.raw);
    else this.x.sgemm(a, b, c, m, k, ldb);
  }
}

/** Result of the start-up calibration. */
export interface Calibration {
  /** The faster strategy on long rows (512 bytes), used for rows over 128 bytes. */
  strategy: PopcountStrategy;
  /** Median seconds per run of each strategy on the calibration shape. */
  seconds: Record<PopcountStrategy, number>;
  /**
   * The faster strategy on rows of 128 bytes (64 x 64 x 1024 bits), used for rows of 65 to 128 bytes
   * (e.g. 3x3 on 64 channels: 72 bytes); rows of at most 64 bytes always run the scalar short-row kernels.
   */
  midStrategy: PopcountStrategy;
  /** Median seconds per run of each strategy on the 128-byte-row shape. */
  midSeconds: Record<PopcountStrategy, number>;
}

let calibration: Calibration | null = null;

/**
 * Picks the faster popcount strategy on this machine: times both binary GEMMs on a 64 x 64 x 4096-bit
 * problem (7 runs each, interleaved, median) once per process, and again on 64 x 64 x 1024 bits for
 * rows of 65 to 128 bytes. On x86 without AVX512-BITALG the scalar kernel usually wins (on this
 * machine by 13-25% on 80- and 128-byte rows, within noise on 512-byte rows); on ARM64 the SIMD one.
 */
export function calibrate(k: Kernels): Calibration {
  if (calibration) return calibration;
  const long = timeStrategies(k, 512);
  const mid = timeStrategies(k, 128);
  const pick = (s: Record<PopcountStrategy, number>) => (s.simd < s.scalar ? 'simd' : 'scalar');
  calibration = { strategy: pick(long), seconds: long, midStrategy: pick(mid), midSeconds: mid };
  return calibration;
}

/** Median seconds per 64 x 64 binary GEMM of each strategy on rows of `rowBytes` (7 interleaved runs). */
function timeStrategies(k: Kernels, rowBytes: number): Record<PopcountStrategy, number> {
  const m = 64;
  const n = 64;
  const a = k.alloc(m * rowBytes);
  const b = k.alloc(n * rowBytes);
  const c = k.alloc(m * n * 4);
  const bits = k.u32(a, ((m + n) * rowBytes) / 4);
  let s = 0x9e3779b9;
  for (let i = 0; i < bits.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    bits[i] = s >>> 0;
  }
  const times: Record<PopcountStrategy, number[]> = { scalar: [], simd: [] };
  for (let r = 0; r < 7; r++)
    for (const st of ['scalar', 'simd'] as const) {
      const t0 = performance.now();
      for (let i = 0; i < 4; i++) k.bgemm(st, a, b, c, m, n, rowBytes);
      times[st].push((performance.now() - t0) / 4 / 1000);
    }
  const med = (v: number[]) => v.sort((x, y) => x - y)[v.length >> 1];
  return { scalar: med(times.scalar), simd: med(times.simd) };
}

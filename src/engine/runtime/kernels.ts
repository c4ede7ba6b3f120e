import { LowbitError } from '../../errors.js';
import { WASM_BASE64 } from './wasm-binary.js';

/** The raw exports of the engine's WebAssembly module (see src/engine/assembly). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  bgemmScalar(a: number, b: number, c: number, m: number, n: number, rowBytes: number): void;
  bgemmSimd(a: number, b: number, c: number, m: number, n: number, rowBytes: number): void;
  packSigns(src: number, dst: number, rows: number, cols: number, rowWords: number): void;
  im2colBits(...args: number[]): void;
  im2colF32(...args: number[]): void;
  padRows(src: number, dst: number, rows: number, inWords: number, outWords: number): void;
  sgemm(a: number, b: number, c: number, m: number, k: number, ldb: number): void;
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
}

/** Popcount strategy of the binary GEMM: scalar i64.popcnt or SIMD i8x16.popcnt. */
export type PopcountStrategy = 'scalar' | 'simd';

let modulePromise: Promise<WebAssembly.Module> | null = null;

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Compiles the embedded module once per process (or page). */
export function compileKernels(): Promise<WebAssembly.Module> {
  if (!modulePromise)
    modulePromise = WebAssembly.compile(decodeBase64(WASM_BASE64) as Uint8Array<ArrayBuffer>).catch(
      (e: unknown) => {
        modulePromise = null;
        throw new LowbitError(
          `engine: cannot compile the WebAssembly kernels (${(e as Error).message}); the engine needs WebAssembly with SIMD (Node 16.4+, Chrome 91+, Firefox 89+, Safari 16.4+)`,
        );
      },
    );
  return modulePromise;
}

const ALIGN = 64;

/**
 * One instance of the kernels with its own linear memory and a bump allocator: `persistent`
 * allocations (weights, tables) stay; `alloc` allocations are freed together by `reset()`.
 * Views into memory must be re-created after any allocation (growth detaches old buffers).
 */
export class Kernels {
  private top: number;
  private mark: number;

  constructor(readonly x: KernelExports) {
    this.top = Math.ceil(x.heapBase() / ALIGN) * ALIGN;
    this.mark = this.top;
  }

  /** Instantiates a fresh kernel instance. */
  static async create(): Promise<Kernels> {
    const module = await compileKernels();
    const instance = await WebAssembly.instantiate(module, {
      env: {
        abort: () => {
          throw new LowbitError('engine: WebAssembly kernel aborted');
        },
      },
    });
    return new Kernels(instance.exports as unknown as KernelExports);
  }

  /** Allocates `bytes` (64-byte aligned), growing memory when needed; returns the address. */
  alloc(bytes: number): number {
    const p = this.top;
    this.top = Math.ceil((p + Math.max(bytes, 0)) / ALIGN) * ALIGN;
    const have = this.x.memory.buffer.byteLength;
    if (this.top > have) {
      if (this.top > 4 * 1024 ** 3 - 65536)
        throw new LowbitError(
          `engine: needs ${this.top} bytes of WebAssembly memory; the limit is 4 GiB (use a smaller batch)`,
        );
      this.x.memory.grow(Math.ceil((this.top - have) / 65536));
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
  }

  /** Bytes in use (persistent + temporary). */
  get used(): number {
    return this.top;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.x.memory.buffer, ptr, length);
  }

  u32(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.x.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.x.memory.buffer, ptr, length);
  }

  /** Copies `data` into a new allocation and returns its address. */
  put(data: Float32Array | Int32Array | Uint32Array): number {
    const p = this.alloc(data.byteLength);
    new Uint8Array(this.x.memory.buffer, p, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return p;
  }

  /** Runs the binary GEMM with the given strategy (see bgemm.ts). */
  bgemm(
    strategy: PopcountStrategy,
    a: number,
    b: number,
    c: number,
    m: number,
    n: number,
    rowBytes: number,
  ): void {
    if (strategy === 'simd') this.x.bgemmSimd(a, b, c, m, n, rowBytes);
    else this.x.bgemmScalar(a, b, c, m, n, rowBytes);
  }
}

/** Result of the start-up calibration. */
export interface Calibration {
  strategy: PopcountStrategy;
  /** Median seconds per run of each strategy on the calibration shape. */
  seconds: Record<PopcountStrategy, number>;
}

let calibration: Calibration | null = null;

/**
 * Picks the faster popcount strategy on this machine: times both binary GEMMs on a 64 x 64 x 4096-bit
 * problem (7 runs each, interleaved, median) once per process. On x86 without AVX512-BITALG the
 * scalar kernel usually wins; on ARM64 the SIMD one.
 */
export function calibrate(k: Kernels): Calibration {
  if (calibration) return calibration;
  const m = 64;
  const n = 64;
  const rowBytes = 512;
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
  const seconds = { scalar: med(times.scalar), simd: med(times.simd) };
  calibration = { strategy: seconds.simd < seconds.scalar ? 'simd' : 'scalar', seconds };
  return calibration;
}

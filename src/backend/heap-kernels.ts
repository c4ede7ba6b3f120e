/**
 * lowbit's SIMD training kernels for tfjs-backend-wasm: a small WebAssembly module (source
 * src/backend/assembly/heap-kernels.ts) instantiated on tfjs-backend-wasm's own memory, so that it
 * reads and writes tensors in place, at the speed of tfjs's vectorized elementwise kernels but in one
 * pass where tfjs needs several. The module has no data segments and allocates nothing (a unit test
 * checks its sections). Where it cannot be instantiated (no wasm SIMD, an unknown tfjs-backend-wasm
 * layout), callers fall back to JavaScript loops or tfjs ops.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '../errors.js';
import { HEAP_KERNELS_BASE64, HEAP_KERNELS_SHARED_BASE64 } from './heap-kernels-binary.js';

/** The kernels the module exports; pointers are byte offsets into tfjs-backend-wasm's memory. */
export interface HeapKernels {
  /** out = sign of x as tfjs-backend-cpu gives it (+-1, 0 for +-0 and NaN). */
  signF32(x: number, out: number, n: number): void;
  /** out = dy where |x| <= clip, else +0. */
  clippedGradF32(x: number, dy: number, out: number, n: number, clip: number): void;
  /** MaxPoolGrad of a 2x2, stride-2, unpadded NHWC pool (see pool-kernels.ts); dx zero-filled. */
  maxPoolGrad2x2F32(
    x: number,
    dy: number,
    dx: number,
    nb: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
  ): void;
  /** Conv2DBackpropFilter for one input channel, NHWC (see conv-grad-kernels.ts); dw zero-filled. */
  convFilterGradCi1F32(...args: ConvCi1Args): void;
  /** Conv2DBackpropInput for one input channel, NHWC (see conv-grad-kernels.ts); dx zero-filled. */
  convInputGradCi1F32(...args: ConvCi1Args): void;
  /** col2im, NHWC: scatter-adds patch rows into a zero-filled image (see conv-grad-kernels.ts). */
  col2imF32(
    p: number,
    dx: number,
    nb: number,
    h: number,
    w: number,
    ci: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    top: number,
    left: number,
  ): void;
  /** Column sums of x viewed as [lead, inner] in float64, rounded once; divided by lead if mean != 0. */
  sumRowsF32(x: number, out: number, lead: number, inner: number, mean: number): void;
  /** One Adam step (see adam-kernel.ts), every operation rounded to float32 in tfjs-core's order. */
  adamF32(
    w: number,
    m: number,
    v: number,
    g: number,
    w2: number,
    m2: number,
    v2: number,
    n: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    d1: number,
    d2: number,
    eps: number,
    nlr: number,
  ): void;
  /** 1 if every x[r, c] is exactly +-1, packing sign bits into [rows, wpr] words (see binary-conv-kernels.ts). */
  packSignsF32(x: number, bits: number, rows: number, c: number, wpr: number): number;
  /** 1 if every w[t, k, o] is exactly +-1, packing sign bits column-wise into [taps*wpr, co4] words. */
  packSignsColsF32(
    w: number,
    out: number,
    taps: number,
    c: number,
    co: number,
    wpr: number,
    co4: number,
  ): number;
  /** XNOR-popcount Conv2D of packed +-1 input and kernel, NHWC (see binary-conv-kernels.ts). */
  convForwardPm1(
    xbits: number,
    wbits: number,
    out: number,
    scratch: number,
    ...geometry: PmConvGeometry
  ): void;
  /** Conv2DBackpropFilter of a packed +-1 input by table lookup, NHWC; dw zero-filled. */
  convFilterGradPm1(
    xbits: number,
    dy: number,
    dw: number,
    scratch: number,
    ...geometry: PmConvGeometry
  ): void;
  /**
   * Conv2DBackpropInput of a packed +-1 kernel ([fh*fw*c, wpo] words; wpo in the geometry's wpr slot)
   * by table lookup, NHWC; dx zero-filled.
   */
  convInputGradPm1(dy: number, wbits: number, dx: number, scratch: number, ...geometry: PmConvGeometry): void;
}

/**
 * Geometry of the +-1 conv kernels: batch, input height, width and channels, words per pixel
 * (ceil(channels / 32)), output height, width and channels, output channels rounded up to 4, filter
 * height and width, strides, dilations, top and left padding.
 */
export type PmConvGeometry = [
  nb: number,
  h: number,
  w: number,
  c: number,
  wpr: number,
  oh: number,
  ow: number,
  co: number,
  co4: number,
  fh: number,
  fw: number,
  sh: number,
  sw: number,
  dh: number,
  dw: number,
  top: number,
  left: number,
];

/**
 * Arguments of the one-input-channel conv gradient kernels: three pointers (filter gradient: x, dy, dw;
 * input gradient: dy, w, dx), then batch, input height and width, output height and width, filter
 * height and width, strides, top and left padding, output channels.
 */
export type ConvCi1Args = [
  a: number,
  b: number,
  out: number,
  nb: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
  fh: number,
  fw: number,
  sh: number,
  sw: number,
  top: number,
  left: number,
  co: number,
];

/** The parts of BackendWasm the kernels need (typed here to avoid a deep runtime import). */
export interface WasmBackendInternals {
  wasm?: { asm?: { memory?: unknown } };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
}

const compiled = new Map<boolean, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, HeapKernels>();
const unusable = new WeakSet<WebAssembly.Memory>();

/**
 * The module's bytes (decoded from the embedded base64): the variant importing an unshared memory, or
 * with `shared` the one importing a shared memory (the multithreaded tfjs-backend-wasm build, used in
 * cross-origin-isolated pages). Exported for tests.
 */
export function heapKernelBytes(shared = false): Uint8Array<ArrayBuffer> {
  const text = atob(shared ? HEAP_KERNELS_SHARED_BASE64 : HEAP_KERNELS_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function moduleFor(shared: boolean): WebAssembly.Module | null {
  if (!compiled.has(shared)) {
    try {
      compiled.set(shared, new WebAssembly.Module(heapKernelBytes(shared)));
    } catch {
      compiled.set(shared, null); // no wasm SIMD (or threads) in this runtime
    }
  }
  return compiled.get(shared)!;
}

let enabled = true;

/**
 * Turns lowbit's SIMD heap kernels off (every caller then takes its fallback) or back on. For
 * before/after benchmarks (bench/train-speed-levers.ts) and tests; on by default.
 */
export function setHeapKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** The kernels bound to `backend`'s memory, or null if they cannot run there (or are turned off). */
export function heapKernels(backend: unknown): HeapKernels | null {
  if (!enabled) return null;
  const memory = (backend as WasmBackendInternals | undefined)?.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  const known = instances.get(memory);
  if (known) return known;
  if (unusable.has(memory)) return null;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const mod = moduleFor(shared);
  try {
    if (mod == null) throw new Error('no module');
    const exports = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as HeapKernels;
    instances.set(memory, exports);
    return exports;
  } catch {
    // A memory this module cannot import: the callers' fallbacks run instead.
    unusable.add(memory);
    return null;
  }
}

/** Byte offset of a tensor's data in tfjs-backend-wasm's memory. */
export function heapOffset(backend: unknown, t: tf.TensorInfo): number {
  const data = (backend as WasmBackendInternals).dataIdMap.get(t.dataId);
  if (data == null)
    throw new LowbitError('heapOffset: the tensor has no data on the wasm backend (disposed?)');
  return data.memoryOffset;
}

/**
 * Convolution and matrix-product kernels for operands that are exactly +1 or -1 (a binarized network's
 * quantized inputs and kernels: ste_sign's forward output), on lowbit's wasm SIMD heap kernels. Each kernel first checks
 * its +-1 operand in one SIMD pass that also packs the sign bits, and takes the binary path only when
 * every element is +1 or -1; otherwise it returns null and the caller runs the float kernel. So the
 * fast paths are correct for any input of any model, with no layer changes.
 *
 * - Forward (Conv2D, FusedConv2D without bias or activation), both operands +-1: an XNOR-popcount
 *   convolution, out = K - 2 * popcount(x XOR w) per window. Exact: sums of +-1 are exact in float32.
 * - Filter gradient with a +-1 input: dW = im2col(x)^T dy by table lookup (T-MAC, Wei et al. 2024,
 *   "T-MAC: CPU Renaissance via Table Lookup for Low-Bit LLM Deployment on Edge", arXiv 2407.00088):
 *   for 4 positions, the 16 signed sums of their dy rows are built once and each (tap, channel) row of
 *   dW adds the one selected by its 4 input bits. Float sums in another order than XNNPACK's.
 * - Input gradient with a +-1 kernel: the patch gradients dy W^T by the same table lookup over output
 *   channels (16 positions to a table entry), scattered into dx (col2im) block by block.
 * - Dense layers: the same three kernels as 1x1 convolutions ({@link matMulBinary}).
 *
 * Reference: Rastegari et al. 2016, "XNOR-Net" (arXiv 1603.05279), for the XNOR-popcount product.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset, type PmConvGeometry } from './heap-kernels.js';
import type { KernelArgs } from './kernel-registry.js';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

/** The subset of BackendWasm these kernels use. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

let enabled = true;

/**
 * Fewest output rows (positions x batch of a convolution, rows of a matrix product) for which the
 * paths that pack a +-1 kernel on every call (forward, input gradient) run: packing reads each weight
 * once, about as long as 15 float multiply-adds per weight take (measured on a 1024 x 1024 Dense
 * kernel on wasm: 1.0 ms to pack; the float product 0.13 ms at 1 row, 1.7 ms at 16, 4.4 ms at 64).
 * Below it the float kernel is faster (binary-mlp at batch 1 was 1.7x slower with the packing).
 */
export const MIN_PACKED_KERNEL_ROWS = 16;

/** Turns the +-1 fast paths off (every call falls back) or back on; for benchmarks and tests. */
export function setBinaryConvEnabled(on: boolean): void {
  enabled = on;
}

/**
 * How many times each binary fast path ran (and how many calls checked an operand and fell back),
 * since the last {@link resetBinaryConvStats}. Tests read it to assert which path ran.
 */
export const binaryConvStats = { forward: 0, filterGrad: 0, inputGrad: 0, fallback: 0 };

/** Zeroes {@link binaryConvStats}. */
export function resetBinaryConvStats(): void {
  binaryConvStats.forward = 0;
  binaryConvStats.filterGrad = 0;
  binaryConvStats.inputGrad = 0;
  binaryConvStats.fallback = 0;
}

/** Int32 scratch on the wasm heap, disposed by the caller with `backend.disposeData`. */
function scratch(backend: HeapBackend, words: number): tf.TensorInfo {
  return backend.makeOutput([Math.max(1, words)], 'int32');
}

interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat?: string;
  dilations?: [number, number] | number;
  dimRoundingMode: Rounding;
}

/**
 * Packs the sign bits of `rows` rows of c floats of t ([rows, ceil(c/32)] words) if every element is
 * +-1; else returns null (nothing left allocated).
 */
function packRows(
  backend: HeapBackend,
  t: tf.TensorInfo,
  rows: number,
  c: number,
): { bits: tf.TensorInfo; wpr: number } | null {
  const k = heapKernels(backend)!;
  const wpr = Math.ceil(c / 32);
  const bits = scratch(backend, rows * wpr);
  if (k.packSignsF32(heapOffset(backend, t), heapOffset(backend, bits), rows, c, wpr) === 0) {
    backend.disposeData(bits.dataId);
    return null;
  }
  return { bits, wpr };
}

/** Packs the NHWC tensor x's sign bits ([B, H, W, ceil(C/32)] words); see packRows. */
function packInput(backend: HeapBackend, x: tf.TensorInfo): { bits: tf.TensorInfo; wpr: number } | null {
  const [b, h, w, c] = x.shape as Shape4;
  return packRows(backend, x, b * h * w, c);
}

/**
 * Packs a +-1 kernel [taps, c, co] for the forward kernel (per tap, the bits of each output channel's
 * c weights; co padded to a multiple of 4) if every weight is +-1; else returns null.
 */
function packKernel(
  backend: HeapBackend,
  w: tf.TensorInfo,
  taps: number,
  c: number,
  co: number,
  wpr: number,
): tf.TensorInfo | null {
  const k = heapKernels(backend)!;
  const co4 = Math.ceil(co / 4) * 4;
  const bits = scratch(backend, taps * wpr * co4);
  if (k.packSignsColsF32(heapOffset(backend, w), heapOffset(backend, bits), taps, c, co, wpr, co4) === 0) {
    backend.disposeData(bits.dataId);
    return null;
  }
  return bits;
}

type Pm1Kernel = 'convForwardPm1' | 'convFilterGradPm1' | 'convInputGradPm1';

const STAT: Record<Pm1Kernel, 'forward' | 'filterGrad' | 'inputGrad'> = {
  convForwardPm1: 'forward',
  convFilterGradPm1: 'filterGrad',
  convInputGradPm1: 'inputGrad',
};

/**
 * Runs a +-1 heap kernel, kernel(a, b, out, work, ...geometry), with `workWords` of scratch and an
 * output of `shape` (zeroed first for the gradients, which accumulate into it); frees `temps` and the
 * scratch, and counts the call in binaryConvStats.
 */
function runPm1(
  backend: HeapBackend,
  kernel: Pm1Kernel,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  shape: number[],
  workWords: number,
  geometry: PmConvGeometry,
  temps: tf.TensorInfo[],
): tf.TensorInfo {
  const k = heapKernels(backend)!;
  const work = scratch(backend, workWords);
  const out = backend.makeOutput(shape, 'float32');
  if (kernel !== 'convForwardPm1') (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  k[kernel](at(a), at(b), at(out), at(work), ...geometry);
  for (const t of [...temps, work]) backend.disposeData(t.dataId);
  binaryConvStats[STAT[kernel]]++;
  return out;
}

/** Frees `temps`, counts a fallback and returns null (the caller runs the float kernel). */
function fallback(backend: HeapBackend, ...temps: Array<tf.TensorInfo | null>): null {
  for (const t of temps) if (t) backend.disposeData(t.dataId);
  binaryConvStats.fallback++;
  return null;
}

/** The conv geometry, or null where the binary kernels cannot run (not wasm SIMD, NCHW, not float32, off). */
function geometry(
  args: KernelArgs,
  xShape: Shape4,
  filterShape: Shape4,
  dtypes: tf.DataType[],
): tf.backend_util.Conv2DInfo | null {
  if (!enabled) return null;
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as ConvAttrs;
  if (dataFormat === 'NCHW' || dtypes.some((d) => d !== 'float32')) return null;
  if (heapKernels(args.backend) == null) return null;
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** Output positions of a convolution over the whole batch. */
function outputRows(info: tf.backend_util.Conv2DInfo): number {
  return info.batchSize * info.outHeight * info.outWidth;
}

/** The geometry arguments shared by the forward and filter-gradient kernels, after the pointers. */
function geometryArgs(info: tf.backend_util.Conv2DInfo, wpr: number): PmConvGeometry {
  const co4 = Math.ceil(info.outChannels / 4) * 4;
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    wpr,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    co4,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/**
 * Conv2D (NHWC) of a +-1 input with a +-1 kernel by XNOR-popcount: out[b, oy, ox, o] = sum over taps
 * (i, j) inside the input and channels k of x[b, oy*sh + i*dh - pt, ox*sw + j*dw - pl, k] * W[i, j, k, o],
 * exactly as the float kernel computes it (every partial sum is an integer below 2^24). Null where it
 * cannot run or an operand is not +-1 (the kernel is checked first: it is small).
 */
export function conv2DBinary(args: KernelArgs): tf.TensorInfo | null {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const info = geometry(args, x.shape as Shape4, filter.shape as Shape4, [x.dtype, filter.dtype]);
  if (info == null || outputRows(info) < MIN_PACKED_KERNEL_ROWS) return null;
  const backend = args.backend as unknown as HeapBackend;
  const { filterHeight: fh, filterWidth: fw, inChannels: c, outChannels: co } = info;
  const taps = fh * fw;
  const wpr = Math.ceil(c / 32);
  // taps*c*co < 2^24 keeps every sum exact; far beyond any layer here.
  const wbits = packKernel(backend, filter, taps, c, co, wpr);
  const xp = wbits && packInput(backend, x);
  if (!wbits || !xp) return fallback(backend, wbits);
  return runPm1(
    backend,
    'convForwardPm1',
    xp.bits,
    wbits,
    [info.batchSize, info.outHeight, info.outWidth, co],
    4 * taps * wpr + taps * Math.ceil(co / 4) * 4,
    geometryArgs(info, wpr),
    [xp.bits, wbits],
  );
}

/**
 * FusedConv2D through {@link conv2DBinary} when it has no bias, no activation (linear) and +-1
 * operands; null otherwise.
 */
export function fusedConv2DBinary(args: KernelArgs): tf.TensorInfo | null {
  const { bias, preluActivationWeights } = args.inputs as {
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const { activation } = args.attrs as { activation?: string };
  if (bias != null || preluActivationWeights != null || (activation != null && activation !== 'linear'))
    return null;
  return conv2DBinary(args);
}

/**
 * Conv2DBackpropFilter (NHWC) with a +-1 input x by table lookup: dW[i, j, k, o] = sum over positions
 * (b, oy, ox) of x[b, oy*sh + i*dh - pt, ox*sw + j*dw - pl, k] * dy[b, oy, ox, o], padding contributing 0.
 * Null where it cannot run or x is not +-1.
 */
export function conv2DBackpropFilterBinary(args: KernelArgs): tf.TensorInfo | null {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { filterShape } = args.attrs as unknown as { filterShape: Shape4 };
  const info = geometry(args, x.shape as Shape4, filterShape, [x.dtype, dy.dtype]);
  if (info == null) return null;
  const backend = args.backend as unknown as HeapBackend;
  const xp = packInput(backend, x);
  if (xp == null) return fallback(backend);
  return runPm1(
    backend,
    'convFilterGradPm1',
    xp.bits,
    dy,
    [...filterShape],
    8 * 16 * Math.ceil(info.outChannels / 4) * 4 + 128,
    geometryArgs(info, xp.wpr),
    [xp.bits],
  );
}

/**
 * Conv2DBackpropInput (NHWC) with a +-1 kernel by table lookup: dx[b, y, x, k] = sum over positions
 * (b, oy, ox) and taps (i, j) with y = oy*sh + i*dh - pt, x = ox*sw + j*dw - pl of
 * sum over o of dy[b, oy, ox, o] * W[i, j, k, o]. Null where it cannot run or W is not +-1.
 */
export function conv2DBackpropInputBinary(args: KernelArgs): tf.TensorInfo | null {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { inputShape } = args.attrs as unknown as { inputShape: Shape4 };
  const info = geometry(args, inputShape, filter.shape as Shape4, [dy.dtype, filter.dtype]);
  if (info == null || outputRows(info) < MIN_PACKED_KERNEL_ROWS) return null;
  const backend = args.backend as unknown as HeapBackend;
  const { filterHeight: fh, filterWidth: fw, inChannels: c, outChannels: co } = info;
  const rows = fh * fw * c;
  const wp = packRows(backend, filter, rows, co);
  if (wp == null) return fallback(backend);
  return runPm1(
    backend,
    'convInputGradPm1',
    dy,
    wp.bits,
    [...inputShape],
    Math.ceil(co / 4) * (256 + rows) + rows * 16 + 48,
    geometryArgs(info, wp.wpr),
    [wp.bits],
  );
}

/** A 1x1 "convolution" geometry: nb = 1, h = 1, w = rows, no padding, unit strides and dilations. */
function rowsGeometry(rows: number, c: number, wpr: number, co: number): PmConvGeometry {
  return [1, 1, rows, c, wpr, 1, rows, co, Math.ceil(co / 4) * 4, 1, 1, 1, 1, 1, 1, 0, 0];
}

/**
 * BatchMatMul / _FusedMatMul (batch 1, no bias, linear activation) with a +-1 operand, through the conv
 * kernels as 1x1 convolutions over `rows` positions: a b with both +-1 (a Dense layer's forward,
 * XNOR-popcount, exact), a^T b with a +-1 (its kernel gradient x^T dy, table lookup) and a b^T with b
 * +-1 (its input gradient dy W^T, table lookup). Null where it cannot run or the operand is not +-1;
 * the checks stop at the first row holding another value.
 */
export function matMulBinary(args: KernelArgs): tf.TensorInfo | null {
  if (!enabled) return null;
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { transposeA, transposeB, activation } = args.attrs as {
    transposeA?: boolean;
    transposeB?: boolean;
    activation?: string;
  };
  if (a == null || b == null || bias != null || preluActivationWeights != null) return null;
  if (activation != null && activation !== 'linear') return null;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || (transposeA && transposeB)) return null;
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const batch = (s: readonly number[]) => s.slice(0, -2).reduce((p, q) => p * q, 1);
  if (batch(a.shape) !== 1 || batch(b.shape) !== 1) return null;
  if (heapKernels(args.backend) == null) return null;
  const backend = args.backend as unknown as HeapBackend;
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const lead = a.shape.slice(0, -2);
  if (!transposeA && !transposeB) {
    // [M, K] x [K, N], both +-1.
    if (ar < MIN_PACKED_KERNEL_ROWS) return null;
    const xp = packRows(backend, a, ar, ac);
    const wbits = xp && packKernel(backend, b, 1, br, bc, xp.wpr);
    if (!xp || !wbits) return fallback(backend, xp?.bits ?? null);
    return runPm1(
      backend,
      'convForwardPm1',
      xp.bits,
      wbits,
      [...lead, ar, bc],
      4 * xp.wpr + Math.ceil(bc / 4) * 4,
      rowsGeometry(ar, ac, xp.wpr, bc),
      [xp.bits, wbits],
    );
  }
  if (transposeA) {
    // a^T b: a [P, Ka] +-1, b [P, N] -> [Ka, N].
    const xp = packRows(backend, a, ar, ac);
    if (xp == null) return fallback(backend);
    return runPm1(
      backend,
      'convFilterGradPm1',
      xp.bits,
      b,
      [...lead, ac, bc],
      8 * 16 * Math.ceil(bc / 4) * 4 + 128,
      rowsGeometry(ar, ac, xp.wpr, bc),
      [xp.bits],
    );
  }
  // a b^T: a [M, P], b [Kb, P] +-1 -> [M, Kb].
  if (ar < MIN_PACKED_KERNEL_ROWS) return null;
  const wp = packRows(backend, b, br, bc);
  if (wp == null) return fallback(backend);
  return runPm1(
    backend,
    'convInputGradPm1',
    a,
    wp.bits,
    [...lead, ar, br],
    Math.ceil(ac / 4) * (256 + br) + br * 16 + 48,
    rowsGeometry(ar, br, wp.wpr, ac),
    [wp.bits],
  );
}

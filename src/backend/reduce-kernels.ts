/**
 * Sum and Mean over leading axes on wasm, as a JavaScript loop over the wasm heap.
 *
 * tfjs-backend-wasm reduces only innermost axes natively: for any other axes it first transposes the
 * whole tensor. Bias and batch-norm gradients reduce a [B, H, W, C] tensor over (B, H, W), which cost
 * 100 ms for [256, 26, 26, 32]. lowbit first wrote it as ones[1, N] x X[N, C] on XNNPACK's GEMM (about
 * 2 ms), but XNNPACK repacks its right operand, the whole tensor, on every call; a row loop with one
 * accumulator per column reads the tensor once and is several times faster again.
 *
 * On wasm with SIMD the loop runs in lowbit's heap kernels (sumRowsF32: float64 lanes); otherwise in
 * JavaScript. sum over axes 0..r-1 of X: out[c] = sum over n of X[n, c], with X viewed as [N, C], N = prod(leading dims),
 * accumulated in float64 and rounded to float32 once (as tfjs-backend-cpu does); mean = fround(sum) / N.
 */

import type * as tf from '@tensorflow/tfjs-core';
import * as tfc from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset } from './heap-kernels.js';
import type { KernelArgs, OpKernel } from './kernel-registry.js';

/** The subset of BackendWasm this kernel uses. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Normalized, sorted, de-duplicated reduction axes. */
function normAxes(axis: number | number[] | undefined, rank: number): number[] {
  const list = axis == null ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
}

/**
 * out[c] = sum over n < lead of x[n * inner + c] (mean: divided by lead after rounding the sum to
 * float32). Exported for tests.
 */
export function leadingReduceInto(
  out: Float32Array,
  x: Float32Array,
  lead: number,
  inner: number,
  mean: boolean,
): void {
  const acc = new Float64Array(inner);
  const i2 = 2 * inner;
  const i3 = 3 * inner;
  let n = 0;
  let p = 0;
  // Four rows per pass over the accumulators (1.8x faster than one; float64 sums, any order is exact enough).
  for (; n + 4 <= lead; n += 4, p += 4 * inner) {
    for (let c = 0; c < inner; c++) {
      acc[c] = acc[c]! + (x[p + c]! + x[p + inner + c]! + (x[p + i2 + c]! + x[p + i3 + c]!));
    }
  }
  for (; n < lead; n++, p += inner) {
    for (let c = 0; c < inner; c++) acc[c] = acc[c]! + x[p + c]!;
  }
  for (let c = 0; c < inner; c++) out[c] = mean ? Math.fround(acc[c]!) / lead : acc[c]!;
}

/** Builds the Sum (mean = false) or Mean (mean = true) override around the stock kernel. */
export function makeLeadingReduce(original: tf.KernelFunc, mean: boolean): OpKernel {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = normAxes(axis, rank);
    const r = axes.length;
    // Only a proper leading prefix (0, 1, ..., r-1) of a float32 tensor.
    if (x.dtype !== 'float32' || r === 0 || r === rank || axes[r - 1] !== r - 1) return original(args);
    const lead = x.shape.slice(0, r).reduce((p, q) => p * q, 1);
    const rest = x.shape.slice(r);
    const inner = rest.reduce((p, q) => p * q, 1);
    if (lead < 2 || inner === 0) return original(args);
    const backend = args.backend as unknown as HeapBackend;
    const out = backend.makeOutput(keepDims ? [...Array(r).fill(1), ...rest] : [...rest], 'float32');
    const simd = heapKernels(backend);
    if (simd) {
      simd.sumRowsF32(heapOffset(backend, x), heapOffset(backend, out), lead, inner, mean ? 1 : 0);
      return out;
    }
    // Views are taken after the allocation: growing the wasm memory detaches older views.
    leadingReduceInto(
      backend.typedArrayFromHeap(out) as Float32Array,
      backend.typedArrayFromHeap(x) as Float32Array,
      lead,
      inner,
      mean,
    );
    return out;
  };
}

/**
 * The earlier formulation, reshape(ones[1, N] @ reshape(X, [N, C])) on XNNPACK's GEMM, kept for the
 * before/after benchmark (bench/train-speed-levers.ts): measured 1.3 ms vs 1.0 for [64, 13, 13, 32] and
 * 13.2 vs 5.8 ms for [64, 26, 26, 32] with fresh data (the GEMM repacks X on every call).
 */
export function makeLeadingReduceMatMul(original: tf.KernelFunc, mean: boolean): OpKernel {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.Tensor };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = normAxes(axis, x.rank);
    const r = axes.length;
    if (x.dtype !== 'float32' || r === 0 || r === x.rank || axes[r - 1] !== r - 1) return original(args);
    const lead = x.shape.slice(0, r).reduce((p, q) => p * q, 1);
    const rest = x.shape.slice(r);
    const inner = rest.reduce((p, q) => p * q, 1);
    if (lead < 2 || inner === 0) return original(args);
    return tfc.tidy(() => {
      const ones = tfc.fill([1, lead], mean ? 1 / lead : 1);
      const y = tfc.matMul(ones, tfc.reshape(x, [lead, inner]));
      return tfc.reshape(y, keepDims ? [...Array(r).fill(1), ...rest] : rest);
    });
  };
}

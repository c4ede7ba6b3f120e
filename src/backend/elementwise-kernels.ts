/**
 * Elementwise kernels for the memory-bound passes of a binarized training step, written as
 * branch-free JavaScript loops over the backends' own buffers (the wasm heap or the cpu backend's
 * typed arrays).
 *
 * - `Identity` on wasm copies its input; the engine calls it for every tensor saved for backprop
 *   (binary-mlp: 135 calls per step). Tensors are immutable and wasm counts references (its Reshape
 *   shares the buffer the same way), so lowbit's Identity shares the buffer, as tfjs-backend-cpu's does.
 * - `Sign` on wasm is a scalar loop with data-dependent branches: 6.4 ms per million values; lowbit's
 *   SIMD kernel (heap-kernels.ts; a branch-free JavaScript loop where wasm SIMD is missing) is several
 *   times faster and gives tfjs-backend-cpu's values ({@link signValue}): the stock kernel returns 0 for
 *   0 < |x| < 2^-23, which made lq.math.sign binarize a tiny negative to +1 on wasm only.
 * - {@link CLIPPED_GRADIENT} (a kernel lowbit adds, for cpu and wasm): Larq's clipped
 *   straight-through gradient dy * 1{|x| <= clip} in one pass (SIMD on wasm), where the composed form
 *   takes four (Abs, LessEqual, ZerosLike, Select) and wasm's LessEqual and Select are scalar loops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset } from './heap-kernels.js';
import type { KernelArgs, OpKernel } from './kernel-registry.js';

/** The subset of BackendWasm these kernels use (typed here to avoid a deep runtime import). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: tf.DataId): void;
}

/** The subset of MathBackendCPU these kernels use. */
interface CpuBackend {
  data: { get(dataId: tf.DataId): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

/**
 * float32's machine epsilon, 2^-23: tfjs-backend-wasm 4.22's own Sign kernel (Sign.cc) returns 0 for
 * |x| below it, where TensorFlow and tfjs-backend-cpu give +-1.
 */
export const FLOAT32_EPSILON = 1.1920928955078125e-7;

/**
 * Sign of one value as TensorFlow and tfjs-backend-cpu give it: +1 for v > 0, -1 for v < 0, 0 for
 * +-0 and NaN. lowbit's wasm Sign gives these values; the stock wasm kernel's 0 for 0 < |v| < 2^-23
 * made Larq's sign(x) = sign(sign(x) + 0.1) binarize tiny negatives to +1 on wasm only.
 */
export function signValue(v: number): number {
  return +(v > 0) - +(v < 0);
}

/** Identity for wasm: shares the input's buffer (reference counted) instead of copying it. */
export function makeIdentityShared(original: tf.KernelFunc): OpKernel {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as WasmHeapBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/** Sign for wasm: tfjs-backend-cpu's values ({@link signValue}) from a branch-free loop. */
export function makeSignWasm(original: tf.KernelFunc): OpKernel {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32') return original(args);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([...x.shape], 'float32');
    const simd = heapKernels(backend);
    if (simd) {
      simd.signF32(heapOffset(backend, x), heapOffset(backend, out), tf.util.sizeFromShape(x.shape));
      return out;
    }
    // Views are taken after the allocation: growing the wasm memory detaches older views.
    const xs = backend.typedArrayFromHeap(x) as Float32Array;
    const ys = backend.typedArrayFromHeap(out) as Float32Array;
    for (let i = 0; i < xs.length; i++) ys[i] = signValue(xs[i]!);
    return out;
  };
}

/** Name of lowbit's fused clipped straight-through gradient kernel. */
export const CLIPPED_GRADIENT = 'LowbitClippedGradient';

/**
 * out_i = dy_i where |x_i| <= clip (compared in float32, as `tf.lessEqual(tf.abs(x), clip)`), else +0;
 * NaN in x passes nothing, dy's values (NaN, -0, infinities) pass unchanged. Written with integer masks
 * over the float bits so that the loop has no data-dependent branch.
 */
export function clippedGradientInto(
  out: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  clipValue: number,
): void {
  const o32 = new Int32Array(out.buffer, out.byteOffset, out.length);
  const d32 = new Int32Array(dy.buffer, dy.byteOffset, dy.length);
  const c = Math.fround(clipValue);
  for (let i = 0; i < x.length; i++) o32[i] = d32[i]! & -+(Math.abs(x[i]!) <= c);
}

interface ClippedGradientArgs {
  x: tf.TensorInfo;
  dy: tf.TensorInfo;
  clipValue: number;
}

function clippedGradientArgs(args: KernelArgs): ClippedGradientArgs {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { clipValue } = args.attrs as unknown as { clipValue: number };
  return { x, dy, clipValue };
}

/** {@link CLIPPED_GRADIENT} for the wasm backend. */
export function clippedGradientWasm(args: KernelArgs): tf.TensorInfo {
  const { x, dy, clipValue } = clippedGradientArgs(args);
  const backend = args.backend as unknown as WasmHeapBackend;
  const out = backend.makeOutput([...x.shape], 'float32');
  const simd = heapKernels(backend);
  if (simd) {
    const n = tf.util.sizeFromShape(x.shape);
    simd.clippedGradF32(
      heapOffset(backend, x),
      heapOffset(backend, dy),
      heapOffset(backend, out),
      n,
      clipValue,
    );
    return out;
  }
  clippedGradientInto(
    backend.typedArrayFromHeap(out) as Float32Array,
    backend.typedArrayFromHeap(x) as Float32Array,
    backend.typedArrayFromHeap(dy) as Float32Array,
    clipValue,
  );
  return out;
}

/** {@link CLIPPED_GRADIENT} for the cpu backend. */
export function clippedGradientCpu(args: KernelArgs): tf.TensorInfo {
  const { x, dy, clipValue } = clippedGradientArgs(args);
  const backend = args.backend as unknown as CpuBackend;
  const xs = backend.data.get(x.dataId).values as Float32Array;
  const out = new Float32Array(xs.length);
  clippedGradientInto(out, xs, backend.data.get(dy.dataId).values as Float32Array, clipValue);
  return backend.makeTensorInfo([...x.shape], 'float32', out);
}

/**
 * Larq's clipped straight-through gradient in one pass, dy * 1{|x| <= clipValue}, if the active backend
 * has lowbit's {@link CLIPPED_GRADIENT} kernel and both tensors are float32 of one shape; otherwise
 * null (the caller composes it from ops). Not differentiable (a pseudo-gradient is not taped).
 */
export function fusedClippedGradient(x: tf.Tensor, dy: tf.Tensor, clipValue: number): tf.Tensor | null {
  if (tf.getKernel(CLIPPED_GRADIENT, tf.getBackend()) == null) return null;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || !tf.util.arraysEqual(x.shape, dy.shape)) return null;
  return tf.engine().runKernel(CLIPPED_GRADIENT, { x, dy }, { clipValue }) as tf.Tensor;
}

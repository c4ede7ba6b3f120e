/**
 * Sum and Mean over leading axes on wasm, as a matrix-vector product.
 *
 * tfjs-backend-wasm reduces only innermost axes natively: for any other axes it first transposes the
 * whole tensor. Bias gradients reduce a [B, H, W, C] tensor over (B, H, W), which cost 100 ms for
 * [256, 26, 26, 32]; written as ones[1, N] x X[N, C] the same sum runs on XNNPACK's GEMM in about 2 ms.
 * sum over axes 0..r-1 of X = reshape(ones[1, N] @ reshape(X, [N, C])), N = prod(leading dims).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs, OpKernel } from './kernel-registry.js';

/** Normalized, sorted, de-duplicated reduction axes. */
function normAxes(axis: number | number[] | undefined, rank: number): number[] {
  const list = axis == null ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
}

/** Builds the Sum (mean = false) or Mean (mean = true) override around the stock kernel. */
export function makeLeadingReduce(original: tf.KernelFunc, mean: boolean): OpKernel {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.Tensor };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = normAxes(axis, x.rank);
    const r = axes.length;
    // Only a proper leading prefix (0, 1, ..., r-1) of a float32 tensor.
    if (x.dtype !== 'float32' || r === 0 || r === x.rank || axes[r - 1] !== r - 1) return original(args);
    const lead = x.shape.slice(0, r).reduce((p, q) => p * q, 1);
    const rest = x.shape.slice(r);
    const inner = rest.reduce((p, q) => p * q, 1);
    if (lead < 2 || inner === 0) return original(args);
    return tf.tidy(() => {
      const ones = tf.fill([1, lead], mean ? 1 / lead : 1);
      const y = tf.matMul(ones, tf.reshape(x, [lead, inner]));
      return tf.reshape(y, keepDims ? [...Array(r).fill(1), ...rest] : rest);
    });
  };
}

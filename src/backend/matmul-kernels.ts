/**
 * Matrix-multiply kernel overrides for tfjs-backend-wasm 4.22.
 *
 * - BatchMatMul with transposeA or transposeB runs a naive loop on wasm (about 0.8 GFLOP/s against
 *   about 10 for the XNNPACK path), and backprop through a Dense layer uses both flags. The override
 *   transposes explicitly (a memory-bound copy) and then calls the fast untransposed kernel.
 * - A batched product whose right operand has batch 1 is folded into one 2-D product
 *   ([B, M, K] x [1, K, N] = reshape([B*M, K] x [K, N])), since XNNPACK is used only for batch 1.
 * - _FusedMatMul with a bias gives wrong values on wasm when batched or transposed. The override runs
 *   the stock fused kernel only in the case it gets right (batch 1, no transpose, rank-1 or no bias) and
 *   otherwise decomposes into matMul + add(bias) + activation.
 * - Products with an exactly +-1 operand (a binarized Dense layer's quantized input or kernel) run
 *   lowbit's binary kernels first ({@link matMulBinary}); anything else falls through.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMulBinary } from './binary-conv-kernels.js';
import type { KernelArgs, OpKernel } from './kernel-registry.js';

/** Swaps the last two axes. */
function transposeLast2(t: tf.Tensor): tf.Tensor {
  const r = t.rank;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(t, perm);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Wraps a TensorInfo a stock kernel returned into a Tensor the current tidy scope owns. */
function own(info: tf.TensorInfo | tf.TensorInfo[]): tf.Tensor {
  const one = Array.isArray(info) ? info[0]! : info;
  return (one as tf.Tensor).rank != null ? (one as tf.Tensor) : tf.engine().makeTensorFromTensorInfo(one);
}

/**
 * Runs the stock untransposed kernel on a and b (rank >= 2, batch dims broadcastable), folding a
 * batch-1 right operand into a single 2-D product.
 */
function fastMatMul(
  original: tf.KernelFunc,
  backend: tf.KernelBackend,
  a: tf.Tensor,
  b: tf.Tensor,
): tf.Tensor {
  const attrs = { transposeA: false, transposeB: false };
  const batchB = size(b.shape.slice(0, -2));
  const batchA = size(a.shape.slice(0, -2));
  if (batchA > 1 && batchB === 1 && b.rank <= a.rank) {
    const [m, k] = a.shape.slice(-2) as [number, number];
    const n = b.shape[b.rank - 1]!;
    const a2 = tf.reshape(a, [batchA * m, k]);
    const b2 = tf.reshape(b, [k, n]);
    const out = own(
      original({ inputs: { a: a2, b: b2 }, backend, attrs: attrs as unknown as tf.NamedAttrMap }),
    );
    return tf.reshape(out, [...a.shape.slice(0, -2), m, n]);
  }
  if (loopsFaster(a.shape, b.shape)) {
    const [m, k] = a.shape.slice(-2) as [number, number];
    const n = b.shape[b.rank - 1]!;
    const as = tf.unstack(tf.reshape(a, [batchA, m, k]));
    const bs = tf.unstack(tf.reshape(b, [batchB, k, n]));
    const outs = as.map((ai, i) =>
      own(original({ inputs: { a: ai, b: bs[i]! }, backend, attrs: attrs as unknown as tf.NamedAttrMap })),
    );
    return tf.reshape(tf.stack(outs), [...a.shape.slice(0, -2), m, n]);
  }
  return own(original({ inputs: { a, b }, backend, attrs: attrs as unknown as tf.NamedAttrMap }));
}

/**
 * Whether a batched product (same batch shape on both sides, batch > 1) runs faster as one 2-D
 * XNNPACK product per batch entry than on the stock batched loop: measured on this project's 2-core
 * machine, 8 x (128x128 @ 128x128) took 8 ms looped vs 35 ms stock, while 121 x (64x288 @ 288x16)
 * took 860 ms looped vs 100 ms stock; so loop only for few, large products.
 */
function loopsFaster(aShape: readonly number[], bShape: readonly number[]): boolean {
  const batchA = size(aShape.slice(0, -2));
  const batchB = size(bShape.slice(0, -2));
  if (batchA !== batchB || batchA <= 1 || batchA > 32 || aShape.length !== bShape.length) return false;
  const [m, k] = aShape.slice(-2) as [number, number];
  const n = bShape[bShape.length - 1]!;
  return m * k * n >= 1 << 20;
}

/**
 * Builds the BatchMatMul override around the stock kernel `original`. `swap: false` turns off the
 * swapped form of transposed products ({@link swapIsCheaper}), for before/after benchmarks.
 */
export function makeBatchMatMul(original: tf.KernelFunc, { swap = true }: { swap?: boolean } = {}): OpKernel {
  return (args: KernelArgs) => {
    const { a, b } = args.inputs as { a: tf.Tensor; b: tf.Tensor };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const binary = matMulBinary(args);
    if (binary) return binary;
    const batchA = size(a.shape.slice(0, -2));
    const batchB = size(b.shape.slice(0, -2));
    const folded = batchA > 1 && batchB === 1;
    if (!transposeA && !transposeB && !folded && !loopsFaster(a.shape, b.shape)) return original(args);
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    return tf.tidy(() => {
      if (swap && batchA === 1 && batchB === 1 && swapIsCheaper(a.shape, b.shape, transposeA, transposeB)) {
        // op(a) op(b) = (op(b)^T op(a)^T)^T, where op(b)^T is b itself if transposeB, else b transposed.
        const bt = transposeB ? b : transposeLast2(b);
        const at = transposeA ? a : transposeLast2(a);
        return transposeLast2(fastMatMul(original, args.backend as tf.KernelBackend, bt, at));
      }
      const at = transposeA ? transposeLast2(a) : a;
      const bt = transposeB ? transposeLast2(b) : b;
      return fastMatMul(original, args.backend as tf.KernelBackend, at, bt);
    });
  };
}

/**
 * Relative cost per value of XNNPACK packing the right operand of a product (tfjs-backend-wasm builds
 * a new GEMM operator, packing b, for every b it has not seen: 7.5 ms for a fresh 1024 x 1024 b against
 * 4.7 ms for the product itself) to that of an explicit transpose (about 1.3 ns per value).
 */
const PACK_PER_VALUE = 5;

/**
 * Whether op(a) op(b) (2-D, or batch 1, with at least one operand transposed) is cheaper as
 * (op(b)^T op(a)^T)^T. The direct form transposes each flagged operand and packs op(b); the swapped
 * form transposes each unflagged operand and the [m, n] result, and packs op(a)^T. A Dense layer's
 * input gradient dy W^T ([64, 1024] x [1024, 1024]^T) swaps: two 64 x 1024 transposes and a small
 * pack instead of transposing and packing W (7 vs 21 ms measured on wasm); so does a first conv
 * layer's filter gradient P^T dy (P [43264, 9] patches, dy [43264, 32]), which would pack all of dy.
 */
export function swapIsCheaper(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): boolean {
  const sa = size(aShape);
  const sb = size(bShape);
  const m = transposeA ? aShape[aShape.length - 1]! : aShape[aShape.length - 2]!;
  const n = transposeB ? bShape[bShape.length - 2]! : bShape[bShape.length - 1]!;
  const direct = (transposeA ? sa : 0) + (transposeB ? sb : 0) + PACK_PER_VALUE * sb;
  const swapped = (transposeA ? 0 : sa) + (transposeB ? 0 : sb) + m * n + PACK_PER_VALUE * sa;
  return swapped < direct;
}

type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'prelu' | 'leakyrelu' | 'sigmoid';

/** y = activation(y) with the fused ops' activation names. */
export function applyActivation(
  y: tf.Tensor,
  activation: Activation | undefined,
  preluWeights: tf.Tensor | undefined,
  leakyreluAlpha: number | undefined,
): tf.Tensor {
  switch (activation ?? 'linear') {
    case 'linear':
      return y;
    case 'relu':
      return tf.relu(y);
    case 'relu6':
      return tf.relu6(y);
    case 'elu':
      return tf.elu(y);
    case 'sigmoid':
      return tf.sigmoid(y);
    case 'leakyrelu':
      return tf.leakyRelu(y, leakyreluAlpha ?? 0.2);
    case 'prelu':
      return tf.prelu(y, preluWeights!);
    default:
      throw new Error(`_FusedMatMul: unknown activation '${activation}'`);
  }
}

/** Builds the _FusedMatMul override around the stock kernel `original` and the BatchMatMul kernel. */
export function makeFusedMatMul(original: tf.KernelFunc): OpKernel {
  return (args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: tf.Tensor;
      b: tf.Tensor;
      bias?: tf.Tensor;
      preluActivationWeights?: tf.Tensor;
    };
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
      activation: Activation;
      leakyreluAlpha?: number;
    };
    const binary = matMulBinary(args);
    if (binary) return binary;
    const batched = size(a.shape.slice(0, -2)) > 1 || size(b.shape.slice(0, -2)) > 1;
    const simpleBias = bias == null || bias.rank === 1;
    if (!transposeA && !transposeB && !batched && simpleBias) return original(args);
    return tf.tidy(() => {
      const at = transposeA ? transposeLast2(a) : a;
      const bt = transposeB ? transposeLast2(b) : b;
      if (!batched && simpleBias) {
        return own(
          original({
            inputs: {
              a: at,
              b: bt,
              ...(bias ? { bias } : {}),
              ...(preluActivationWeights ? { preluActivationWeights } : {}),
            },
            backend: args.backend,
            attrs: { ...args.attrs, transposeA: false, transposeB: false },
          }),
        );
      }
      let y = tf.matMul(at, bt);
      if (bias != null) y = tf.add(y, bias);
      return applyActivation(y, activation, preluActivationWeights, leakyreluAlpha);
    });
  };
}

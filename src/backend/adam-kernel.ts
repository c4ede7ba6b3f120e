/**
 * One Adam step for one variable in a single SIMD pass on wasm (lowbit's kernel {@link ADAM_UPDATE}).
 *
 * tfjs-core's AdamOptimizer runs 14 elementwise ops per variable, each a pass that allocates a
 * tensor: for binary-mlp's 1.8 M weights, 14 passes over 7 MB per step. This kernel reads value, m, v
 * and the gradient once and writes the three new tensors, every intermediate rounded to float32 where
 * tfjs-core's ops round (f32x4 arithmetic is IEEE single precision), so it gives the op-by-op values:
 *
 *   m' = b1 m + (1 - b1) g,   v' = b2 v + (1 - b2) g^2
 *   w' = w - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps)
 *
 * (A scalar JavaScript version was measured first and dropped: three divisions and a square root per
 * weight ran at 7 to 12 ms per million weights, slower than tfjs's 14 SIMD passes.)
 *
 * Paper: Kingma and Ba, "Adam: A Method for Stochastic Optimization", 2015 (arXiv 1412.6980).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedError } from '../errors.js';
import { heapKernels, heapOffset } from './heap-kernels.js';
import type { KernelArgs } from './kernel-registry.js';

/** Name of lowbit's fused Adam kernel: inputs {value, m, v, gradient}, outputs [value', m', v']. */
export const ADAM_UPDATE = 'LowbitAdamUpdate';

/** Attributes of {@link ADAM_UPDATE}: Adam's constants and this step's bias corrections. */
export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t, as the float32 value tfjs-core computes (sub(1, accBeta1)). */
  oneMinusAccBeta1: number;
  /** 1 - beta2^t, likewise. */
  oneMinusAccBeta2: number;
}

/** Whether {@link ADAM_UPDATE} can run on the active backend (wasm with lowbit's SIMD kernels). */
export function fusedAdamAvailable(): boolean {
  return tf.getKernel(ADAM_UPDATE, tf.getBackend()) != null && heapKernels(tf.backend()) != null;
}

/** {@link ADAM_UPDATE} for the wasm backend. */
export function adamUpdateWasm(args: KernelArgs): tf.TensorInfo[] {
  const { value, m, v, gradient } = args.inputs as unknown as Record<
    'value' | 'm' | 'v' | 'gradient',
    tf.TensorInfo
  >;
  const a = args.attrs as unknown as AdamUpdateAttrs;
  const backend = args.backend as unknown as {
    makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  };
  const simd = heapKernels(backend);
  if (simd == null) {
    throw new UnsupportedError(
      'LowbitAdamUpdate on a wasm runtime without SIMD',
      'check fusedAdamAvailable() first',
    );
  }
  const shape = [...value.shape];
  const outs = [0, 1, 2].map(() => backend.makeOutput(shape, 'float32'));
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  const f = Math.fround;
  // The scalars as tfjs-core makes them: float32 tensors from JavaScript numbers.
  simd.adamF32(
    at(value),
    at(m),
    at(v),
    at(gradient),
    at(outs[0]!),
    at(outs[1]!),
    at(outs[2]!),
    tf.util.sizeFromShape(shape),
    f(a.beta1),
    f(1 - a.beta1),
    f(a.beta2),
    f(1 - a.beta2),
    f(a.oneMinusAccBeta1),
    f(a.oneMinusAccBeta2),
    f(a.epsilon),
    f(-a.learningRate),
  );
  return outs;
}

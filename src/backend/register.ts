/**
 * Installs lowbit's kernels: the training kernels a backend lacks (built from ops it has) and the
 * wasm speed/correctness overrides. Runs once on import of `lowbit` (idempotent, silent).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, adamUpdateWasm } from './adam-kernel.js';
import { conv2DBinary, fusedConv2DBinary } from './binary-conv-kernels.js';
import {
  conv2DBackpropFilterAuto,
  conv2DBackpropInputAuto,
  conv3DBackpropFilterFromOps,
  conv3DBackpropInputFromOps,
  depthwiseBackpropFilterFromOps,
  depthwiseBackpropInputFromOps,
} from './conv-grad-kernels.js';
import {
  CLIPPED_GRADIENT,
  clippedGradientCpu,
  clippedGradientWasm,
  makeIdentityShared,
  makeSignWasm,
} from './elementwise-kernels.js';
import { type KernelArgs, type OpKernel, overrideKernel, registerMissingKernel } from './kernel-registry.js';
import { makeBatchMatMul, makeFusedMatMul } from './matmul-kernels.js';
import { maxPool3dGradWasm, maxPool3dWasm, maxPoolGradWasm } from './pool-kernels.js';
import { makeLeadingReduce } from './reduce-kernels.js';
import { resizeBilinearGradFromOps, resizeNearestNeighborGradFromOps } from './resize-kernels.js';
import { unsortedSegmentSumFromOps } from './segment-kernels.js';

/**
 * Kernels lowbit can build from other ops, by kernel name. Training needs them: filter and depthwise
 * gradients for every conv family (conv1d and separable go through conv2d and depthwise; transposed
 * convs use Conv2DBackpropFilter in their gradient), and UnsortedSegmentSum for gather's gradient.
 */
export const TRAINING_KERNELS: Readonly<Record<string, OpKernel>> = {
  Conv2DBackpropFilter: conv2DBackpropFilterAuto,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilterFromOps,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInputFromOps,
  UnsortedSegmentSum: unsortedSegmentSumFromOps,
};

/**
 * Registers, for `backendName`, every kernel of {@link TRAINING_KERNELS} it lacks. Call it for a
 * backend registered after lowbit was imported; backends registered before are handled on import.
 *
 * @returns the kernel names this call registered.
 */
export function registerTrainingKernels(backendName: string): string[] {
  const added: string[] = [];
  for (const [name, fn] of Object.entries(TRAINING_KERNELS)) {
    if (registerMissingKernel(name, backendName, fn)) added.push(name);
  }
  return added;
}

/**
 * Conv2D on wasm accepts only NHWC; NCHW is run as transpose -> NHWC conv -> transpose. NHWC with an
 * input and a kernel that are exactly +-1 runs the XNOR-popcount kernel ({@link conv2DBinary}).
 */
function makeConv2DAnyFormat(original: tf.KernelFunc): OpKernel {
  return (args: KernelArgs) => {
    const { dataFormat } = args.attrs as { dataFormat?: string };
    if (dataFormat !== 'NCHW') return conv2DBinary(args) ?? original(args);
    const { x, filter } = args.inputs as { x: tf.Tensor4D; filter: tf.Tensor4D };
    return tf.tidy(() => {
      const y = tf.conv2d(
        tf.transpose(x, [0, 2, 3, 1]),
        filter,
        args.attrs!.strides as [number, number],
        args.attrs!.pad as 'same',
        'NHWC',
        args.attrs!.dilations as [number, number],
        args.attrs!.dimRoundingMode as 'floor',
      );
      return tf.transpose(y, [0, 3, 1, 2]);
    });
  };
}

/**
 * Names of the wasm kernels lowbit replaces, with why. Exposed for the benchmark and documentation.
 */
export const WASM_OVERRIDES: Readonly<Record<string, (original: tf.KernelFunc) => OpKernel>> = {
  /** Naive loop when transposed (0.8 vs 9.9 GFLOP/s). */
  BatchMatMul: makeBatchMatMul,
  /** Wrong values with bias when batched or transposed. */
  _FusedMatMul: makeFusedMatMul,
  /** Slow, and breaks ties differently from cpu; replaced by a JavaScript loop over the wasm heap. */
  MaxPoolGrad: () => maxPoolGradWasm,
  /** Wrong maxima for some shapes (e.g. [2, 6, 5, 4, 3] with 2x2x2 windows). */
  MaxPool3D: () => maxPool3dWasm,
  /** Paired with MaxPool3D so that the gradient uses the same argmax as cpu. */
  MaxPool3DGrad: () => maxPool3dGradWasm,
  /**
   * A scalar loop (the largest cost of a CNN step); a forward convolution is several times faster,
   * and a matrix product + col2im faster still for few input channels or small images.
   */
  Conv2DBackpropInput: () => conv2DBackpropInputAuto,
  /** Transposes the whole tensor before reducing non-innermost axes (bias gradients). */
  Sum: (original) => makeLeadingReduce(original, false),
  /** Same as Sum (batch-norm moments, losses). */
  Mean: (original) => makeLeadingReduce(original, true),
  /** No NCHW support; +-1 operands run an XNOR-popcount kernel. */
  Conv2D: makeConv2DAnyFormat,
  /** +-1 operands (no bias, no activation) run an XNOR-popcount kernel; otherwise the original. */
  FusedConv2D: (original) => (args: KernelArgs) => fusedConv2DBinary(args) ?? original(args),
  /** Wrong with halfPixelCenters (tf.image.resizeNearestNeighbor's option). */
  ResizeNearestNeighborGrad: () => resizeNearestNeighborGradFromOps,
  /** Wrong with halfPixelCenters. */
  ResizeBilinearGrad: () => resizeBilinearGradFromOps,
  /** Wrong values (every case tested). */
  Conv3DBackpropInputV2: () => conv3DBackpropInputFromOps,
  /** Wrong values for strides > 1. */
  Conv3DBackpropFilterV2: () => conv3DBackpropFilterFromOps,
  /** Copies its input; the engine runs it for every tensor saved for backprop. Shared buffer instead. */
  Identity: makeIdentityShared,
  /** A branchy scalar loop (6x slower than a branch-free one); same values. */
  Sign: makeSignWasm,
};

/**
 * Kernels lowbit adds under its own names, by kernel name and backend: fused passes of training
 * steps that tfjs composes from several ops ({@link CLIPPED_GRADIENT}: Larq's clipped STE gradient;
 * {@link ADAM_UPDATE}: one Adam step for one variable, wasm only).
 */
export const FUSED_KERNELS: Readonly<Record<string, Readonly<Record<string, OpKernel>>>> = {
  [CLIPPED_GRADIENT]: { cpu: clippedGradientCpu, wasm: clippedGradientWasm },
  [ADAM_UPDATE]: { wasm: adamUpdateWasm },
};

/** Registers {@link FUSED_KERNELS} for the backends among them whose kernels are registered. */
export function registerFusedKernels(): string[] {
  const added: string[] = [];
  for (const [name, byBackend] of Object.entries(FUSED_KERNELS)) {
    for (const [backend, fn] of Object.entries(byBackend)) {
      if (tf.getKernelsForBackend(backend).length > 0 && registerMissingKernel(name, backend, fn))
        added.push(`${name}/${backend}`);
    }
  }
  return added;
}

/** Names of the cpu kernels lowbit replaces because they are wrong, with why. */
export const CPU_OVERRIDES: Readonly<Record<string, (original: tf.KernelFunc) => OpKernel>> = {
  /** Wrong values for batch > 1 or more than one channel (UpSampling2D's gradient). */
  ResizeNearestNeighborGrad: () => resizeNearestNeighborGradFromOps,
  /** Height and width swapped in the result: non-square bilinear resizing cannot train. */
  ResizeBilinearGrad: () => resizeBilinearGradFromOps,
};

/** Installs the wasm overrides (if the wasm backend's kernels are registered). */
export function installWasmOverrides(): string[] {
  const done: string[] = [];
  for (const [name, make] of Object.entries(WASM_OVERRIDES)) {
    if (overrideKernel(name, 'wasm', make)) done.push(name);
  }
  return done;
}

/** Installs the cpu correctness fixes (if the cpu backend's kernels are registered). */
export function installCpuOverrides(): string[] {
  const done: string[] = [];
  for (const [name, make] of Object.entries(CPU_OVERRIDES)) {
    if (overrideKernel(name, 'cpu', make)) done.push(name);
  }
  return done;
}

/** Everything lowbit installs on import: training kernels for every registered backend and wasm overrides. */
export function installAll(): void {
  const backends = new Set([...Object.keys(tf.engine().registryFactory), 'wasm']);
  for (const name of backends) {
    if (tf.getKernelsForBackend(name).length > 0) registerTrainingKernels(name);
  }
  installWasmOverrides();
  installCpuOverrides();
  registerFusedKernels();
}

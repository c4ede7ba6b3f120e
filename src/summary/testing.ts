/**
 * Models for the summary's tests and benchmarks, built from lowbit layers exactly as their
 * references define them (not re-exported from the barrel).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import '../constraints/index.js';
import '../quantizers/index.js';
import { quantConv2d, quantDense, quantDepthwiseConv2d, quantSeparableConv2d } from '../layers/index.js';

/**
 * `larq-intro-cnn` (benchmarks.md): Larq's introductory MNIST network on 28x28x1 inputs; with
 * `binary` false its float twin (every quantizer null, no constraint).
 */
export function larqIntroCnn(binary = true): tfl.Sequential {
  const q = (input: boolean) =>
    binary
      ? {
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
          inputQuantizer: input ? 'ste_sign' : null,
        }
      : {};
  const bn = () => tfl.layers.batchNormalization({ scale: false, momentum: 0.99, epsilon: 1e-3 });
  return tfl.sequential({
    name: binary ? 'larq_intro_cnn' : 'larq_intro_cnn_float',
    layers: [
      quantConv2d({ filters: 32, kernelSize: 3, useBias: false, inputShape: [28, 28, 1], ...q(false) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      bn(),
      quantConv2d({ filters: 64, kernelSize: 3, useBias: false, ...q(true) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      bn(),
      quantConv2d({ filters: 64, kernelSize: 3, useBias: false, ...q(true) }),
      bn(),
      tfl.layers.flatten(),
      quantDense({ units: 64, useBias: false, ...q(true) }),
      bn(),
      quantDense({ units: 10, useBias: false, ...q(true) }),
      bn(),
      tfl.layers.activation({ activation: 'softmax' }),
    ],
  });
}

/**
 * The layers of Larq's `get_profile_model()` (larq/models_test.py), with Keras's default names,
 * to be wrapped in a Sequential model; `suffix` is appended to every name (Keras's `_2` for the
 * third model of a session).
 */
export function larqProfileLayers(suffix = ''): tfl.layers.Layer[] {
  return [
    quantConv2d({
      name: `quant_conv2d${suffix}`,
      filters: 32,
      kernelSize: [3, 3],
      kernelQuantizer: 'ste_sign',
      kernelConstraint: 'weight_clip',
      inputShape: [64, 64, 1],
      padding: 'same',
    }),
    tfl.layers.maxPooling2d({ name: `max_pooling2d${suffix}`, poolSize: [2, 2] }),
    quantDepthwiseConv2d({
      name: `quant_depthwise_conv2d${suffix}`,
      kernelSize: 3,
      strides: [3, 3],
      inputQuantizer: 'ste_tern',
      depthwiseQuantizer: 'ste_tern',
      padding: 'same',
      padValues: 1,
      useBias: false,
    }),
    tfl.layers.batchNormalization({ name: `batch_normalization${suffix}`, scale: false }),
    quantSeparableConv2d({
      name: `quant_separable_conv2d${suffix}`,
      filters: 32,
      kernelSize: [3, 3],
      inputQuantizer: 'ste_sign',
      depthwiseQuantizer: 'ste_sign',
      pointwiseQuantizer: 'ste_sign',
      depthwiseConstraint: 'weight_clip',
      pointwiseConstraint: 'weight_clip',
      padding: 'same',
    }),
    tfl.layers.flatten({ name: `flatten${suffix}` }),
    tfl.layers.dense({ name: `dense${suffix}`, units: 10, trainable: false }),
  ];
}

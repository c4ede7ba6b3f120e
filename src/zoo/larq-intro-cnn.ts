import * as tfl from '@tensorflow/tfjs-layers';
import { quantConv2d, quantDense } from '../layers/index.js';
import {
  batchNorm,
  binaryArgs,
  checkMinSize,
  resolveOptions,
  SeededInit,
  type ZooOptions,
} from './options.js';

/** Options of {@link larqIntroCnn}: the common {@link ZooOptions}. */
export type LarqIntroCnnOptions = ZooOptions;

/**
 * Larq's introductory MNIST network (larq.dev, "Introduction to BNNs with Larq"), exactly:
 *
 * QuantConv2D(32, 3x3, kernel ste_sign, weight_clip, no bias; input not quantized) -> MaxPool 2x2
 * -> BN -> QuantConv2D(64, 3x3) -> MaxPool 2x2 -> BN -> QuantConv2D(64, 3x3) -> BN -> Flatten
 * -> QuantDense(64) -> BN -> QuantDense(10) -> BN -> softmax; every layer after the first has
 * ste_sign input and kernel, weight_clip, no bias; convolutions 'valid'; BN without scale,
 * momentum 0.99, epsilon 1e-3.
 *
 * On 28x28x1: 93,088 1-bit kernel weights, 234 BN offsets and 468 BN moving statistics;
 * 2,599,552 1-bit MACs and 194,688 32-bit MACs (first layer). Courbariaux et al. 2016, "Binarized
 * Neural Networks" (arXiv 1602.02830).
 *
 * @example
 * ```ts
 * const model = lq.zoo.get('larq-intro-cnn');             // binarized
 * const twin = lq.zoo.get('larq-intro-cnn', { float: true }); // same topology, float
 * ```
 */
export function larqIntroCnn(options?: LarqIntroCnnOptions): tfl.LayersModel {
  const o = resolveOptions('larq-intro-cnn', options);
  checkMinSize('larq-intro-cnn', o.inputShape, 18);
  const init = new SeededInit(o.seed);
  const conv = (filters: number, first: boolean) =>
    quantConv2d({
      filters,
      kernelSize: 3,
      padding: 'valid',
      useBias: false,
      kernelInitializer: init.glorot(),
      ...binaryArgs(o.float, !first, o.quantizer),
      ...(first ? { inputShape: o.inputShape } : {}),
    });
  const dense = (units: number) =>
    quantDense({
      units,
      useBias: false,
      kernelInitializer: init.glorot(),
      ...binaryArgs(o.float, true, o.quantizer),
    });
  return tfl.sequential({
    name: o.name,
    layers: [
      conv(32, true),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      batchNorm(),
      conv(64, false),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      batchNorm(),
      conv(64, false),
      batchNorm(),
      tfl.layers.flatten(),
      dense(64),
      batchNorm(),
      dense(o.numClasses),
      batchNorm(),
      tfl.layers.activation({ activation: 'softmax' }),
    ],
  });
}

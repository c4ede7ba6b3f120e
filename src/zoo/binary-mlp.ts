import * as tfl from '@tensorflow/tfjs-layers';
import { quantDense } from '../layers/index.js';
import { batchNorm, binaryArgs, resolveOptions, SeededInit, type ZooOptions } from './options.js';

/** Options of {@link binaryMlp}: the common {@link ZooOptions}. */
export type BinaryMlpOptions = ZooOptions;

/**
 * A binarized multilayer perceptron (Courbariaux et al. 2016, "Binarized Neural Networks",
 * arXiv 1602.02830; the network of benchmarks.md), exactly:
 *
 * Flatten -> QuantDense(1024, kernel ste_sign, weight_clip, no bias, input not quantized) -> BN
 * -> QuantDense(1024, input and kernel ste_sign) -> BN -> QuantDense(10, input and kernel ste_sign)
 * -> BN -> softmax; BN without scale, momentum 0.99, epsilon 1e-3.
 *
 * On 28x28x1: 784 * 1024 + 1024 * 1024 + 1024 * 10 = 1,861,632 1-bit kernel weights, 2,058 BN
 * offsets and 4,116 BN moving statistics.
 *
 * @example
 * ```ts
 * const model = lq.zoo.get('binary-mlp');
 * ```
 */
export function binaryMlp(options?: BinaryMlpOptions): tfl.LayersModel {
  const o = resolveOptions('binary-mlp', options);
  const init = new SeededInit(o.seed);
  const dense = (units: number, first: boolean) =>
    quantDense({
      units,
      useBias: false,
      kernelInitializer: init.glorot(),
      ...binaryArgs(o.float, !first, o.quantizer),
    });
  return tfl.sequential({
    name: o.name,
    layers: [
      tfl.layers.flatten({ inputShape: o.inputShape }),
      dense(1024, true),
      batchNorm(),
      dense(1024, false),
      batchNorm(),
      dense(o.numClasses, false),
      batchNorm(),
      tfl.layers.activation({ activation: 'softmax' }),
    ],
  });
}

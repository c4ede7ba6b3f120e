/**
 * The LeNet-5 of Yin et al.'s experiments, built from lowbit's layers: the zoo's `lenet5` topology
 * with the BatchNorm moving statistics updated as in PyTorch, the paper's framework.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { quantConv2d, quantDense } from '../../layers/index.js';
import type { ReluSte } from '../../quantizers/index.js';
import { QuantizedRelu } from '../../quantizers/index.js';
import { SeededInit } from '../../zoo/options.js';

/**
 * Momentum of the BatchNorm moving statistics: moving = 0.9 moving + 0.1 batch statistic, PyTorch's
 * default (its `momentum=0.1` is the weight of the new batch). Keras's 0.99 (the zoo's) needs a few
 * hundred steps to forget its initial 0 / 1, longer than the short schedules of this study, and the
 * quantizer's fixed resolution alpha makes inference sensitive to stale statistics.
 */
export const PAPER_BN_MOMENTUM = 0.9;

/** Options of {@link paperLenet5}. */
export interface PaperLenet5Options {
  /**
   * Activation: 'relu' (the float model) or a quantized ReLU with `bits` and `ste`
   * (the registered 'quantized_relu' quantizer, alpha fixed to its half-Gaussian default).
   */
  activation: 'relu' | { bits: number; ste: ReluSte };
  /** Seed of the glorot-uniform kernel initializers (the same seed gives the zoo's initial kernels). */
  seed: number;
}

/**
 * LeNet-5 as in Yin et al. 2019 (arXiv 1903.05662), for 28x28x1 inputs, float weights:
 *
 * conv 6@5x5 'same' -> BN -> act -> maxpool 2x2 -> conv 16@5x5 'valid' -> BN -> act -> maxpool 2x2
 * -> flatten -> dense 120 -> BN -> act -> dense 84 -> BN -> act -> dense 10 -> softmax,
 *
 * BN = BatchNormalization without learned scale and shift, y = (x - mean) / sqrt(var + 1e-3), moving
 * statistics with momentum {@link PAPER_BN_MOMENTUM}; layers before a BN have no bias. This is the
 * zoo's `lenet5` (same layers, same initial kernels for the same seed) except for the BN momentum
 * and a frozen zero shift in place of `center: false` (see `normalization` below).
 */
export function paperLenet5(options: PaperLenet5Options): tfl.LayersModel {
  const init = new SeededInit(options.seed);
  const bns: tfl.layers.Layer[] = [];
  const act = (): tfl.layers.Layer[] => [
    bns[bns.push(normalization()) - 1],
    options.activation === 'relu'
      ? tfl.layers.reLU()
      : new QuantizedRelu({ kBit: options.activation.bits, ste: options.activation.ste }),
  ];
  const conv = (filters: number, padding: 'same' | 'valid', first: boolean) =>
    quantConv2d({
      filters,
      kernelSize: 5,
      padding,
      useBias: false,
      kernelInitializer: init.glorot(),
      ...(first ? { inputShape: [28, 28, 1] } : {}),
    });
  const dense = (units: number, bias: boolean) =>
    quantDense({ units, useBias: bias, kernelInitializer: init.glorot() });
  const model = tfl.sequential({
    name: 'lenet5',
    layers: [
      conv(6, 'same', true),
      ...act(),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      conv(16, 'valid', false),
      ...act(),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      dense(120, false),
      ...act(),
      dense(84, false),
      ...act(),
      dense(10, true),
      tfl.layers.activation({ activation: 'softmax' }),
    ],
  });
  // The shift beta exists (zeros) but is frozen: y = (x - mean) / sqrt(var + eps) + 0, no learned shift.
  for (const bn of bns) {
    const beta = (bn as unknown as { beta: { trainable: boolean } | null }).beta;
    if (beta) beta.trainable = false;
  }
  return model;
}

/**
 * A BatchNormalization without learned scale and shift. The shift is a frozen zero vector rather than
 * `center: false`, because with `center: false` tfjs records a null offset input on the
 * FusedBatchNorm gradient tape when lowbit's two BatchNorm training fixes (src/layers and src/train)
 * are installed in one of the two possible import orders, and backprop then fails; a frozen zero
 * shift is the same function and trains in either order.
 */
function normalization(): tfl.layers.Layer {
  return tfl.layers.batchNormalization({
    momentum: PAPER_BN_MOMENTUM,
    epsilon: 1e-3,
    scale: false,
    center: true,
    betaInitializer: 'zeros',
  });
}

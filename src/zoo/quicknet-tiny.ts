import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '../errors.js';
import { quantConv2d, quantDense } from '../layers/index.js';
import type { OptionSpec } from '../util/options.js';
import { binaryArgs, checkMinSize, resolveOptions, SeededInit, type ZooOptions } from './options.js';

/** Options of {@link quicknetTiny}. */
export interface QuicknetTinyOptions extends ZooOptions {
  /** Channels of the two stages, `[c1, c2]` with c2 = 2 c1 (the shortcut duplicates channels). Default [48, 96]. */
  filters?: [number, number];
  /** Residual blocks per stage, counting the downsampling block of stage 2. Default [2, 3]. */
  blocks?: [number, number];
}

const pair: OptionSpec = {
  check: (v) => Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d) && d > 0),
  expected: 'an array of 2 positive integers',
};

/** The recipe lowbit trains quicknet-tiny with (bench/accuracy.ts). */
export const QUICKNET_TINY_RECIPE = {
  /** Adam with this peak learning rate and epsilon 1e-7... */
  learningRate: 2e-3,
  /** ...decayed by a cosine to 0 over the epochs: lr(e) = lr0 (1 + cos(pi e / epochs)) / 2. */
  schedule: 'cosine',
  epochs: 12,
  batchSize: 64,
} as const;

/**
 * A small residual binarized network of lowbit's design, in the spirit of Larq's QuickNet
 * (Bannink et al. 2021, "Larq Compute Engine", arXiv 2011.09398) and Bi-Real Net (Liu et al. 2018,
 * arXiv 1808.00278): binary 3x3 convolutions with real-valued shortcuts.
 *
 * stem: float conv c1@5x5 stride 2 'same' -> BN;
 * stage 1 (H/2): blocks[0] x { x + BN(bconv c1@3x3(x)) };
 * stage 2: maxpool 2x2, then { concat(x, x) + BN(bconv c2@3x3(x)) }, then (blocks[1] - 1) x
 * { x + BN(bconv c2@3x3(x)) };
 * head: global average pool -> float dense -> softmax.
 * bconv: ste_sign input and kernel, weight_clip, no bias, 'same' padding with padValues 1 (so a
 * bitpacked engine needs no zero padding); BN with scale, momentum 0.9, epsilon 1e-3. Every hidden layer's
 * inputs and kernels are binary; only the stem, the head and the shortcuts are real-valued.
 *
 * On 28x28x1 with the defaults: 1,200 float stem weights (235,200 float MACs), 2 x 20,736 + 41,472 +
 * 2 x 82,944 = 248,832 binary kernel weights (18,289,152 binary MACs per image), 970 head weights.
 * With filters [32, 64] (110,592 binary weights) the 12-epoch recipe reached 89.92% on Fashion-MNIST
 * (mean of 2 seeds, and 89.94% with 16 epochs): the width, not the schedule, was the limit.
 * With the defaults the recipe reached 90.51% and 90.84% (seeds 0 and 1). Training cost measured on
 * this machine's wasm backend with lowbit's +-1 kernels, two runs sharing its 2 cores: about 230
 * samples/s, 53 minutes for the 12 epochs (bench/results/accuracy.md).
 *
 * @example
 * ```ts
 * const model = lq.zoo.get('quicknet-tiny', { seed: 1 });
 * ```
 */
export function quicknetTiny(options?: QuicknetTinyOptions): tfl.LayersModel {
  const o = resolveOptions('quicknet-tiny', options, { filters: pair, blocks: pair });
  checkMinSize('quicknet-tiny', o.inputShape, 4);
  const [c1, c2] = options?.filters ?? [48, 96];
  const [b1, b2] = options?.blocks ?? [2, 3];
  if (c2 !== 2 * c1) {
    throw new ConfigError({
      where: "zoo 'quicknet-tiny' option filters",
      received: [c1, c2],
      expected: '[c1, c2] with c2 = 2 c1 (the downsampling shortcut duplicates channels)',
    });
  }
  const init = new SeededInit(o.seed);
  // momentum 0.9 (Keras: 0.99): the moving statistics, which inference uses, catch up within ~50
  // steps; in a residual stack their lag compounds from block to block.
  const bn = () => tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
  const bconv = (filters: number) =>
    quantConv2d({
      filters,
      kernelSize: 3,
      padding: 'same',
      padValues: 1,
      useBias: false,
      kernelInitializer: init.glorot(),
      ...binaryArgs(o.float, true, o.quantizer),
    });
  const residual = (x: SymbolicTensor, shortcut: SymbolicTensor, filters: number) =>
    tfl.layers
      .add()
      .apply([shortcut, bn().apply(bconv(filters).apply(x)) as SymbolicTensor]) as SymbolicTensor;

  const input = tfl.input({ shape: o.inputShape });
  // A strided stem: downsampling in the (cheap, float) first layer keeps full-resolution
  // activations, their BatchNorm and a max-pool gradient out of every training step.
  let x = quantConv2d({
    filters: c1,
    kernelSize: 5,
    strides: 2,
    padding: 'same',
    useBias: false,
    kernelInitializer: init.glorot(),
  }).apply(input) as SymbolicTensor;
  x = bn().apply(x) as SymbolicTensor;
  for (let i = 0; i < b1; i++) x = residual(x, x, c1);
  x = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(x) as SymbolicTensor;
  x = residual(x, tfl.layers.concatenate().apply([x, x]) as SymbolicTensor, c2);
  for (let i = 1; i < b2; i++) x = residual(x, x, c2);
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as SymbolicTensor;
  x = quantDense({ units: o.numClasses, kernelInitializer: init.glorot() }).apply(x) as SymbolicTensor;
  const output = tfl.layers.activation({ activation: 'softmax' }).apply(x) as SymbolicTensor;
  return tfl.model({ name: o.name, inputs: input, outputs: output });
}

import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '../errors.js';
import { quantConv2d, quantDense } from '../layers/index.js';
import {
  FunctionQuantizer,
  get as getQuantizer,
  Quantizer,
  type QuantizerClass,
  type QuantizerIdentifier,
} from '../quantizers/index.js';
import { any, boolean, nullable, positiveInt } from '../util/options.js';
import { batchNorm, checkMinSize, resolveOptions, SeededInit, type ZooOptions } from './options.js';

/** Options of {@link lenet5}. */
export interface Lenet5Options extends ZooOptions {
  /**
   * Quantizer of the four hidden activations (any quantizer identifier: a registered name such as
   * `'dorefa_quantizer'`, a `{ className, config }` object, a Quantizer instance or a function).
   * null or absent: a float ReLU. A fresh quantizer is made for each of the four positions.
   * Ignored by the float twin (`float: true`), which uses ReLU.
   */
  activationQuantizer?: QuantizerIdentifier;
  /**
   * Bits of the activation quantizer, passed to it as its `kBit` option (DoReFa's name for it);
   * only with a named or `{ className, config }` quantizer.
   */
  activationBits?: number;
  /**
   * A BatchNormalization without scale and center, y = (x - mean) / sqrt(var + 1e-3), before each
   * hidden activation (as in Yin et al. 2019's experiments); the layers before it then have no
   * bias. Default true.
   */
  batchNorm?: boolean;
}

/** A fresh activation layer for one position of the network. */
function activationLayer(
  identifier: QuantizerIdentifier,
  bits: number | undefined,
  position: number,
): tfl.layers.Layer {
  const where = `zoo 'lenet5' option activationQuantizer (activation ${position})`;
  if (identifier == null) {
    if (bits !== undefined) {
      throw new ConfigError({
        where: "zoo 'lenet5' option activationBits",
        received: bits,
        expected: 'no activationBits without an activationQuantizer',
      });
    }
    return tfl.layers.reLU();
  }
  if (
    typeof identifier === 'string' ||
    (typeof identifier === 'object' && !(identifier instanceof Quantizer))
  ) {
    if (bits === undefined) return getQuantizer(identifier, where) as Quantizer;
    const named =
      typeof identifier === 'string'
        ? { className: identifier, config: { kBit: bits } }
        : { className: identifier.className, config: { ...identifier.config, kBit: bits } };
    return getQuantizer(named, where) as Quantizer;
  }
  if (bits !== undefined) {
    throw new ConfigError({
      where: "zoo 'lenet5' option activationBits",
      received: bits,
      expected:
        'activationBits only with a quantizer name or {className, config} (set the bits on the instance)',
    });
  }
  if (typeof identifier === 'function') return new FunctionQuantizer({ fn: identifier });
  if (identifier instanceof FunctionQuantizer) {
    return new FunctionQuantizer({ fn: identifier.fn, precision: identifier.precision });
  }
  // A layer instance can appear once in a model: clone the quantizer from its config, new name.
  const { name: _name, ...config } = identifier.getConfig();
  const cls = identifier.constructor as unknown as QuantizerClass;
  return new cls(config);
}

/**
 * LeNet-5 (LeCun et al. 1998, "Gradient-based learning applied to document recognition") for
 * 28x28x1 inputs, with a choice of activation quantizer as in Yin et al. 2019 ("Understanding
 * Straight-Through Estimator in Training Activation Quantized Neural Nets", arXiv 1903.05662):
 *
 * conv 6@5x5 'same' -> [BN] -> act -> maxpool 2x2 -> conv 16@5x5 'valid' -> [BN] -> act
 * -> maxpool 2x2 -> flatten -> dense 120 -> [BN] -> act -> dense 84 -> [BN] -> act -> dense 10 -> softmax.
 *
 * Weights are float (the study quantizes activations only); act is a ReLU or the quantizer.
 * Parameters on 28x28x1 without BN: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706; with BN the four
 * hidden layers drop their biases (-226) and each BN adds moving mean and variance (+452).
 *
 * @example
 * ```ts
 * // 2-bit DoReFa activations, float weights:
 * const model = lq.zoo.get('lenet5', { activationQuantizer: 'dorefa_quantizer', activationBits: 2 });
 * ```
 */
export function lenet5(options?: Lenet5Options): tfl.LayersModel {
  const o = resolveOptions('lenet5', options, {
    activationQuantizer: any,
    activationBits: positiveInt,
    batchNorm: nullable(boolean),
  });
  checkMinSize('lenet5', o.inputShape, 12);
  const opts = options ?? {};
  const quantizer = o.float ? null : (opts.activationQuantizer ?? null);
  const bits = o.float ? undefined : opts.activationBits;
  const useBn = opts.batchNorm ?? true;
  const init = new SeededInit(o.seed);
  let position = 0;
  const act = (): tfl.layers.Layer[] => [
    ...(useBn ? [batchNorm({ center: false, scale: false })] : []),
    activationLayer(quantizer, bits, ++position),
  ];
  const conv = (filters: number, padding: 'same' | 'valid', first: boolean) =>
    quantConv2d({
      filters,
      kernelSize: 5,
      padding,
      useBias: !useBn,
      kernelInitializer: init.glorot(),
      ...(first ? { inputShape: o.inputShape } : {}),
    });
  const dense = (units: number, bias: boolean) =>
    quantDense({ units, useBias: bias, kernelInitializer: init.glorot() });
  return tfl.sequential({
    name: o.name,
    layers: [
      conv(6, 'same', true),
      ...act(),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      conv(16, 'valid', false),
      ...act(),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      dense(120, !useBn),
      ...act(),
      dense(84, !useBn),
      ...act(),
      dense(o.numClasses, true),
      tfl.layers.activation({ activation: 'softmax' }),
    ],
  });
}

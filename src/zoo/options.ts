/**
 * Options shared by every zoo network, their validation, and the small builders the networks use.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { Initializer } from '@tensorflow/tfjs-layers/dist/initializers.js';
import '../constraints/index.js';
import '../quantizers/index.js';
import '../layers/batch-normalization.js';
import { ConfigError } from '../errors.js';
import type { QuantizerIdentifier } from '../quantizers/index.js';
import { any, boolean, checkOptions, type OptionSpec, positiveInt } from '../util/options.js';
import { Random } from '../util/random.js';

/** Options every zoo network accepts. */
export interface ZooOptions {
  /**
   * Build the float twin: the same topology with every quantizer null and no weight constraint
   * (benchmarks.md). Default false.
   */
  float?: boolean;
  /** Shape of one input image, `[height, width, channels]`. Default `[28, 28, 1]`. */
  inputShape?: [number, number, number];
  /** Number of classes of the softmax output. Default 10. */
  numClasses?: number;
  /**
   * Seed of the kernel initializers (glorot-uniform): the same seed gives the same initial weights.
   * Default 0.
   */
  seed?: number;
  /** Name of the model. Default: the zoo name. */
  name?: string;
  /**
   * The binary quantizer of every binarized input and kernel, e.g. 'approx_sign' or a custom
   * function (the STE study compares them). Default Larq's 'ste_sign'; ignored for the float twin.
   */
  quantizer?: QuantizerIdentifier;
}

/** {@link ZooOptions} with defaults filled in. */
export interface ResolvedZooOptions {
  float: boolean;
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
  name: string;
  quantizer: QuantizerIdentifier;
}

const shape3: OptionSpec = {
  check: (v) => Array.isArray(v) && v.length === 3 && v.every((d) => Number.isInteger(d) && d > 0),
  expected: 'an array of 3 positive integers [height, width, channels]',
};
const integer: OptionSpec = { check: (v) => Number.isInteger(v), expected: 'an integer' };
const string: OptionSpec = {
  check: (v) => typeof v === 'string' && v.length > 0,
  expected: 'a non-empty string',
};

/** The option checks of {@link ZooOptions}, for networks to extend with their own. */
export const ZOO_OPTION_SPECS: Readonly<Record<string, OptionSpec>> = {
  float: boolean,
  inputShape: shape3,
  numClasses: positiveInt,
  seed: integer,
  name: string,
  quantizer: any,
};

/**
 * Validates `options` against the common specs plus `extra`, and fills in defaults.
 *
 * @throws ConfigError naming the network, the option, the value received and what is valid.
 */
export function resolveOptions(
  network: string,
  options: object | undefined,
  extra: Readonly<Record<string, OptionSpec>> = {},
): ResolvedZooOptions {
  checkOptions(`zoo '${network}'`, options, { ...ZOO_OPTION_SPECS, ...extra });
  const o = (options ?? {}) as ZooOptions;
  return {
    float: o.float ?? false,
    inputShape: o.inputShape ? ([...o.inputShape] as [number, number, number]) : [28, 28, 1],
    numClasses: o.numClasses ?? 10,
    seed: o.seed ?? 0,
    name: o.name ?? network,
    quantizer: o.quantizer ?? 'ste_sign',
  };
}

/**
 * Seeded glorot-uniform initializers, one distinct seed per layer, drawn from `Random(seed)`:
 * W ~ U(-l, l), l = sqrt(6 / (fanIn + fanOut)) (Glorot and Bengio, 2010).
 */
export class SeededInit {
  private readonly rng: Random;
  constructor(seed: number) {
    this.rng = new Random(seed);
  }
  /** The next layer's kernel initializer. */
  glorot(): Initializer {
    return tfl.initializers.glorotUniform({ seed: this.rng.int(2 ** 31) });
  }
}

/**
 * Quantizer options of a binarized layer (`quantizer`, Larq's `ste_sign` by default, on input and
 * kernel, `weight_clip` on the latent kernel), or of its float twin (no quantizer, no constraint).
 *
 * @param float Build the float twin.
 * @param quantizeInput Whether the input is binarized too (false for a network's first layer).
 */
export function binaryArgs(
  float: boolean,
  quantizeInput: boolean,
  quantizer: QuantizerIdentifier = 'ste_sign',
): {
  inputQuantizer?: QuantizerIdentifier;
  kernelQuantizer?: QuantizerIdentifier;
  kernelConstraint?: 'weight_clip';
} {
  if (float) return {};
  return {
    ...(quantizeInput ? { inputQuantizer: quantizer } : {}),
    kernelQuantizer: quantizer,
    kernelConstraint: 'weight_clip',
  };
}

/**
 * Keras's default BatchNormalization (momentum 0.99, epsilon 1e-3) without the scale gamma, as
 * Larq's examples use it after binary layers: y = (x - mean) / sqrt(var + 1e-3) + beta.
 */
export function batchNorm(
  options: { center?: boolean; scale?: boolean; name?: string } = {},
): tfl.layers.Layer {
  return tfl.layers.batchNormalization({
    momentum: 0.99,
    epsilon: 1e-3,
    scale: options.scale ?? false,
    center: options.center ?? true,
    ...(options.name ? { name: options.name } : {}),
  });
}

/** Throws a ConfigError when an image is too small for a network's fixed downsampling. */
export function checkMinSize(network: string, inputShape: [number, number, number], min: number): void {
  if (inputShape[0] < min || inputShape[1] < min) {
    throw new ConfigError({
      where: `zoo '${network}' option inputShape`,
      received: inputShape,
      expected: `height and width of at least ${min}`,
    });
  }
}

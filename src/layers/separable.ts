import type * as tf from '@tensorflow/tfjs-core';
import type {
  SeparableConv2D,
  SeparableConvLayerArgs,
} from '@tensorflow/tfjs-layers/dist/layers/convolutional.js';
import type { QuantizerIdentifier } from '../quantizers/registry.js';
import { any, LAYER_ARG_KEYS, type OptionSpec } from '../util/options.js';
import { type QuantizerOptions, quantizedLayer, registerQuantizedLayer } from './base.js';
import { SeparableConv1D, type SeparableConv1DLayerArgs } from './float/index.js';
import { FLOAT_KERNEL_SLOTS, SEPARABLE_OPTIONS, tfjsLayerClass } from './float-options.js';

export interface QuantSeparableConvArgs extends SeparableConvLayerArgs, QuantizerOptions {
  /** Quantizer of the depthwise kernel (null: float kernel). */
  depthwiseQuantizer?: QuantizerIdentifier;
  /** Quantizer of the pointwise kernel (null: float kernel). */
  pointwiseQuantizer?: QuantizerIdentifier;
  /** Value to pad the (quantized) input with for padding 'same'. Default 0. */
  padValues?: number;
}

function separableSpec(className: string, floatOptions: Record<string, OptionSpec>) {
  return { className, kernels: FLOAT_KERNEL_SLOTS.SeparableConv2D, floatOptions, padValues: true };
}

/**
 * Depthwise-separable 2-D convolution with quantized input and kernels (Larq's `QuantSeparableConv2D`):
 * y = activation(pointwise(depthwise(inputQuantizer(x), depthwiseQuantizer(Wd)), pointwiseQuantizer(Wp)) + b).
 */
export class QuantSeparableConv2D extends quantizedLayer(
  tfjsLayerClass<typeof SeparableConv2D>('SeparableConv2D'),
  separableSpec('QuantSeparableConv2D', SEPARABLE_OPTIONS),
) {
  static override readonly className = 'QuantSeparableConv2D';
  constructor(args: QuantSeparableConvArgs) {
    super(args);
  }

  // tfjs 4.22's SeparableConv2D leaves depthMultiplier out of its config, so a round trip loses it.
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      depthMultiplier: (this as unknown as { depthMultiplier: number }).depthMultiplier,
    };
  }
}
registerQuantizedLayer(QuantSeparableConv2D);

/** The 1-D layer's own option list, with the 2-D layer's type checks where the names agree. */
const SEPARABLE_1D_OPTIONS = Object.fromEntries(
  SeparableConv1D.argNames
    .filter((name) => !(LAYER_ARG_KEYS as readonly string[]).includes(name))
    .map((name) => [name, SEPARABLE_OPTIONS[name] ?? any]),
);

export interface QuantSeparableConv1DArgs extends SeparableConv1DLayerArgs, QuantizerOptions {
  /** Quantizer of the depthwise kernel (null: float kernel). */
  depthwiseQuantizer?: QuantizerIdentifier;
  /** Quantizer of the pointwise kernel (null: float kernel). */
  pointwiseQuantizer?: QuantizerIdentifier;
  /** Value to pad the (quantized) input with for padding 'same'. Default 0. */
  padValues?: number;
}

/**
 * Depthwise-separable 1-D convolution with quantized input and kernels (Larq's `QuantSeparableConv1D`):
 * y = activation(pointwise(depthwise(inputQuantizer(x), depthwiseQuantizer(Wd)), pointwiseQuantizer(Wp)) + b).
 */
export class QuantSeparableConv1D extends quantizedLayer(
  SeparableConv1D,
  separableSpec('QuantSeparableConv1D', SEPARABLE_1D_OPTIONS),
) {
  static override readonly className = 'QuantSeparableConv1D';
  constructor(args: QuantSeparableConv1DArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantSeparableConv1D);

/** Creates a {@link QuantSeparableConv1D}. */
export function quantSeparableConv1d(args: QuantSeparableConv1DArgs): QuantSeparableConv1D {
  return new QuantSeparableConv1D(args);
}

/** Creates a {@link QuantSeparableConv2D}. */
export function quantSeparableConv2d(args: QuantSeparableConvArgs): QuantSeparableConv2D {
  return new QuantSeparableConv2D(args);
}

import type * as tf from '@tensorflow/tfjs-core';
import type {
  SeparableConv2D,
  SeparableConvLayerArgs,
} from '@tensorflow/tfjs-layers/dist/layers/convolutional.js';
import type { QuantizerIdentifier } from '../quantizers/registry.js';
import { type QuantizerOptions, quantizedLayer, registerQuantizedLayer } from './base.js';
import { DEPTHWISE_KERNEL, POINTWISE_KERNEL, SEPARABLE_OPTIONS, tfjsLayerClass } from './float-options.js';

export interface QuantSeparableConvArgs extends SeparableConvLayerArgs, QuantizerOptions {
  /** Quantizer of the depthwise kernel (null: float kernel). */
  depthwiseQuantizer?: QuantizerIdentifier;
  /** Quantizer of the pointwise kernel (null: float kernel). */
  pointwiseQuantizer?: QuantizerIdentifier;
  /** Value to pad the (quantized) input with for padding 'same'. Default 0. */
  padValues?: number;
}

export function separableSpec(className: string) {
  return {
    className,
    kernels: [DEPTHWISE_KERNEL, POINTWISE_KERNEL],
    floatOptions: SEPARABLE_OPTIONS,
    padValues: true,
  };
}

/**
 * Depthwise-separable 2-D convolution with quantized input and kernels (Larq's `QuantSeparableConv2D`):
 * y = activation(pointwise(depthwise(inputQuantizer(x), depthwiseQuantizer(Wd)), pointwiseQuantizer(Wp)) + b).
 */
export class QuantSeparableConv2D extends quantizedLayer(
  tfjsLayerClass<typeof SeparableConv2D>('SeparableConv2D'),
  separableSpec('QuantSeparableConv2D'),
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

/** Creates a {@link QuantSeparableConv2D}. */
export function quantSeparableConv2d(args: QuantSeparableConvArgs): QuantSeparableConv2D {
  return new QuantSeparableConv2D(args);
}

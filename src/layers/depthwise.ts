import type {
  DepthwiseConv2D,
  DepthwiseConv2DLayerArgs,
} from '@tensorflow/tfjs-layers/dist/layers/convolutional_depthwise.js';
import type { QuantizerIdentifier } from '../quantizers/registry.js';
import { type QuantizerOptions, quantizedLayer, registerQuantizedLayer } from './base.js';
import { DEPTHWISE_OPTIONS, FLOAT_KERNEL_SLOTS, tfjsLayerClass } from './float-options.js';

export interface QuantDepthwiseConv2DArgs extends DepthwiseConv2DLayerArgs, QuantizerOptions {
  /** Quantizer of the depthwise kernel (null: float kernel). */
  depthwiseQuantizer?: QuantizerIdentifier;
  /** Value to pad the (quantized) input with for padding 'same'. Default 0. */
  padValues?: number;
}

/**
 * Depthwise 2-D convolution with quantized input and kernel (Larq's `QuantDepthwiseConv2D`):
 * y = activation(depthwiseConv2d(inputQuantizer(x), depthwiseQuantizer(W)) + b).
 */
export class QuantDepthwiseConv2D extends quantizedLayer(
  tfjsLayerClass<typeof DepthwiseConv2D>('DepthwiseConv2D'),
  {
    className: 'QuantDepthwiseConv2D',
    kernels: FLOAT_KERNEL_SLOTS.DepthwiseConv2D,
    floatOptions: DEPTHWISE_OPTIONS,
    padValues: true,
  },
) {
  static override readonly className = 'QuantDepthwiseConv2D';
  constructor(args: QuantDepthwiseConv2DArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantDepthwiseConv2D);

/** Creates a {@link QuantDepthwiseConv2D}. */
export function quantDepthwiseConv2d(args: QuantDepthwiseConv2DArgs): QuantDepthwiseConv2D {
  return new QuantDepthwiseConv2D(args);
}

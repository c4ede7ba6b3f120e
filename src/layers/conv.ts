import type {
  Conv1D,
  Conv2D,
  Conv3D,
  ConvLayerArgs,
} from '@tensorflow/tfjs-layers/dist/layers/convolutional.js';
import type { QuantizerIdentifier } from '../quantizers/registry.js';
import { type QuantizerOptions, quantizedLayer, registerQuantizedLayer } from './base.js';
import { CONV_OPTIONS, FLOAT_KERNEL_SLOTS, tfjsLayerClass } from './float-options.js';

export interface QuantConvArgs extends ConvLayerArgs, QuantizerOptions {
  /** Quantizer of the kernel (null: float kernel). */
  kernelQuantizer?: QuantizerIdentifier;
  /**
   * Value to pad the (quantized) input with for padding 'same'. Default 0. With binary inputs,
   * 1 makes padding a valid +1 activation, which bitpacked engines compute natively.
   */
  padValues?: number;
}

function convSpec(className: string, floatClassName: string) {
  return {
    className,
    kernels: FLOAT_KERNEL_SLOTS[floatClassName],
    floatOptions: CONV_OPTIONS,
    padValues: true,
  };
}

/**
 * 1-D convolution with quantized input and kernel (Larq's `QuantConv1D`):
 * y = activation(conv1d(inputQuantizer(x), kernelQuantizer(W)) + b), input padded with padValues for 'same'.
 */
export class QuantConv1D extends quantizedLayer(
  tfjsLayerClass<typeof Conv1D>('Conv1D'),
  convSpec('QuantConv1D', 'Conv1D'),
) {
  static override readonly className = 'QuantConv1D';
  constructor(args: QuantConvArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantConv1D);

/**
 * 2-D convolution with quantized input and kernel (Larq's `QuantConv2D`):
 * y = activation(conv2d(inputQuantizer(x), kernelQuantizer(W)) + b), input padded with padValues for 'same'.
 *
 * @example lq.layers.quantConv2d({ filters: 32, kernelSize: 3, padding: 'same', padValues: 1, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign', kernelConstraint: 'weight_clip' })
 */
export class QuantConv2D extends quantizedLayer(
  tfjsLayerClass<typeof Conv2D>('Conv2D'),
  convSpec('QuantConv2D', 'Conv2D'),
) {
  static override readonly className = 'QuantConv2D';
  constructor(args: QuantConvArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantConv2D);

/**
 * 3-D convolution with quantized input and kernel (Larq's `QuantConv3D`):
 * y = activation(conv3d(inputQuantizer(x), kernelQuantizer(W)) + b), input padded with padValues for 'same'.
 */
export class QuantConv3D extends quantizedLayer(
  tfjsLayerClass<typeof Conv3D>('Conv3D'),
  convSpec('QuantConv3D', 'Conv3D'),
) {
  static override readonly className = 'QuantConv3D';
  constructor(args: QuantConvArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantConv3D);

/** Creates a {@link QuantConv1D}. */
export function quantConv1d(args: QuantConvArgs): QuantConv1D {
  return new QuantConv1D(args);
}
/** Creates a {@link QuantConv2D}. */
export function quantConv2d(args: QuantConvArgs): QuantConv2D {
  return new QuantConv2D(args);
}
/** Creates a {@link QuantConv3D}. */
export function quantConv3d(args: QuantConvArgs): QuantConv3D {
  return new QuantConv3D(args);
}

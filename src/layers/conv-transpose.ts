import type {
  Conv2DTranspose,
  Conv3DTranspose,
  ConvLayerArgs,
} from '@tensorflow/tfjs-layers/dist/layers/convolutional.js';
import type { QuantizerIdentifier } from '../quantizers/registry.js';
import { type QuantizerOptions, quantizedLayer, registerQuantizedLayer } from './base.js';
import { CONV_OPTIONS, FLOAT_KERNEL_SLOTS, tfjsLayerClass } from './float-options.js';

export interface QuantConvTransposeArgs extends ConvLayerArgs, QuantizerOptions {
  /** Quantizer of the kernel (null: float kernel). */
  kernelQuantizer?: QuantizerIdentifier;
}

function transposeSpec(className: string, floatClassName: string) {
  return {
    className,
    kernels: FLOAT_KERNEL_SLOTS[floatClassName],
    floatOptions: CONV_OPTIONS,
    padValues: false,
  };
}

/**
 * Transposed 2-D convolution with quantized input and kernel (Larq's `QuantConv2DTranspose`):
 * y = activation(conv2dTranspose(inputQuantizer(x), kernelQuantizer(W)) + b).
 */
export class QuantConv2DTranspose extends quantizedLayer(
  tfjsLayerClass<typeof Conv2DTranspose>('Conv2DTranspose'),
  transposeSpec('QuantConv2DTranspose', 'Conv2DTranspose'),
) {
  static override readonly className = 'QuantConv2DTranspose';
  constructor(args: QuantConvTransposeArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantConv2DTranspose);

/**
 * Transposed 3-D convolution with quantized input and kernel (Larq's `QuantConv3DTranspose`):
 * y = activation(conv3dTranspose(inputQuantizer(x), kernelQuantizer(W)) + b).
 */
export class QuantConv3DTranspose extends quantizedLayer(
  tfjsLayerClass<typeof Conv3DTranspose>('Conv3DTranspose'),
  transposeSpec('QuantConv3DTranspose', 'Conv3DTranspose'),
) {
  static override readonly className = 'QuantConv3DTranspose';
  constructor(args: QuantConvTransposeArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantConv3DTranspose);

/** Creates a {@link QuantConv2DTranspose}. */
export function quantConv2dTranspose(args: QuantConvTransposeArgs): QuantConv2DTranspose {
  return new QuantConv2DTranspose(args);
}
/** Creates a {@link QuantConv3DTranspose}. */
export function quantConv3dTranspose(args: QuantConvTransposeArgs): QuantConv3DTranspose {
  return new QuantConv3DTranspose(args);
}

import type { Dense, DenseLayerArgs } from '@tensorflow/tfjs-layers/dist/layers/core.js';
import type { QuantizerIdentifier } from '../quantizers/registry.js';
import { type QuantizerOptions, quantizedLayer, registerQuantizedLayer } from './base.js';
import { DENSE_OPTIONS, FLOAT_KERNEL_SLOTS, tfjsLayerClass } from './float-options.js';

export interface QuantDenseArgs extends DenseLayerArgs, QuantizerOptions {
  /** Quantizer of the kernel (null: float kernel). */
  kernelQuantizer?: QuantizerIdentifier;
}

/**
 * Densely connected layer with quantized input and kernel (Larq's `QuantDense`):
 * y = activation(inputQuantizer(x) . kernelQuantizer(W) + b).
 *
 * @example lq.layers.quantDense({ units: 64, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign', kernelConstraint: 'weight_clip', useBias: false })
 */
export class QuantDense extends quantizedLayer(tfjsLayerClass<typeof Dense>('Dense'), {
  className: 'QuantDense',
  kernels: FLOAT_KERNEL_SLOTS.Dense,
  floatOptions: DENSE_OPTIONS,
  padValues: false,
}) {
  static override readonly className = 'QuantDense';
  constructor(args: QuantDenseArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantDense);

/** Creates a {@link QuantDense}. */
export function quantDense(args: QuantDenseArgs): QuantDense {
  return new QuantDense(args);
}

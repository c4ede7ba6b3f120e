import type { QuantizerIdentifier } from '../quantizers/registry.js';
import { type QuantizerOptions, quantizedLayer, registerQuantizedLayer } from './base.js';
import { LocallyConnected1D, LocallyConnected2D, type LocallyConnectedLayerArgs } from './float/index.js';
import { FLOAT_KERNEL_SLOTS, LOCALLY_CONNECTED_OPTIONS } from './float-options.js';

export interface QuantLocallyConnectedArgs extends LocallyConnectedLayerArgs, QuantizerOptions {
  /** Quantizer of the (unshared) kernel (null: float kernel). */
  kernelQuantizer?: QuantizerIdentifier;
}

function spec(className: string, floatClassName: string) {
  return {
    className,
    kernels: FLOAT_KERNEL_SLOTS[floatClassName],
    floatOptions: LOCALLY_CONNECTED_OPTIONS,
    padValues: false,
  };
}

/**
 * 1-D locally connected layer (unshared weights per position) with quantized input and kernel
 * (Larq's `QuantLocallyConnected1D`): y[l] = activation(inputQuantizer(patch_l(x)) . kernelQuantizer(W[l]) + b[l]).
 */
export class QuantLocallyConnected1D extends quantizedLayer(
  LocallyConnected1D,
  spec('QuantLocallyConnected1D', 'LocallyConnected1D'),
) {
  static override readonly className = 'QuantLocallyConnected1D';
  constructor(args: QuantLocallyConnectedArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantLocallyConnected1D);

/**
 * 2-D locally connected layer (unshared weights per position) with quantized input and kernel
 * (Larq's `QuantLocallyConnected2D`).
 */
export class QuantLocallyConnected2D extends quantizedLayer(
  LocallyConnected2D,
  spec('QuantLocallyConnected2D', 'LocallyConnected2D'),
) {
  static override readonly className = 'QuantLocallyConnected2D';
  constructor(args: QuantLocallyConnectedArgs) {
    super(args);
  }
}
registerQuantizedLayer(QuantLocallyConnected2D);

/** Creates a {@link QuantLocallyConnected1D}. */
export function quantLocallyConnected1d(args: QuantLocallyConnectedArgs): QuantLocallyConnected1D {
  return new QuantLocallyConnected1D(args);
}
/** Creates a {@link QuantLocallyConnected2D}. */
export function quantLocallyConnected2d(args: QuantLocallyConnectedArgs): QuantLocallyConnected2D {
  return new QuantLocallyConnected2D(args);
}

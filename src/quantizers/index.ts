import { FunctionQuantizer } from './function.js';
import { registerQuantizer } from './registry.js';

export { ApproxSign } from './approx-sign.js';
export {
  clippedGradient,
  QUANTIZER_METRICS,
  Quantizer,
  type QuantizerArgs,
  withPseudoGradient,
} from './base.js';
export { DOREFA_MODES, DoReFa, type DoReFaArgs } from './dorefa.js';
export {
  FunctionQuantizer,
  type FunctionQuantizerArgs,
  precisionOf,
  type QuantizerFn,
  registerCustomQuantizer,
  setPrecision,
} from './function.js';
export { MagnitudeAwareSign, type MagnitudeAwareSignArgs } from './magnitude-aware-sign.js';
export { NoOp, type NoOpArgs } from './noop.js';
export {
  halfGaussianAlpha,
  QuantizedRelu,
  type QuantizedReluArgs,
  RELU_STES,
  type ReluSte,
} from './quantized-relu.js';
export {
  get,
  type QuantizerClass,
  type QuantizerIdentifier,
  type RegistryEntry,
  registeredQuantizers,
  registerQuantizer,
  serialize,
} from './registry.js';
export { SteHeaviside, type SteHeavisideArgs } from './ste-heaviside.js';
export { SteSign, type SteSignArgs } from './ste-sign.js';
export { SteTern, type SteTernArgs } from './ste-tern.js';
export { SwishSign, type SwishSignArgs } from './swish-sign.js';

registerQuantizer(FunctionQuantizer as unknown as Parameters<typeof registerQuantizer>[0]);

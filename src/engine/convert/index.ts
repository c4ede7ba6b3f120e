export {
  CONVERTER_VERSION,
  type ConvertOptions,
  type ConvertResult,
  convert,
  pruneGraph,
  SUPPORTED_LAYERS,
} from './convert.js';
export { type InputKind, inputKind, type KernelForm, kernelForm, type QuantizerLike } from './quantizers.js';

import './batch-normalization.js';

export {
  type KernelSlot,
  type QuantizedLayerClass,
  type QuantizedLayerMembers,
  type QuantizedLayerSpec,
  type QuantizerOptions,
  quantizedLayer,
  registeredLayers,
  registerQuantizedLayer,
  samePaddings,
} from './base.js';
export {
  QuantConv1D,
  QuantConv2D,
  QuantConv3D,
  type QuantConvArgs,
  quantConv1d,
  quantConv2d,
  quantConv3d,
} from './conv.js';
export {
  QuantConv2DTranspose,
  QuantConv3DTranspose,
  type QuantConvTransposeArgs,
  quantConv2dTranspose,
  quantConv3dTranspose,
} from './conv-transpose.js';
export { QuantDense, type QuantDenseArgs, quantDense } from './dense.js';
export { QuantDepthwiseConv2D, type QuantDepthwiseConv2DArgs, quantDepthwiseConv2d } from './depthwise.js';
export * from './float/index.js';
export { FLOAT_KERNEL_SLOTS, kernelSlotsOf } from './float-options.js';
export {
  QuantLocallyConnected1D,
  QuantLocallyConnected2D,
  type QuantLocallyConnectedArgs,
  quantLocallyConnected1d,
  quantLocallyConnected2d,
} from './locally-connected.js';
export {
  QuantSeparableConv1D,
  type QuantSeparableConv1DArgs,
  QuantSeparableConv2D,
  type QuantSeparableConvArgs,
  quantSeparableConv1d,
  quantSeparableConv2d,
} from './separable.js';

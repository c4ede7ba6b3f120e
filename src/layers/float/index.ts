export { type LocalConvGeometry, type LocalPadding, localConv2d, localOutputLength } from './local-conv.js';
export {
  LOCALLY_CONNECTED_ARG_NAMES,
  LocallyConnected1D,
  LocallyConnected2D,
  LocallyConnectedBase,
  type LocallyConnectedLayerArgs,
  locallyConnected1d,
  locallyConnected2d,
} from './locally-connected.js';
export {
  convOutputLength,
  SEPARABLE_CONV1D_ARG_NAMES,
  SeparableConv1D,
  type SeparableConv1DLayerArgs,
  type SeparablePadding,
  separableConv1d,
} from './separable-conv1d.js';

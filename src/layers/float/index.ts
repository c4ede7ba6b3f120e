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

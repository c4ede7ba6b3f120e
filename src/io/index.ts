export {
  type LayerConfigRoundTrip,
  layerConfigRoundTrip,
  type SerializedLayer,
} from './config-round-trip.js';
export { FileSystemHandler, type FileSystemSaveResult, fileSystem } from './file-system.js';
export {
  MAX_MODEL_JSON_BYTES,
  MODEL_JSON,
  parseModelJson,
  QUANTIZED_DTYPE_BYTES,
  shapeSize,
  type ValidatedGroup,
  type ValidatedModelJson,
  validateModelJson,
  validateWeightPath,
  validateWeightSpec,
  validateWeightSpecs,
  WEIGHT_DTYPE_BYTES,
  WEIGHTS_BIN,
  weightDataByteLength,
} from './format.js';
export { loadModel, saveModel } from './model-io.js';
export { isNode } from './node.js';
export { FILE_SCHEME, fileLoadRouter, fileSaveRouter, registerFileRouters } from './router.js';

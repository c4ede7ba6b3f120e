export { type Evaluation, evaluateModel } from './evaluate.js';
export { FusedAdamOptimizer } from './fused-adam.js';
export { type RecalibratedLayer, type RecalibrateOptions, recalibrateBatchNorm } from './recalibrate.js';
export {
  checkSplit,
  type EpochLog,
  epochOrder,
  epochSeed,
  larqAdam,
  type TrainCallbacks,
  type TrainOptions,
  type TrainResult,
  trainModel,
} from './train.js';

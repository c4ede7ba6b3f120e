import './install.js';

export {
  FlipRatioLogger,
  logFlipRatiosDuringFit,
  stopLoggingFlipRatios,
  type TrackedKernel,
  trackedKernels,
} from './fit-logging.js';
export { FlipRatio, type FlipRatioArgs } from './flip-ratio.js';

import './install.js';

export { ADAM_UPDATE, type AdamUpdateAttrs, fusedAdamAvailable } from './adam-kernel.js';
export { binaryConvStats, resetBinaryConvStats, setBinaryConvEnabled } from './binary-conv-kernels.js';
export { CLIPPED_GRADIENT, fusedClippedGradient } from './elementwise-kernels.js';
export {
  applyConstraints,
  enforceConstraintsDuringFit,
  stopEnforcingConstraintsDuringFit,
} from './fit-constraints.js';
export {
  originalGradient,
  registerMissingGradients,
  replaceCumsumGradient,
  replaceFusedBatchNormGradient,
  replaceProdGradient,
} from './gradients.js';
export { heapKernels } from './heap-kernels.js';
export {
  isLowbitKernel,
  kernelsMissing,
  originalKernelFunc,
  restoreOriginalKernel,
} from './kernel-registry.js';
export {
  CPU_OVERRIDES,
  FUSED_KERNELS,
  installCpuOverrides,
  installWasmOverrides,
  registerFusedKernels,
  registerTrainingKernels,
  TRAINING_KERNELS,
  WASM_OVERRIDES,
} from './register.js';
export {
  BACKEND_PREFERENCE,
  type BackendInfo,
  backendInfo,
  chooseBackend,
  registeredBackends,
  setBackend,
  useFastestBackend,
} from './select.js';

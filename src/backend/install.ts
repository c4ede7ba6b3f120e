/**
 * Side effects of importing lowbit's backend module: registers the missing training kernels, the wasm
 * overrides and the fit-constraints fix. Idempotent and silent (safe to import twice).
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { enforceConstraintsDuringFit } from './fit-constraints.js';
import {
  registerMissingGradients,
  replaceCumsumGradient,
  replaceFusedBatchNormGradient,
  replaceProdGradient,
} from './gradients.js';
import { installAll } from './register.js';

installAll();
registerMissingGradients();
replaceProdGradient();
replaceCumsumGradient();
replaceFusedBatchNormGradient();
enforceConstraintsDuringFit();

export { Bop, type BopArgs } from './bop.js';
export {
  CaseOptimizer,
  type CaseOptimizerArgs,
  deserializeOptimizer,
  type PredicateOptimizerPair,
} from './case-optimizer.js';
export {
  getPredicate,
  isBinaryVariable,
  predicateName,
  registeredPredicates,
  registerPredicate,
  type VariablePredicate,
} from './predicates.js';
export {
  CosineDecay,
  type CosineDecayArgs,
  checkHyperparameter,
  deserializeHyperparameter,
  ExponentialDecay,
  type ExponentialDecayArgs,
  type Hyperparameter,
  hyperparameterAt,
  InverseTimeDecay,
  type InverseTimeDecayArgs,
  PiecewiseConstant,
  type PiecewiseConstantArgs,
  Schedule,
  type ScheduleFn,
  serializeHyperparameter,
} from './schedules.js';

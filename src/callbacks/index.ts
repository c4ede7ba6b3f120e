export {
  type HyperparameterSchedule,
  HyperparameterScheduler,
  type HyperparameterSchedulerArgs,
} from './hyperparameter-scheduler.js';

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '../errors.js';
import { hyperparameterAt, Schedule } from '../optimizers/schedules.js';
import { any, checkOptions, oneOf } from '../util/options.js';

/** A schedule for {@link HyperparameterScheduler}: `(t, current) => value` (t: epoch or global step), or a Schedule. */
export type HyperparameterSchedule = ((t: number, current: number) => number) | Schedule;

/** Options of {@link HyperparameterScheduler}. */
export interface HyperparameterSchedulerArgs {
  /** The new value at t (the epoch index from 0, or the optimizer's global step): a function or a Schedule. */
  schedule: HyperparameterSchedule;
  /** The optimizer attribute to set, e.g. 'gamma' or 'threshold' (Bop), 'learningRate' (tfjs optimizers). */
  hyperparameter: string;
  /** The optimizer holding it, e.g. a Bop inside a CaseOptimizer. Default: the model's optimizer. */
  optimizer?: tf.Optimizer;
  /** Update at every epoch start ('epoch', default) or before every training step ('step'). */
  updateFreq?: 'epoch' | 'step';
  /** 0: quiet (default); 1: print each change through `printFn`. */
  verbose?: 0 | 1;
  /** The key in the epoch logs (history). Default: `hyperparameter`. */
  logName?: string;
  /** Where verbose messages go. Default console.log. */
  printFn?: (message: string) => void;
}

const hasSetter = (target: object, key: string): boolean => {
  for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return d.set !== undefined || d.writable === true;
  }
  return false;
};

/**
 * Sets an optimizer hyperparameter from a schedule during `model.fit` (Larq's
 * `HyperparameterScheduler`): optimizer[hyperparameter] = schedule(t, current) at every epoch
 * start (t = epoch index, from 0) or before every step (t = the optimizer's `iterations`, the
 * global step), and writes the value into each epoch's logs, so `fit`'s history has it.
 *
 * When the optimizer has a setter method `set<Hyperparameter>` (tfjs SGD and Momentum keep the
 * learning rate in a tensor set by `setLearningRate`), that method is used; otherwise the attribute
 * is assigned (Adam, RMSProp, ... read `learningRate` at each step; Bop reads gamma and threshold).
 *
 * @example
 * const bop = new lq.optimizers.Bop({ threshold: 1e-6, gamma: 1e-3 });
 * const optimizer = new lq.optimizers.CaseOptimizer([[lq.optimizers.isBinaryVariable, bop]], tf.train.adam(0.01));
 * const scheduler = new lq.callbacks.HyperparameterScheduler({
 *   schedule: (epoch) => 1e-3 * 0.1 ** Math.floor(epoch / 30), hyperparameter: 'gamma', optimizer: bop,
 * });
 * await model.fit(x, y, { epochs: 90, callbacks: [scheduler] });
 */
export class HyperparameterScheduler extends tfl.Callback {
  readonly schedule: HyperparameterSchedule;
  readonly hyperparameter: string;
  readonly updateFreq: 'epoch' | 'step';
  readonly verbose: 0 | 1;
  readonly logName: string;
  /** The optimizer being scheduled (the model's, once training starts, when none was given). */
  optimizer: tf.Optimizer | null;
  private readonly printFn: (message: string) => void;

  constructor(args: HyperparameterSchedulerArgs) {
    super();
    checkOptions('HyperparameterScheduler', args, {
      schedule: {
        check: (v) => typeof v === 'function' || v instanceof Schedule,
        expected: 'a function (t, current) => number or a Schedule',
      },
      hyperparameter: { check: (v) => typeof v === 'string' && v.length > 0, expected: 'a non-empty string' },
      optimizer: { check: (v) => v == null || v instanceof tf.Optimizer, expected: 'a tf.Optimizer' },
      updateFreq: oneOf(['epoch', 'step']),
      verbose: oneOf([0, 1]),
      logName: { check: (v) => typeof v === 'string' && v.length > 0, expected: 'a non-empty string' },
      printFn: { check: (v) => typeof v === 'function', expected: 'a function' },
      customObjects: any,
    });
    for (const key of ['schedule', 'hyperparameter'] as const) {
      if (args?.[key] === undefined) {
        throw new ConfigError({
          where: `HyperparameterScheduler option ${key}`,
          received: undefined,
          expected: 'a value (required)',
        });
      }
    }
    this.schedule = args.schedule;
    this.hyperparameter = args.hyperparameter;
    this.updateFreq = args.updateFreq ?? 'epoch';
    this.verbose = args.verbose ?? 0;
    this.logName = args.logName ?? args.hyperparameter;
    this.printFn = args.printFn ?? ((m) => console.log(m));
    this.optimizer = args.optimizer ?? null;
    if (this.optimizer) this.check(this.optimizer);
  }

  private check(optimizer: tf.Optimizer): void {
    const where = `HyperparameterScheduler option hyperparameter (${optimizer.getClassName()})`;
    const current = (optimizer as unknown as Record<string, unknown>)[this.hyperparameter];
    const settable =
      typeof (optimizer as unknown as Record<string, unknown>)[this.setterName()] === 'function';
    const valid =
      (typeof current === 'number' || current instanceof Schedule || typeof current === 'function') &&
      (settable || hasSetter(optimizer, this.hyperparameter));
    if (!(this.hyperparameter in optimizer) || !valid) {
      const names = new Set<string>();
      for (
        let o: object | null = optimizer;
        o !== null && o !== Object.prototype;
        o = Object.getPrototypeOf(o)
      ) {
        for (const k of Object.getOwnPropertyNames(o)) {
          const v = (optimizer as unknown as Record<string, unknown>)[k];
          if (typeof v === 'number' && !k.endsWith('_') && hasSetter(optimizer, k)) names.add(k);
        }
      }
      for (const k of ['gamma', 'threshold'] as const) if (k in optimizer) names.add(k);
      throw new ConfigError({
        where,
        received: this.hyperparameter,
        expected:
          names.size > 0
            ? [...names].sort()
            : `an attribute holding a number or schedule; ${optimizer.getClassName()} has none (schedule one of its optimizers instead, e.g. caseOptimizer.optimizers[0])`,
      });
    }
  }

  private setterName(): string {
    return `set${this.hyperparameter[0].toUpperCase()}${this.hyperparameter.slice(1)}`;
  }

  override setModel(model: tfl.LayersModel): void {
    super.setModel(model);
    if (this.optimizer === null) {
      if (!model.optimizer) {
        throw new ConfigError({
          where: 'HyperparameterScheduler',
          received: 'a model without an optimizer',
          expected: 'a compiled model, or the optimizer option',
        });
      }
      this.optimizer = model.optimizer;
    }
    this.check(this.optimizer);
  }

  /** The hyperparameter's current value (a schedule-valued one, e.g. Bop's gamma, at the optimizer's step). */
  current(): number {
    const optimizer = this.requireOptimizer();
    const value = (optimizer as unknown as Record<string, unknown>)[this.hyperparameter];
    return typeof value === 'number'
      ? value
      : hyperparameterAt(
          value as Schedule,
          optimizer.iterations,
          `${optimizer.getClassName()} ${this.hyperparameter}`,
        );
  }

  private requireOptimizer(): tf.Optimizer {
    if (!this.optimizer) {
      throw new ConfigError({
        where: 'HyperparameterScheduler',
        received: null,
        expected: 'an optimizer (set when training starts)',
      });
    }
    return this.optimizer;
  }

  /** Sets the hyperparameter to the schedule's value at `t` and returns it. */
  setHyperparameter(t: number): number {
    const optimizer = this.requireOptimizer();
    const value =
      this.schedule instanceof Schedule ? this.schedule.value(t) : this.schedule(t, this.current());
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ConfigError({
        where: `HyperparameterScheduler schedule at ${this.updateFreq} ${t}`,
        received: value,
        expected: 'a finite number',
      });
    }
    const o = optimizer as unknown as Record<string, unknown>;
    const setter = o[this.setterName()];
    if (typeof setter === 'function') setter.call(optimizer, value);
    else o[this.hyperparameter] = value;
    return value;
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    if (this.updateFreq !== 'epoch') return;
    const value = this.setHyperparameter(epoch);
    if (this.verbose > 0) this.printFn(`Epoch ${epoch}: ${this.logName} is now ${value}.`);
  }

  override async onBatchBegin(): Promise<void> {
    if (this.updateFreq !== 'step') return;
    // The global step, not the batch index within the epoch (as Larq).
    const step = this.requireOptimizer().iterations;
    const value = this.setHyperparameter(step);
    if (this.verbose > 0) this.printFn(`Batch ${step}: ${this.logName} is now ${value}.`);
  }

  override async onEpochEnd(_epoch: number, logs?: tfl.Logs): Promise<void> {
    if (logs) logs[this.logName] = this.current();
  }
}

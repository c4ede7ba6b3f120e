import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { boolean, checkOptions, nullable, number, type OptionSpec, positiveNumber } from '../util/options.js';

/**
 * A serializable schedule of the training step (Keras' `LearningRateSchedule`): `value(step)`
 * gives the hyperparameter at optimizer step `step` (0 for the first update).
 *
 * Subclasses register themselves with `tf.serialization.registerClass`, so an optimizer using one
 * can be saved with the model and loaded back.
 */
export abstract class Schedule extends tf.serialization.Serializable {
  /** The scheduled value at `step`. */
  abstract value(step: number): number;
}

/** A hyperparameter's function of the step; not serializable (use a {@link Schedule} to save it). */
export type ScheduleFn = (step: number) => number;

/** A hyperparameter: a constant, a {@link Schedule} (serializable) or a function of the step. */
export type Hyperparameter = number | Schedule | ScheduleFn;

const nonNegative: OptionSpec = {
  check: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
  expected: 'a finite number >= 0',
};
const IGNORED = { customObjects: { check: () => true, expected: 'any value' } };

/** Options of {@link ExponentialDecay}. */
export interface ExponentialDecayArgs {
  /** The value at step 0. */
  initialValue: number;
  /** Steps over which the value is multiplied by `decayRate` (> 0). */
  decaySteps: number;
  /** Factor applied every `decaySteps` steps (>= 0). */
  decayRate: number;
  /** If true, decay in discrete intervals: the exponent is floor(step / decaySteps). Default false. */
  staircase?: boolean;
}

/**
 * Exponential decay (Keras' `ExponentialDecay`):
 * value(step) = initialValue * decayRate ^ (step / decaySteps), with the exponent floored when
 * `staircase` is set.
 *
 * @example
 * new lq.optimizers.Bop({ gamma: new lq.optimizers.ExponentialDecay({ initialValue: 1e-3, decaySteps: 100, decayRate: 0.1 }) });
 */
export class ExponentialDecay extends Schedule {
  static readonly className = 'ExponentialDecay';
  readonly initialValue: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;

  constructor(args: ExponentialDecayArgs) {
    super();
    checkOptions('ExponentialDecay', args, {
      initialValue: number,
      decaySteps: positiveNumber,
      decayRate: nonNegative,
      staircase: boolean,
      ...IGNORED,
    });
    requireKeys('ExponentialDecay', args, ['initialValue', 'decaySteps', 'decayRate']);
    this.initialValue = args.initialValue;
    this.decaySteps = args.decaySteps;
    this.decayRate = args.decayRate;
    this.staircase = args.staircase ?? false;
  }

  value(step: number): number {
    const p = step / this.decaySteps;
    return this.initialValue * this.decayRate ** (this.staircase ? Math.floor(p) : p);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      initialValue: this.initialValue,
      decaySteps: this.decaySteps,
      decayRate: this.decayRate,
      staircase: this.staircase,
    };
  }
}
tf.serialization.registerClass(ExponentialDecay);

/** Options of {@link InverseTimeDecay}. */
export type InverseTimeDecayArgs = ExponentialDecayArgs;

/**
 * Inverse time decay (Keras' `InverseTimeDecay`, used in Larq's Bop tests):
 * value(step) = initialValue / (1 + decayRate * step / decaySteps), with step / decaySteps floored
 * when `staircase` is set.
 */
export class InverseTimeDecay extends Schedule {
  static readonly className = 'InverseTimeDecay';
  readonly initialValue: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;

  constructor(args: InverseTimeDecayArgs) {
    super();
    checkOptions('InverseTimeDecay', args, {
      initialValue: number,
      decaySteps: positiveNumber,
      decayRate: nonNegative,
      staircase: boolean,
      ...IGNORED,
    });
    requireKeys('InverseTimeDecay', args, ['initialValue', 'decaySteps', 'decayRate']);
    this.initialValue = args.initialValue;
    this.decaySteps = args.decaySteps;
    this.decayRate = args.decayRate;
    this.staircase = args.staircase ?? false;
  }

  value(step: number): number {
    const p = step / this.decaySteps;
    return this.initialValue / (1 + this.decayRate * (this.staircase ? Math.floor(p) : p));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      initialValue: this.initialValue,
      decaySteps: this.decaySteps,
      decayRate: this.decayRate,
      staircase: this.staircase,
    };
  }
}
tf.serialization.registerClass(InverseTimeDecay);

/** Options of {@link PiecewiseConstant}. */
export interface PiecewiseConstantArgs {
  /** Increasing step boundaries. */
  boundaries: number[];
  /** One more value than boundaries. */
  values: number[];
}

/**
 * Piecewise constant (Keras' `PiecewiseConstantDecay`): values[0] for step <= boundaries[0],
 * values[i] for boundaries[i-1] < step <= boundaries[i], and the last value after the last
 * boundary.
 *
 * @example
 * new lq.optimizers.PiecewiseConstant({ boundaries: [100, 200], values: [1e-3, 1e-4, 1e-5] });
 */
export class PiecewiseConstant extends Schedule {
  static readonly className = 'PiecewiseConstant';
  readonly boundaries: readonly number[];
  readonly values: readonly number[];

  constructor(args: PiecewiseConstantArgs) {
    super();
    const numbers: OptionSpec = {
      check: (v) => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)),
      expected: 'an array of finite numbers',
    };
    checkOptions('PiecewiseConstant', args, { boundaries: numbers, values: numbers, ...IGNORED });
    requireKeys('PiecewiseConstant', args, ['boundaries', 'values']);
    if (args.values.length !== args.boundaries.length + 1) {
      throw new ConfigError({
        where: 'PiecewiseConstant option values',
        received: args.values,
        expected: `an array of ${args.boundaries.length + 1} values (one more than the ${args.boundaries.length} boundaries)`,
      });
    }
    for (let i = 1; i < args.boundaries.length; i++) {
      if (!(args.boundaries[i] > args.boundaries[i - 1])) {
        throw new ConfigError({
          where: 'PiecewiseConstant option boundaries',
          received: args.boundaries.join(', '),
          expected: 'strictly increasing step boundaries',
        });
      }
    }
    this.boundaries = [...args.boundaries];
    this.values = [...args.values];
  }

  value(step: number): number {
    let i = 0;
    while (i < this.boundaries.length && step > this.boundaries[i]) i++;
    return this.values[i];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { boundaries: [...this.boundaries], values: [...this.values] };
  }
}
tf.serialization.registerClass(PiecewiseConstant);

/** Options of {@link CosineDecay}. */
export interface CosineDecayArgs {
  /** The value at step 0. */
  initialValue: number;
  /** Steps over which to decay (> 0). */
  decaySteps: number;
  /** Floor of the decay, as a fraction of `initialValue`. Default 0. */
  alpha?: number;
}

/**
 * Cosine decay (Keras' `CosineDecay`, Loshchilov & Hutter, SGDR, ICLR 2017):
 * value(step) = initialValue * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decaySteps) / decaySteps)) + alpha).
 */
export class CosineDecay extends Schedule {
  static readonly className = 'CosineDecay';
  readonly initialValue: number;
  readonly decaySteps: number;
  readonly alpha: number;

  constructor(args: CosineDecayArgs) {
    super();
    checkOptions('CosineDecay', args, {
      initialValue: number,
      decaySteps: positiveNumber,
      alpha: nullable(number),
      ...IGNORED,
    });
    requireKeys('CosineDecay', args, ['initialValue', 'decaySteps']);
    this.initialValue = args.initialValue;
    this.decaySteps = args.decaySteps;
    this.alpha = args.alpha ?? 0;
  }

  value(step: number): number {
    const t = Math.min(step, this.decaySteps) / this.decaySteps;
    const cosine = 0.5 * (1 + Math.cos(Math.PI * t));
    return this.initialValue * ((1 - this.alpha) * cosine + this.alpha);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { initialValue: this.initialValue, decaySteps: this.decaySteps, alpha: this.alpha };
  }
}
tf.serialization.registerClass(CosineDecay);

function requireKeys(where: string, args: object, keys: readonly string[]): void {
  for (const key of keys) {
    if ((args as Record<string, unknown>)[key] === undefined) {
      throw new ConfigError({
        where: `${where} option ${key}`,
        received: undefined,
        expected: 'a value (required)',
      });
    }
  }
}

/** Checks that `h` is a hyperparameter (finite number, Schedule or function); throws a ConfigError naming `where`. */
export function checkHyperparameter(h: unknown, where: string): Hyperparameter {
  if (typeof h === 'number' && Number.isFinite(h)) return h;
  if (h instanceof Schedule || typeof h === 'function') return h as Hyperparameter;
  throw new ConfigError({
    where,
    received: h,
    expected: 'a finite number, a Schedule (e.g. ExponentialDecay) or a function (step: number) => number',
  });
}

/** The value of a hyperparameter at `step`; a schedule giving a non-finite number is an error. */
export function hyperparameterAt(h: Hyperparameter, step: number, where: string): number {
  const value = typeof h === 'number' ? h : h instanceof Schedule ? h.value(step) : h(step);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ConfigError({
      where: `${where} at step ${step}`,
      received: value,
      expected: 'a finite number',
    });
  }
  return value;
}

/** Serializes a hyperparameter: a number as is, a Schedule as `{ className, config }`; a function cannot be saved. */
export function serializeHyperparameter(
  h: Hyperparameter,
  where: string,
): number | tf.serialization.ConfigDict {
  if (typeof h === 'number') return h;
  if (h instanceof Schedule) return { className: h.getClassName(), config: h.getConfig() };
  throw new ConfigError({
    where: `${where} (serializing)`,
    received: h,
    expected:
      'a number or a serializable Schedule (ExponentialDecay, InverseTimeDecay, PiecewiseConstant, CosineDecay or a registered subclass); a plain function cannot be saved',
  });
}

/** Reads back what {@link serializeHyperparameter} wrote. */
export function deserializeHyperparameter(value: unknown, where: string): Hyperparameter {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { className?: unknown }).className === 'string'
  ) {
    const { className, config } = value as { className: string; config?: tf.serialization.ConfigDict };
    const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
    if (entry) {
      const schedule = entry[1](entry[0], { ...(config ?? {}) });
      if (schedule instanceof Schedule) return schedule;
    }
    const known = Object.entries(tf.serialization.SerializationMap.getMap().classNameMap)
      .filter(([, [cls]]) => (cls as unknown as { prototype: unknown }).prototype instanceof Schedule)
      .map(([name]) => name);
    throw new ConfigError({ where: `${where} className`, received: className, expected: known });
  }
  throw new ConfigError({
    where,
    received: value,
    expected: 'a finite number or a schedule config { className, config }',
  });
}

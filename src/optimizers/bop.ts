import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '@tensorflow/tfjs-core/dist/tensor_types.js';
import { getVariablePrecision } from '../context/precision.js';
import { ConfigError } from '../errors.js';
import { any, checkOptions, type OptionSpec } from '../util/options.js';
import { isBinaryVariable } from './predicates.js';
import {
  checkHyperparameter,
  deserializeHyperparameter,
  type Hyperparameter,
  hyperparameterAt,
  serializeHyperparameter,
} from './schedules.js';

/** Options of {@link Bop}. */
export interface BopArgs {
  /** Magnitude of the averaged gradient signal needed to flip a weight: a number or a schedule of the step. Default 1e-8. */
  threshold?: Hyperparameter;
  /** Adaptivity rate of the gradient's exponential moving average: a number or a schedule of the step. Default 1e-4. */
  gamma?: Hyperparameter;
  /** Name of the optimizer. Default 'Bop'. */
  name?: string;
}

/** One named gradient, as tfjs passes them to `applyGradients`. */
export type NamedGradient = [name: string, gradient: tf.Tensor | null];

/** The (name, gradient) pairs of `applyGradients`' argument, in order (a map or a NamedTensor list). */
export function namedGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): NamedGradient[] {
  if (Array.isArray(variableGradients)) return variableGradients.map((g) => [g.name, g.tensor ?? null]);
  return Object.entries(variableGradients).map(([name, g]) => [name, g ?? null]);
}

/** The tf.Variable registered under `name`, or a ConfigError naming `where`. */
export function registeredVariable(name: string, where: string): tf.Variable {
  const variable = tf.engine().registeredVariables[name];
  if (variable === undefined) {
    throw new ConfigError({ where, received: name, expected: 'the name of a registered tf.Variable' });
  }
  return variable;
}

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

const BOP_OPTIONS: Record<string, OptionSpec> = {
  threshold: any,
  gamma: any,
  name: { check: (v) => typeof v === 'string', expected: 'a string' },
  // tfjs adds this key to every config it deserializes.
  customObjects: any,
};

/**
 * Binary optimizer (Bop; Helwegen et al., "Latent Weights Do Not Exist: Rethinking Binarized Neural
 * Network Optimization", NeurIPS 2019), as in Larq.
 *
 * Bop trains binary weights directly, with no latent weights. For each weight it keeps an exponential
 * moving average of the gradient and flips the weight when that average pushes strongly enough
 * against it:
 *
 *     m <- m + gamma (g - m)
 *     w <- -sign(w)   where w m > threshold
 *     w <-  sign(w)   otherwise            (sign(0) = +1, as lq.math.sign)
 *
 * gamma and threshold may be schedules of the step (the step is `iterations` before the update, 0
 * first). Bop only trains binary variables (precision 1, e.g. kernels quantized by `ste_sign`):
 * a variable of any other precision is an error naming it (Larq would silently binarize it); use
 * {@link CaseOptimizer} to train the other variables with another optimizer.
 *
 * Its state (m per variable, in the order tfjs passes the variables, like tfjs's own optimizers)
 * is saved by `getWeights` (names `<variable>/m`) so `model.save(..., { includeOptimizer: true })`
 * round-trips.
 *
 * @example
 * const optimizer = new lq.optimizers.CaseOptimizer(
 *   [[lq.optimizers.Bop.isBinaryVariable, new lq.optimizers.Bop({ threshold: 1e-6, gamma: 1e-3 })]],
 *   tf.train.adam(0.01),
 * );
 * model.compile({ optimizer, loss: 'categoricalCrossentropy' });
 */
export class Bop extends tf.Optimizer {
  static readonly className = 'Bop';

  /** The predicate selecting the variables Bop can train: precision 1. */
  static readonly isBinaryVariable = isBinaryVariable;

  /** Flip threshold (number or schedule of the step); may be changed between steps. */
  threshold: Hyperparameter;
  /** Moving-average rate (number or schedule of the step); may be changed between steps. */
  gamma: Hyperparameter;
  readonly name: string;
  private moments: Slot[] = [];

  constructor(args: BopArgs = {}) {
    super();
    checkOptions('Bop', args, BOP_OPTIONS);
    this.threshold = checkHyperparameter(args.threshold ?? 1e-8, 'Bop option threshold');
    this.gamma = checkHyperparameter(args.gamma ?? 1e-4, 'Bop option gamma');
    this.name = args.name ?? 'Bop';
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const gradients = namedGradients(variableGradients);
    // Check everything before changing anything: a refused step leaves the model untouched.
    const variables = gradients.map(([name]) => {
      const variable = registeredVariable(name, `${this.name}.applyGradients variable`);
      const precision = getVariablePrecision(name);
      if (precision !== 1) {
        throw new ConfigError({
          where: `${this.name}: precision of variable '${name}'`,
          received: precision,
          expected:
            '1 (Bop trains binary variables only, e.g. kernels quantized by ste_sign); train the other variables with another optimizer through CaseOptimizer([[Bop.isBinaryVariable, bop]], defaultOptimizer)',
        });
      }
      return variable;
    });
    const step = this.iterations;
    const gamma = hyperparameterAt(this.gamma, step, `${this.name} gamma`);
    const threshold = hyperparameterAt(this.threshold, step, `${this.name} threshold`);
    tf.tidy(() => {
      gradients.forEach(([name, gradient], i) => {
        const w = variables[i];
        this.moments[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(w).variable(false)),
        };
        if (gradient === null) return;
        const m = this.moments[i].variable;
        const mNew = tf.add(m, tf.mul(gamma, tf.sub(gradient, m)));
        m.assign(mNew);
        const sign = tf.where(tf.greaterEqual(w, 0), tf.onesLike(w), tf.neg(tf.onesLike(w)));
        const flip = tf.greater(tf.mul(w, mNew), threshold);
        w.assign(tf.where(flip, tf.neg(sign), sign));
      });
    });
    this.incrementIterations();
  }

  override dispose(): void {
    tf.dispose(this.moments.map((s) => s.variable));
    this.moments = [];
  }

  override async getWeights(): Promise<NamedTensor[]> {
    return [
      await this.saveIterations(),
      ...this.moments.map((s) => ({ name: s.originalName, tensor: s.variable })),
    ];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    tf.dispose(this.moments.map((s) => s.variable));
    this.moments = rest.map((w) => ({ originalName: w.name, variable: w.tensor.variable(false) }));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      threshold: serializeHyperparameter(this.threshold, `${this.name} threshold`),
      gamma: serializeHyperparameter(this.gamma, `${this.name} gamma`),
      name: this.name,
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    checkOptions('Bop config', config, BOP_OPTIONS);
    const args: BopArgs = {};
    if (config.threshold !== undefined)
      args.threshold = deserializeHyperparameter(config.threshold, 'Bop config threshold');
    if (config.gamma !== undefined) args.gamma = deserializeHyperparameter(config.gamma, 'Bop config gamma');
    if (config.name !== undefined) args.name = config.name as string;
    return new (cls as unknown as new (a: BopArgs) => T)(args);
  }
}
tf.serialization.registerClass(Bop);

import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '@tensorflow/tfjs-core/dist/tensor_types.js';
import { ConfigError, describe, FormatError } from '../errors.js';
import { warn } from '../util/log.js';
import { any, checkOptions } from '../util/options.js';
import { namedGradients, registeredVariable } from './bop.js';
import { getPredicate, predicateName, registeredPredicates, type VariablePredicate } from './predicates.js';

/** A predicate (function, or the name of a registered predicate such as 'is_binary_variable') and its optimizer. */
export type PredicateOptimizerPair = readonly [
  predicate: VariablePredicate | string,
  optimizer: tf.Optimizer,
];

/** Options of {@link CaseOptimizer} besides the pairs and the default optimizer. */
export interface CaseOptimizerArgs {
  /** Name of the optimizer. Default 'optimizer_case' (Larq's). */
  name?: string;
}

function isOptimizer(value: unknown): value is tf.Optimizer {
  // tf.Optimizer's instanceof is duck-typed (minimize, computeGradients, applyGradients).
  return typeof value === 'object' && value !== null && value instanceof tf.Optimizer;
}

function optimizerLabel(optimizer: tf.Optimizer, index: number): string {
  return `optimizer ${index} (${optimizer.getClassName?.() ?? describe(optimizer)})`;
}

/** Builds an optimizer from `{ className, config }` through tfjs's serialization registry. */
export function deserializeOptimizer(value: unknown, where: string): tf.Optimizer {
  const map = tf.serialization.SerializationMap.getMap().classNameMap;
  const className = (value as { className?: unknown } | null)?.className;
  if (typeof className !== 'string') {
    throw new ConfigError({ where, received: value, expected: 'an optimizer config { className, config }' });
  }
  const entry = map[className];
  const known = () =>
    Object.entries(map)
      .filter(([, [cls]]) => (cls as unknown as { prototype: unknown }).prototype instanceof tf.Optimizer)
      .map(([name]) => name);
  if (!entry) throw new ConfigError({ where: `${where} className`, received: className, expected: known() });
  const config = { ...((value as { config?: tf.serialization.ConfigDict }).config ?? {}) };
  const optimizer = entry[1](entry[0], config);
  if (!isOptimizer(optimizer))
    throw new ConfigError({ where: `${where} className`, received: className, expected: known() });
  return optimizer;
}

/**
 * An optimizer that routes each variable to one of several optimizers (Larq's `CaseOptimizer`,
 * modelled on `tf.case`).
 *
 * Each variable is trained by the optimizer whose predicate accepts it, or by `defaultOptimizer`
 * when none does. A variable accepted by two predicates is an error; with no default optimizer, an
 * unclaimed variable gets a warning and is not trained; an optimizer whose predicate claims no
 * variable is an error. The routing is decided once per variable, on its first update.
 *
 * Every sub-optimizer is called on each step (with its own variables, possibly none), so their
 * `iterations` equal the global step and step schedules agree.
 *
 * Serializable when every predicate is registered (see {@link registerPredicate}; `isBinaryVariable`
 * is, as 'is_binary_variable') and every optimizer is (tfjs's and lowbit's are): `getConfig` stores
 * predicates by name, and the optimizers' state is saved by `getWeights` under `optimizer_<i>/...`.
 *
 * @example
 * const bop = new lq.optimizers.Bop({ threshold: 1e-6, gamma: 1e-3 });
 * const optimizer = new lq.optimizers.CaseOptimizer([[lq.optimizers.isBinaryVariable, bop]], tf.train.adam(0.01));
 * model.compile({ optimizer, loss: 'binaryCrossentropy', metrics: ['accuracy'] });
 */
export class CaseOptimizer extends tf.Optimizer {
  static readonly className = 'CaseOptimizer';

  /** The (predicate, optimizer) pairs, in order. */
  readonly pairs: ReadonlyArray<readonly [VariablePredicate, tf.Optimizer]>;
  /** The optimizer of unclaimed variables, or null (they are not trained). */
  readonly defaultOptimizer: tf.Optimizer | null;
  /** The pairs' optimizers followed by the default optimizer (if any). */
  readonly optimizers: readonly tf.Optimizer[];
  readonly name: string;
  /** Variable name -> index in `optimizers`, or null when not trained. */
  private readonly routes = new Map<string, number | null>();

  constructor(
    pairs: readonly PredicateOptimizerPair[],
    defaultOptimizer: tf.Optimizer | null = null,
    args: CaseOptimizerArgs = {},
  ) {
    super();
    checkOptions('CaseOptimizer', args, {
      name: { check: (v) => typeof v === 'string', expected: 'a string' },
    });
    if (!Array.isArray(pairs)) {
      throw new ConfigError({
        where: 'CaseOptimizer pairs',
        received: pairs,
        expected: 'an array of [predicate, optimizer] pairs',
      });
    }
    this.pairs = pairs.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new ConfigError({
          where: `CaseOptimizer pairs[${i}]`,
          received: pair,
          expected: 'a [predicate, optimizer] pair',
        });
      }
      const [p, optimizer] = pair as [unknown, unknown];
      let predicate: VariablePredicate;
      if (typeof p === 'function') predicate = p as VariablePredicate;
      else if (typeof p === 'string') predicate = getPredicate(p, `CaseOptimizer pairs[${i}][0]`);
      else {
        throw new ConfigError({
          where: `CaseOptimizer pairs[${i}][0]`,
          received: p,
          expected: `a predicate function (variable: tf.Variable) => boolean or a registered predicate name (${registeredPredicates().join(', ')})`,
        });
      }
      if (!isOptimizer(optimizer)) {
        throw new ConfigError({
          where: `CaseOptimizer pairs[${i}][1]`,
          received: optimizer,
          expected: 'a tf.Optimizer',
        });
      }
      return [predicate, optimizer] as const;
    });
    if (defaultOptimizer !== null && defaultOptimizer !== undefined && !isOptimizer(defaultOptimizer)) {
      throw new ConfigError({
        where: 'CaseOptimizer defaultOptimizer',
        received: defaultOptimizer,
        expected: 'a tf.Optimizer or null',
      });
    }
    this.defaultOptimizer = defaultOptimizer ?? null;
    this.optimizers = [
      ...this.pairs.map(([, o]) => o),
      ...(this.defaultOptimizer ? [this.defaultOptimizer] : []),
    ];
    this.name = args.name ?? 'optimizer_case';
  }

  /** The index in `optimizers` that trains `name` (null: not trained), deciding it on first sight. */
  private route(name: string): number | null {
    const known = this.routes.get(name);
    if (known !== undefined) return known;
    const variable = registeredVariable(name, `${this.name}.applyGradients variable`);
    const claims = this.pairs.flatMap(([predicate], i) => (predicate(variable) ? [i] : []));
    if (claims.length > 1) {
      throw new ConfigError({
        where: `${this.name}: variable '${name}'`,
        received: `claims by ${claims.map((i) => optimizerLabel(this.pairs[i][1], i)).join(' and ')}`,
        expected: 'at most one predicate accepting each variable',
      });
    }
    let index: number | null = claims[0] ?? null;
    if (index === null) {
      if (this.defaultOptimizer) index = this.pairs.length;
      else warn(`${this.name}: no defaultOptimizer to train variable '${name}'; it is not trained.`);
    }
    this.routes.set(name, index);
    return index;
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const gradients = namedGradients(variableGradients);
    const first = this.routes.size === 0;
    const lists: NamedTensor[][] = this.optimizers.map(() => []);
    try {
      for (const [name, tensor] of gradients) {
        const index = this.route(name);
        if (index !== null) lists[index].push({ name, tensor: tensor as tf.Tensor });
      }
    } catch (error) {
      // A refused first step decides nothing: the next one checks everything again.
      if (first) this.routes.clear();
      throw error;
    }
    if (first) {
      // Larq: every (predicate, optimizer) pair must train something, else the predicate is wrong.
      this.pairs.forEach(([, optimizer], i) => {
        if (lists[i].length === 0) {
          this.routes.clear();
          throw new ConfigError({
            where: `${this.name}: ${optimizerLabel(optimizer, i)}`,
            received: `no variables claimed among ${gradients.length} (${gradients
              .slice(0, 5)
              .map(([n]) => `'${n}'`)
              .join(', ')}${gradients.length > 5 ? ', ...' : ''})`,
            expected: 'a predicate that accepts at least one variable',
          });
        }
      });
    }
    this.optimizers.forEach((optimizer, i) => {
      optimizer.applyGradients(lists[i]);
    });
    this.incrementIterations();
  }

  override dispose(): void {
    for (const optimizer of this.optimizers) optimizer.dispose();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const weights: NamedTensor[] = [await this.saveIterations()];
    for (const [i, optimizer] of this.optimizers.entries()) {
      for (const w of await optimizer.getWeights())
        weights.push({ name: `optimizer_${i}/${w.name}`, tensor: w.tensor });
    }
    return weights;
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    const groups: NamedTensor[][] = this.optimizers.map(() => []);
    for (const w of rest) {
      const match = /^optimizer_(\d+)\/(.+)$/.exec(w.name);
      const index = match ? Number(match[1]) : -1;
      if (!match || index >= this.optimizers.length) {
        throw new FormatError({
          source: `${this.name} optimizer weights`,
          problem: `weight '${w.name}'`,
          expected: `names 'optimizer_<i>/<name>' with i < ${this.optimizers.length}`,
        });
      }
      groups[index].push({ name: match[2], tensor: w.tensor });
    }
    for (const [i, optimizer] of this.optimizers.entries()) {
      if (groups[i].length > 0) await optimizer.setWeights(groups[i]);
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    const serialize = (optimizer: tf.Optimizer) => ({
      className: optimizer.getClassName(),
      config: optimizer.getConfig(),
    });
    return {
      pairs: this.pairs.map(([predicate, optimizer], i) => {
        const name = predicateName(predicate);
        if (name === undefined) {
          throw new ConfigError({
            where: `${this.name}.getConfig pairs[${i}][0]`,
            received: predicate,
            expected: `a predicate registered with registerPredicate(name, fn), so it can be saved by name (registered: ${registeredPredicates().join(', ')})`,
          });
        }
        return { predicate: name, optimizer: serialize(optimizer) };
      }),
      defaultOptimizer: this.defaultOptimizer ? serialize(this.defaultOptimizer) : null,
      name: this.name,
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    checkOptions('CaseOptimizer config', config, {
      pairs: any,
      defaultOptimizer: any,
      name: any,
      customObjects: any,
    });
    if (!Array.isArray(config.pairs)) {
      throw new ConfigError({
        where: 'CaseOptimizer config pairs',
        received: config.pairs,
        expected: 'an array',
      });
    }
    const pairs = (config.pairs as tf.serialization.ConfigDict[]).map((p, i) => {
      const predicate = getPredicate(String(p?.predicate), `CaseOptimizer config pairs[${i}].predicate`);
      return [
        predicate,
        deserializeOptimizer(p.optimizer, `CaseOptimizer config pairs[${i}].optimizer`),
      ] as const;
    });
    const defaultOptimizer =
      config.defaultOptimizer == null
        ? null
        : deserializeOptimizer(config.defaultOptimizer, 'CaseOptimizer config defaultOptimizer');
    const args: CaseOptimizerArgs = typeof config.name === 'string' ? { name: config.name } : {};
    return new (
      cls as unknown as new (
        p: PredicateOptimizerPair[],
        d: tf.Optimizer | null,
        a: CaseOptimizerArgs,
      ) => T
    )(pairs, defaultOptimizer, args);
  }
}
tf.serialization.registerClass(CaseOptimizer);

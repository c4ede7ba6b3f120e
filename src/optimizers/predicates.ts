import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { getVariablePrecision } from '../context/precision.js';
import { ConfigError } from '../errors.js';

/** Decides whether an optimizer of a {@link CaseOptimizer} trains `variable` (a tf.Variable, with its name). */
export type VariablePredicate = (variable: tf.Variable) => boolean;

const byName = new Map<string, VariablePredicate>();
const names = new Map<VariablePredicate, string>();

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Registers a predicate under a snake_case name so a {@link CaseOptimizer} using it can be saved
 * with the model (its config stores the name). The camelCase spelling is registered too, because
 * tfjs camelCases string values when it loads a training config.
 */
export function registerPredicate(name: string, predicate: VariablePredicate): void {
  if (typeof predicate !== 'function') {
    throw new ConfigError({
      where: `registerPredicate('${name}')`,
      received: predicate,
      expected: 'a function (variable) => boolean',
    });
  }
  for (const n of new Set([name, camel(name)])) {
    if (byName.has(n) && byName.get(n) !== predicate) {
      throw new ConfigError({
        where: 'registerPredicate',
        received: n,
        expected: 'a predicate name not yet registered',
      });
    }
    byName.set(n, predicate);
  }
  names.set(predicate, name);
}

/** The registered name of `predicate`, or undefined. */
export function predicateName(predicate: VariablePredicate): string | undefined {
  return names.get(predicate);
}

/** The names of every registered predicate (snake_case). */
export function registeredPredicates(): string[] {
  return [...new Set(names.values())];
}

/** The predicate registered under `name` (snake_case or camelCase). */
export function getPredicate(name: string, where = 'getPredicate'): VariablePredicate {
  const predicate = byName.get(name);
  if (!predicate) throw new ConfigError({ where, received: name, expected: registeredPredicates() });
  return predicate;
}

/**
 * True for binary variables: those whose quantizer has precision 1 (Larq's
 * `Bop.is_binary_variable`). Accepts a tf.Variable, a layers LayerVariable or a variable name.
 *
 * @example
 * new lq.optimizers.CaseOptimizer([[lq.optimizers.isBinaryVariable, new lq.optimizers.Bop()]], tf.train.adam(0.01));
 */
export function isBinaryVariable(variable: tf.Variable | tfl.LayerVariable | string): boolean {
  return getVariablePrecision(variable) === 1;
}
registerPredicate('is_binary_variable', isBinaryVariable);

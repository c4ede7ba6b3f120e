/**
 * Option parsing shared by lowbit's float layers: tfjs-layers' own resolvers for activations,
 * initializers, regularizers and constraints, plus the small validators Keras' `conv_utils` has.
 *
 * tfjs-layers 4.22 does not export `getActivation`, `getInitializer`, `getRegularizer` or
 * `getConstraint` from its package entry, and importing them from `@tensorflow/tfjs-layers/dist/...`
 * would load a second copy of tfjs-layers (the package's `main` is a bundle), whose classes fail the
 * first copy's `instanceof` checks. So the identifiers are resolved by a throw-away built-in `Dense`
 * layer, whose constructor runs exactly those resolvers: string aliases (`'glorotUniform'`,
 * `'l1l2'`, `'maxNorm'`), `{className, config}` objects, instances, and every class registered with
 * `tfc.serialization.registerClass` (lowbit's quantizers and constraints included) behave exactly as
 * they do in tfjs-layers' own layers. The Dense is given an explicit name so it does not consume an
 * automatic layer name (`dense_1`, ...) of the user's model.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Activation } from '@tensorflow/tfjs-layers/dist/activations.js';
import type { Constraint, ConstraintIdentifier } from '@tensorflow/tfjs-layers/dist/constraints.js';
import type { Initializer, InitializerIdentifier } from '@tensorflow/tfjs-layers/dist/initializers.js';
import type { ActivationIdentifier } from '@tensorflow/tfjs-layers/dist/keras_format/activation_config.js';
import type { DataFormat } from '@tensorflow/tfjs-layers/dist/keras_format/common.js';
import type { Regularizer, RegularizerIdentifier } from '@tensorflow/tfjs-layers/dist/regularizers.js';
import { ConfigError } from '../../errors.js';
import { LAYER_ARG_KEYS } from '../../util/options.js';

export type { Activation, Constraint, Initializer, Regularizer };

/** A serialized Keras object: `{className, config}`. */
export interface KerasObjectConfig extends tfc.serialization.ConfigDict {
  className: string;
  config: tfc.serialization.ConfigDict;
}

/** An activation: a registered name (`'relu'`, `'linear'`, a lowbit quantizer name, ...) or an instance. */
export type ActivationArg = ActivationIdentifier | (string & {}) | Activation;
/** An initializer: a tfjs name (`'glorotUniform'`), a `{className, config}` object, or an instance. */
export type InitializerArg = InitializerIdentifier | Initializer | KerasObjectConfig;
/** A regularizer: a tfjs name (`'l1l2'`), a `{className, config}` object, or an instance. */
export type RegularizerArg = RegularizerIdentifier | Regularizer | KerasObjectConfig;
/** A constraint: a tfjs name (`'maxNorm'`, `'nonNeg'`), a `{className, config}` object, or an instance. */
export type ConstraintArg = ConstraintIdentifier | Constraint | KerasObjectConfig;

/** The fields of tfjs' Dense that its constructor fills from the identifiers (private in its typings). */
interface ResolvedByDense {
  activation: Activation;
  kernelInitializer: Initializer;
  kernelRegularizer: Regularizer | null;
  kernelConstraint: Constraint | null;
}

const PARSER_NAME = 'lowbit_option_parser';

function resolveWithDense(
  where: string,
  received: unknown,
  expected: string,
  args: Record<string, unknown>,
): ResolvedByDense {
  try {
    // biome-ignore lint/suspicious/noExplicitAny: the identifiers are checked by tfjs' own resolvers here.
    return tfl.layers.dense({ units: 1, name: PARSER_NAME, ...(args as any) }) as unknown as ResolvedByDense;
  } catch (e) {
    const reason = e instanceof Error ? ` (tfjs-layers: ${e.message})` : '';
    throw new ConfigError({ where, received, expected: `${expected}${reason}` });
  }
}

/** Resolves an activation identifier as tfjs-layers does; `null`/`undefined` gives `linear`. */
export function getActivation(id: ActivationArg | null | undefined, where: string): Activation {
  return resolveWithDense(where, id, 'a registered activation name such as relu, linear or ste_sign', {
    activation: id ?? undefined,
  }).activation;
}

/** Resolves an initializer identifier as tfjs-layers does; `null`/`undefined` gives `fallback`. */
export function getInitializer(
  id: InitializerArg | null | undefined,
  fallback: InitializerIdentifier,
  where: string,
): Initializer {
  return resolveWithDense(
    where,
    id,
    'an initializer name such as glorotUniform, a {className, config}, or an Initializer',
    {
      kernelInitializer: id ?? fallback,
    },
  ).kernelInitializer;
}

/** Resolves a regularizer identifier as tfjs-layers does; `null`/`undefined` gives `null`. */
export function getRegularizer(id: RegularizerArg | null | undefined, where: string): Regularizer | null {
  if (id == null) return null;
  return resolveWithDense(
    where,
    id,
    'a regularizer name such as l1l2, a {className, config}, or a Regularizer',
    {
      kernelRegularizer: id,
    },
  ).kernelRegularizer;
}

/** Resolves a constraint identifier as tfjs-layers does; `null`/`undefined` gives `null`. */
export function getConstraint(id: ConstraintArg | null | undefined, where: string): Constraint | null {
  if (id == null) return null;
  return resolveWithDense(
    where,
    id,
    'a constraint name such as maxNorm, a {className, config}, or a Constraint',
    {
      kernelConstraint: id,
    },
  ).kernelConstraint;
}

/** Serializes an activation as tfjs-layers does: its registered class name (`'relu'`). */
export function serializeActivation(activation: Activation): string {
  return activation.getClassName();
}

/** Serializes an initializer, regularizer or constraint as tfjs-layers does: `{className, config}` or null. */
export function serializeKerasObject(
  instance: Initializer | Regularizer | Constraint | null,
): KerasObjectConfig | null {
  if (instance == null) return null;
  return { className: instance.getClassName(), config: instance.getConfig() };
}

/** Throws a ConfigError unless `value` is an integer >= `min`. */
export function checkInteger(value: unknown, where: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError({ where, received: value, expected: `an integer >= ${min}` });
  }
  return value;
}

/**
 * Normalizes an integer or a list of `n` integers to a list of `n` integers (Keras'
 * `conv_utils.normalize_tuple`): `3 -> [3, 3]` for n = 2; `[3]` is accepted for n = 1.
 */
export function normalizeTuple(value: unknown, n: number, where: string): number[] {
  if (typeof value === 'number') {
    checkInteger(value, where);
    return new Array<number>(n).fill(value);
  }
  if (Array.isArray(value) && value.length === n) {
    return value.map((v) => checkInteger(v, where));
  }
  throw new ConfigError({
    where,
    received: value,
    expected: `a positive integer or a list of ${n} positive integer${n > 1 ? 's' : ''}`,
  });
}

/** Throws a ConfigError unless `value` is one of `allowed`. */
export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], where: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError({ where, received: value, expected: allowed });
  }
  return value as T;
}

/** Throws a ConfigError unless `value` is a boolean. */
export function checkBoolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean')
    throw new ConfigError({ where, received: value, expected: 'true or false' });
  return value;
}

/** Parses a `dataFormat` option; tfjs' default is `channelsLast`. */
export function checkDataFormat(value: unknown, where: string): DataFormat {
  return value == null
    ? 'channelsLast'
    : checkOneOf(value, ['channelsLast', 'channelsFirst'] as const, where);
}

/** Options every tfjs layer accepts (tfjs-layers' `LayerArgs`, plus the deserializer's `customObjects`). */
export const LAYER_ARG_NAMES: readonly string[] = LAYER_ARG_KEYS;

/**
 * Throws a ConfigError naming the first option of `args` that is not in `known`, so a typo such as
 * `kernelInitialiser` fails loudly instead of being ignored as tfjs-layers would.
 */
export function checkKnownOptions(args: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(args)) {
    if (!known.includes(key)) {
      throw new ConfigError({ where: `${where}: unknown option`, received: key, expected: known });
    }
  }
}

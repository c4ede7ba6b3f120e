import { ConfigError } from '../errors.js';

/** One option's check: a predicate and the words for what is valid. */
export interface OptionSpec {
  check: (value: unknown) => boolean;
  expected: string;
}

/** Options of every tfjs layer (LayerArgs), accepted and validated by tfjs itself. */
export const LAYER_ARG_KEYS = [
  'inputShape',
  'batchInputShape',
  'batchSize',
  'dtype',
  'name',
  'trainable',
  'weights',
  'inputDType',
  // tfjs adds this key to every config it deserializes.
  'customObjects',
] as const;

export const number: OptionSpec = {
  check: (v) => typeof v === 'number' && Number.isFinite(v),
  expected: 'a finite number',
};
export const positiveNumber: OptionSpec = {
  check: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0,
  expected: 'a positive number',
};
export const positiveInt: OptionSpec = {
  check: (v) => Number.isInteger(v) && (v as number) > 0,
  expected: 'a positive integer',
};
export const boolean: OptionSpec = { check: (v) => typeof v === 'boolean', expected: 'true or false' };
export const stringArray: OptionSpec = {
  check: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
  expected: 'an array of strings',
};
/** Anything: the option is validated where it is resolved (quantizers, initializers, ...). */
export const any: OptionSpec = { check: () => true, expected: 'any value' };

export function oneOf(values: readonly (string | number)[]): OptionSpec {
  return {
    check: (v) => values.includes(v as string | number),
    expected: `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`,
  };
}

export function nullable(spec: OptionSpec): OptionSpec {
  return {
    check: (v) => v === null || v === undefined || spec.check(v),
    expected: `${spec.expected}, or null`,
  };
}

/**
 * Checks an options object against a spec: an unknown key or a value of the wrong type throws a
 * ConfigError naming the key, what was received and what is valid. Keys of tfjs's LayerArgs are
 * always accepted (tfjs checks them).
 */
export function checkOptions(
  where: string,
  args: object | undefined | null,
  spec: Record<string, OptionSpec>,
): void {
  if (args === undefined || args === null) return;
  if (typeof args !== 'object' || Array.isArray(args)) {
    throw new ConfigError({ where, received: args, expected: 'an options object' });
  }
  for (const [key, value] of Object.entries(args)) {
    const s = spec[key];
    if (s === undefined) {
      if ((LAYER_ARG_KEYS as readonly string[]).includes(key)) continue;
      throw new ConfigError({
        where: `${where}: unknown option`,
        received: key,
        expected: [...Object.keys(spec), ...LAYER_ARG_KEYS],
      });
    }
    if (value !== undefined && !s.check(value)) {
      throw new ConfigError({ where: `${where} option ${key}`, received: value, expected: s.expected });
    }
  }
}

import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { any, positiveInt } from '../util/options.js';
import { Quantizer, type QuantizerArgs } from './base.js';

/** A custom quantizer: any function from tensor to tensor, typically built with `tf.customGrad`. */
export type QuantizerFn = (x: tf.Tensor) => tf.Tensor;

const PRECISION = Symbol('lowbit.precision');
const customFunctions = new Map<string, QuantizerFn>();
const customNames = new Map<QuantizerFn, string>();

/**
 * Tags a custom quantizer function with its precision (Larq's `@set_precision`) and returns it.
 * Untagged functions count as 32-bit.
 *
 * @example
 * const identitySign = lq.quantizers.setPrecision(1, tf.customGrad((x, save) => ({ value: tf.sign(x), gradFunc: (dy) => dy })));
 */
export function setPrecision<F extends QuantizerFn>(precision: number, fn: F): F {
  if (!positiveInt.check(precision)) {
    throw new ConfigError({
      where: 'setPrecision precision',
      received: precision,
      expected: positiveInt.expected,
    });
  }
  (fn as F & { [PRECISION]?: number })[PRECISION] = precision;
  return fn;
}

/** The precision a function was tagged with, or 32. */
export function precisionOf(fn: QuantizerFn): number {
  return (fn as QuantizerFn & { [PRECISION]?: number })[PRECISION] ?? 32;
}

/**
 * Registers a custom quantizer function under a name so that models using it can be loaded
 * again (the saved config stores only the name). Returns the function.
 */
export function registerCustomQuantizer<F extends QuantizerFn>(name: string, fn: F): F {
  customFunctions.set(name, fn);
  customNames.set(fn, name);
  return fn;
}

export interface FunctionQuantizerArgs extends QuantizerArgs {
  /** The function; or give `functionName` of a function registered with registerCustomQuantizer. */
  fn?: QuantizerFn;
  functionName?: string;
  precision?: number;
}

/** Adapts a custom quantizer function to the {@link Quantizer} interface. */
export class FunctionQuantizer extends Quantizer {
  static readonly className = 'QuantizerFunction';
  readonly precision: number;
  readonly fn: QuantizerFn;
  readonly functionName: string;

  constructor(args: FunctionQuantizerArgs) {
    super(args, { fn: any, functionName: any, precision: positiveInt });
    const fn = args.fn ?? (args.functionName ? customFunctions.get(args.functionName) : undefined);
    if (!fn) {
      throw new ConfigError({
        where: 'QuantizerFunction functionName',
        received: args.functionName,
        expected: `a function registered with lq.quantizers.registerCustomQuantizer (registered: ${[...customFunctions.keys()].join(', ') || 'none'})`,
      });
    }
    this.fn = fn;
    this.functionName = args.functionName ?? customNames.get(fn) ?? (fn.name || 'anonymous');
    this.precision = args.precision ?? precisionOf(fn);
  }

  quantize(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), functionName: this.functionName, precision: this.precision };
  }
}

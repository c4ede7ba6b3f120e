import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Activation } from '@tensorflow/tfjs-layers/dist/activations.js';
import { ConfigError } from '../errors.js';
import { Quantizer, type QuantizerArgs } from './base.js';
import { FunctionQuantizer, type QuantizerFn } from './function.js';

/** A quantizer class as the registry holds it. */
export interface QuantizerClass {
  new (args?: QuantizerArgs): Quantizer;
  readonly className: string;
}

/** One registry entry: Larq's snake_case alias (if any) and class name. */
export interface RegistryEntry {
  alias: string | null;
  className: string;
  cls: QuantizerClass;
}

/**
 * Anything that names a quantizer: null (no quantization), an alias ('ste_sign'), a class name
 * ('SteSign'), a config object ({ className, config }), an instance, or a custom function
 * `(x: Tensor) => Tensor` (typically built with `tf.customGrad`).
 */
export type QuantizerIdentifier =
  | null
  | undefined
  | string
  | Quantizer
  | QuantizerFn
  | { className: string; config?: tf.serialization.ConfigDict };

const entries: RegistryEntry[] = [];
const byName = new Map<string, QuantizerClass>();

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

// tfjs has no public export of its Activation base class; take it from a built-in activation.
const ActivationBase = Object.getPrototypeOf(
  (tfl.layers.activation({ activation: 'linear' }) as unknown as { activation: Activation }).activation
    .constructor,
) as new () => Activation;

/**
 * Makes `alias` usable as any layer's `activation` (`activation: 'ste_sign'`), as in Larq. tfjs
 * turns snake_case strings into camelCase when it loads a model.json, so both spellings are
 * registered.
 */
function registerActivation(alias: string, cls: QuantizerClass): void {
  for (const name of new Set([alias, camel(alias)])) {
    class QuantizerActivation extends ActivationBase {
      static readonly className = name;
      private quantizer: Quantizer | null = null;
      override apply(x: tf.Tensor): tf.Tensor {
        this.quantizer ??= new cls();
        return this.quantizer.quantize(x);
      }
    }
    tf.serialization.registerClass(
      QuantizerActivation as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
    );
  }
}

/**
 * Registers a quantizer class under its class name and (optionally) Larq's alias, for
 * {@link get}, for model loading, and as an activation. Call it right after the class.
 */
export function registerQuantizer(cls: QuantizerClass, alias?: string): void {
  if (byName.has(cls.className)) {
    throw new ConfigError({
      where: 'registerQuantizer',
      received: cls.className,
      expected: 'a class name not yet registered',
    });
  }
  tf.serialization.registerClass(
    cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
  );
  byName.set(cls.className, cls);
  if (alias) {
    byName.set(alias, cls);
    byName.set(camel(alias), cls);
    registerActivation(alias, cls);
  }
  entries.push({ alias: alias ?? null, className: cls.className, cls });
}

/** Every registered quantizer, in registration order: the one list tests, summary and CLI read. */
export function registeredQuantizers(): readonly RegistryEntry[] {
  return entries;
}

function validNames(): string[] {
  return entries.flatMap((e) => (e.alias ? [e.alias, e.className] : [e.className]));
}

/**
 * Resolves a quantizer identifier (Larq's `quantizers.get`).
 *
 * @example
 * lq.quantizers.get('ste_sign');                                              // SteSign, clipValue 1
 * lq.quantizers.get({ className: 'SteSign', config: { clipValue: 1.25 } });
 * lq.quantizers.get(null);                                                    // null: no quantization
 */
export function get(identifier: QuantizerIdentifier, where = 'quantizers.get'): Quantizer | null {
  if (identifier === null || identifier === undefined) return null;
  if (identifier instanceof Quantizer) return identifier;
  if (typeof identifier === 'string') {
    const cls = byName.get(identifier);
    if (!cls) throw new ConfigError({ where, received: identifier, expected: validNames() });
    return new cls();
  }
  if (typeof identifier === 'function') return new FunctionQuantizer({ fn: identifier });
  if (typeof identifier === 'object' && typeof identifier.className === 'string') {
    const cls = byName.get(identifier.className);
    if (!cls)
      throw new ConfigError({
        where: `${where} className`,
        received: identifier.className,
        expected: validNames(),
      });
    return new cls((identifier.config ?? {}) as QuantizerArgs);
  }
  throw new ConfigError({
    where,
    received: identifier,
    expected:
      'null, a quantizer name, a {className, config} object, a Quantizer instance or a function (x: Tensor) => Tensor',
  });
}

/** Serializes a quantizer to `{ className, config }` (null for no quantizer), as stored in layer configs. */
export function serialize(quantizer: Quantizer | null): tf.serialization.ConfigDict | null {
  if (quantizer === null) return null;
  return { className: quantizer.getClassName(), config: quantizer.getConfig() };
}

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Activation } from '@tensorflow/tfjs-layers/dist/activations.js';
import { ConfigError } from '../errors.js';

/**
 * Hard tanh (Larq's `hard_tanh`): hard_tanh(x) = clip(x, -1, 1).
 * Its gradient is 1 on [-1, 1] and 0 outside, the straight-through estimator's clipped identity.
 *
 * Usable by name as any layer's `activation: 'hard_tanh'`.
 *
 * @example
 * lq.activations.hardTanh(tf.tensor([-2, -0.5, 0, 1, 3])); // [-1, -0.5, 0, 1, 1]
 */
export function hardTanh(x: tf.Tensor): tf.Tensor {
  return tf.clipByValue(x, -1, 1);
}

/**
 * Leaky tanh (Larq's `leaky_tanh`): hard tanh with slope `alpha` outside [-1, 1], as leaky ReLU:
 * leaky_tanh(x) = clip(x, -1, 1) + alpha (max(x, 1) - 1) + alpha (min(x, -1) + 1).
 *
 * Usable by name as `activation: 'leaky_tanh'` (alpha 0.2).
 *
 * @example
 * lq.activations.leakyTanh(tf.tensor([-3, 0.5, 2])); // [-1.4, 0.5, 1.2]
 */
export function leakyTanh(x: tf.Tensor, alpha = 0.2): tf.Tensor {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) {
    throw new ConfigError({ where: 'leakyTanh alpha', received: alpha, expected: 'a finite number' });
  }
  return tf.tidy(() =>
    tf.add(
      tf.add(tf.clipByValue(x, -1, 1), tf.mul(alpha, tf.sub(tf.maximum(x, 1), 1))),
      tf.mul(alpha, tf.add(tf.minimum(x, -1), 1)),
    ),
  );
}

/** lowbit's activations by Larq's name, the names usable as a layer's `activation`. */
export const ACTIVATIONS: Readonly<Record<string, (x: tf.Tensor) => tf.Tensor>> = {
  hard_tanh: hardTanh,
  leaky_tanh: (x) => leakyTanh(x),
};

// tfjs has no public export of its Activation base class; take it from a built-in activation.
const ActivationBase = Object.getPrototypeOf(
  (tfl.layers.activation({ activation: 'linear' }) as unknown as { activation: Activation }).activation
    .constructor,
) as new () => Activation;

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

// tfjs camelCases string values when it loads a model.json, so both spellings are registered.
for (const [alias, fn] of Object.entries(ACTIVATIONS)) {
  for (const name of new Set([alias, camel(alias)])) {
    class NamedActivation extends ActivationBase {
      static readonly className = name;
      override apply(x: tf.Tensor): tf.Tensor {
        return fn(x);
      }
    }
    tf.serialization.registerClass(
      NamedActivation as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
    );
  }
}

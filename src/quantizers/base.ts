import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import { fusedClippedGradient } from '../backend/elementwise-kernels.js';
import { getMetricsScope } from '../context/scopes.js';
import { ConfigError } from '../errors.js';
import { checkOptions, type OptionSpec, stringArray } from '../util/options.js';

/** The training metrics a quantizer can collect. */
export const QUANTIZER_METRICS = ['flip_ratio'] as const;

/** Options every quantizer accepts (besides tfjs's LayerArgs such as `name`). */
export interface QuantizerArgs extends LayerArgs {
  /** Training metrics to collect on this quantizer's output; only `'flip_ratio'` exists. Default: the metrics scope's. */
  metrics?: string[];
}

/**
 * Base class of lowbit's quantizers (Larq's `BaseQuantizer`).
 *
 * A quantizer is a pure function with a pseudo-gradient, {@link Quantizer.quantize}, plus a
 * `precision` (bits per output value) and a serializable config. It is also a tfjs layer, so it
 * can be used on its own: `new SteSign().apply(x)`.
 */
export abstract class Quantizer extends tfl.layers.Layer {
  /** Bits per quantized value: 1 for binary, 2 for ternary, k for k-bit, 32 for full precision. */
  abstract readonly precision: number;
  /** Training metrics collected on the output (see {@link QUANTIZER_METRICS}). */
  readonly metrics: string[];

  constructor(args: QuantizerArgs, spec: Record<string, OptionSpec>) {
    super(args);
    const where = `${(this.constructor as unknown as { className: string }).className}`;
    checkOptions(where, args, { ...spec, metrics: stringArray });
    // tfjs turns snake_case string values into camelCase when it loads a model.json.
    const metrics = (args.metrics ?? [...getMetricsScope()]).map((m) =>
      m === 'flipRatio' ? 'flip_ratio' : m,
    );
    for (const m of metrics) {
      if (!(QUANTIZER_METRICS as readonly string[]).includes(m)) {
        throw new ConfigError({ where: `${where} option metrics`, received: m, expected: QUANTIZER_METRICS });
      }
    }
    this.metrics = metrics;
  }

  /** Quantizes `x`: the forward function, with the pseudo-gradient attached for backprop. */
  abstract quantize(x: tf.Tensor): tf.Tensor;

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => this.quantize(x));
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config = super.getConfig();
    if (this.metrics.length > 0) config.metrics = [...this.metrics];
    return config;
  }
}

/**
 * Wraps `forward` and `backward` into a function with a custom gradient:
 * value = forward(x), dL/dx = backward(x, dy). Masks built from comparisons are fine inside
 * both, because tfjs does not tape a custom gradient's forward pass.
 */
export function withPseudoGradient(
  forward: (x: tf.Tensor) => tf.Tensor,
  backward: (x: tf.Tensor, dy: tf.Tensor) => tf.Tensor,
): (x: tf.Tensor) => tf.Tensor {
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: tf.tidy(() => forward(x)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => backward(saved[0], dy)),
    };
  }) as Parameters<typeof tf.customGrad>[0]);
  return (x) => f(x) as tf.Tensor;
}

/**
 * The clipped straight-through gradient: dy where |x| <= clipValue, else 0; dy unchanged when
 * clipValue is null (Larq's `_clipped_gradient`). On cpu and wasm it runs as one fused kernel
 * (lowbit's backend); elsewhere it is composed from ops. Both give the same values.
 */
export function clippedGradient(x: tf.Tensor, dy: tf.Tensor, clipValue: number | null): tf.Tensor {
  if (clipValue === null) return dy;
  return (
    fusedClippedGradient(x, dy, clipValue) ??
    tf.where(tf.lessEqual(tf.abs(x), clipValue), dy, tf.zerosLike(dy))
  );
}

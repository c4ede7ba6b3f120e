import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { checkOptions, positiveNumber } from '../util/options.js';

// tfjs does not export its Constraint base class, and layers accept only its instances.
const ConstraintBase = Object.getPrototypeOf(
  tfl.constraints.nonNeg().constructor,
) as new () => tf.serialization.Serializable & {
  apply(w: tf.Tensor): tf.Tensor;
};

export interface WeightClipArgs {
  /** Weights are clipped to [-clipValue, clipValue]. Default 1. */
  clipValue?: number;
}

/**
 * Weight constraint that clips to [-clipValue, clipValue] (Larq's `WeightClip`, alias `weight_clip`).
 * Keeps binary networks' latent weights inside the range where the STE passes a gradient.
 *
 * w <- clip(w, -clipValue, clipValue)
 *
 * @example lq.layers.quantDense({ units: 10, kernelQuantizer: 'ste_sign', kernelConstraint: lq.constraints.weightClip({ clipValue: 1 }) })
 */
export class WeightClip extends ConstraintBase {
  static readonly className: string = 'WeightClip';
  readonly clipValue: number;

  constructor(args: WeightClipArgs = {}) {
    super();
    checkOptions('WeightClip', args, { clipValue: positiveNumber });
    this.clipValue = args.clipValue ?? 1;
  }

  override apply(w: tf.Tensor): tf.Tensor {
    return tf.clipByValue(w, -this.clipValue, this.clipValue);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { clipValue: this.clipValue };
  }

  static fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { customObjects: _ignored, ...args } = config;
    return new cls(args);
  }
}
tf.serialization.registerClass(WeightClip);

// `kernelConstraint: 'weight_clip'` resolves by class name; tfjs camelCases string values on load.
for (const alias of ['weight_clip', 'weightClip']) {
  class WeightClipAlias extends WeightClip {
    static override readonly className = alias;
    override getClassName(): string {
      return 'WeightClip';
    }
  }
  tf.serialization.registerClass(WeightClipAlias);
}

/** Creates a {@link WeightClip} constraint. */
export function weightClip(args: WeightClipArgs = {}): WeightClip {
  return new WeightClip(args);
}

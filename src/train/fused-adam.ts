/**
 * Adam whose per-variable update is one fused SIMD kernel on wasm (lowbit's backend kernel
 * LowbitAdamUpdate) instead of tfjs-core's 14 elementwise ops: the same values, the same state, the
 * same class name ('Adam') and config, so it saves, loads and resumes like tfjs's Adam. On other
 * backends it is exactly tfjs-core's AdamOptimizer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, type AdamUpdateAttrs, fusedAdamAvailable } from '../backend/adam-kernel.js';
import { ShapeError } from '../errors.js';

/** tfjs-core's AdamOptimizer fields this class updates (private in its declarations). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  incrementIterations(): void;
}

/**
 * Adam (Kingma and Ba 2015, arXiv 1412.6980) with a fused update where lowbit's wasm kernel runs.
 *
 *   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,  w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *
 * @example model.compile({ optimizer: new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-7), loss: 'sparseCategoricalCrossentropy' })
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!fusedAdamAvailable()) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamState;
    const list: Array<[string, tf.Tensor | undefined]> = Array.isArray(variableGradients)
      ? variableGradients.map((v) => [v.name, v.tensor])
      : Object.entries(variableGradients);
    // 1 - b^t as tfjs-core computes it: a float32 subtraction from the float32 accumulator.
    const oneMinus = (acc: tf.Variable) => Math.fround(1 - (acc.dataSync()[0] as number));
    const attrs: AdamUpdateAttrs = {
      learningRate: self.learningRate,
      beta1: self.beta1,
      beta2: self.beta2,
      epsilon: self.epsilon,
      oneMinusAccBeta1: oneMinus(self.accBeta1),
      oneMinusAccBeta2: oneMinus(self.accBeta2),
    };
    tf.tidy(() => {
      list.forEach(([name, gradient], i) => {
        const value = tf.engine().registeredVariables[name]!;
        self.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        self.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        if (gradient == null) return;
        if (
          value.dtype !== 'float32' ||
          gradient.dtype !== 'float32' ||
          !tf.util.arraysEqual(value.shape, gradient.shape)
        ) {
          throw new ShapeError({
            where: `FusedAdamOptimizer gradient of variable ${name}`,
            received: `${gradient.dtype} [${gradient.shape.join(', ')}]`,
            expected: `float32 [${value.shape.join(', ')}] (the ${value.dtype} variable's shape)`,
          });
        }
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        const [w2, m2, v2] = tf
          .engine()
          .runKernel(
            ADAM_UPDATE,
            { value, m, v, gradient },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
        m.assign(m2!);
        v.assign(v2!);
        value.assign(w2!);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}

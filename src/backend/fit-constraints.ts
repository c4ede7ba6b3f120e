/**
 * Makes weight constraints hold during `model.fit` / `fitDataset` / `trainOnBatch`.
 *
 * tfjs-layers 4.22 never applies a LayerVariable's constraint in its training loop (upstream
 * tensorflow/tfjs issues 3345 and 3979): the optimizer writes the raw update. For binarized networks
 * this silently breaks WeightClip (a kernel clipped to 0.05 reached |w| = 0.74 to 0.86 in the probe).
 *
 * The fix wraps `LayersModel.prototype.makeTrainFunction` (the per-batch step every tfjs-layers
 * training entry point builds, see tfjs-layers/dist/engine/training.js) so that after each optimizer
 * step every trainable LayerVariable with a constraint is assigned `constraint.apply(value)`, as Keras
 * does after `optimizer.apply_gradients`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type TrainFunction = (data: tf.Tensor[]) => tf.Scalar[];
interface ConstrainedVariable {
  readonly trainable: boolean;
  readonly constraint: { apply(w: tf.Tensor): tf.Tensor } | null;
  read(): tf.Variable;
}
interface TrainableModel {
  makeTrainFunction(): TrainFunction;
  collectedTrainableWeights?: ConstrainedVariable[];
  trainableWeights: ConstrainedVariable[];
}

const ORIGINAL = Symbol.for('lowbit.originalMakeTrainFunction');
type Proto = TrainableModel & { [ORIGINAL]?: () => TrainFunction };

function proto(): Proto {
  return tfl.LayersModel.prototype as unknown as Proto;
}

/**
 * Assigns `constraint.apply(w)` to every trainable weight of `model` that has a constraint.
 * This is what lowbit runs after each optimizer step; callable directly for custom training loops
 * (`optimizer.minimize(...)` followed by `applyConstraints(model)`).
 */
export function applyConstraints(model: tfl.LayersModel): void {
  const m = model as unknown as TrainableModel;
  const weights = m.collectedTrainableWeights ?? m.trainableWeights;
  for (const v of weights) {
    if (v.constraint == null || !v.trainable) continue;
    const variable = v.read();
    const constrained = tf.tidy(() => v.constraint!.apply(variable));
    variable.assign(constrained);
    constrained.dispose();
  }
}

/**
 * Installs the fix (idempotent; done on import of lowbit).
 * @returns true if this call installed it, false if it was already installed.
 */
export function enforceConstraintsDuringFit(): boolean {
  const p = proto();
  if (p[ORIGINAL] != null) return false;
  const original = p.makeTrainFunction;
  p[ORIGINAL] = original;
  p.makeTrainFunction = function (this: TrainableModel): TrainFunction {
    const step = original.call(this);
    return (data: tf.Tensor[]) => {
      const out = step(data);
      applyConstraints(this as unknown as tfl.LayersModel);
      return out;
    };
  };
  return true;
}

/**
 * Removes the fix, restoring tfjs-layers' own training step (constraints ignored during fit).
 * For tests and for users who apply constraints themselves.
 * @returns true if the fix was installed and is now removed.
 */
export function stopEnforcingConstraintsDuringFit(): boolean {
  const p = proto();
  const original = p[ORIGINAL];
  if (original == null) return false;
  p.makeTrainFunction = original;
  delete p[ORIGINAL];
  return true;
}

import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * The precision (bits per value) every quantized variable carries, read by the summary (memory
 * and MACs by precision) and by Bop (which trains only precision-1 variables).
 *
 * Keyed both by the layers' `LayerVariable` and by the name of its underlying `tf.Variable`,
 * because optimizers see only the latter (by name, in `applyGradients`).
 */
const byLayerVariable = new WeakMap<tfl.LayerVariable, number>();
const byVariableName = new Map<string, number>();

/** Records that `variable` holds values quantized to `precision` bits. */
export function setVariablePrecision(
  variable: tfl.LayerVariable,
  underlying: tf.Variable,
  precision: number,
): void {
  byLayerVariable.set(variable, precision);
  byVariableName.set(underlying.name, precision);
}

/**
 * The precision of a variable: its quantizer's precision for a quantized kernel, else 32.
 * Accepts a layers `LayerVariable`, a `tf.Variable`, or a `tf.Variable` name.
 */
export function getVariablePrecision(variable: tfl.LayerVariable | tf.Variable | string): number {
  if (typeof variable === 'string') return byVariableName.get(variable) ?? 32;
  const direct = byLayerVariable.get(variable as tfl.LayerVariable);
  if (direct !== undefined) return direct;
  return byVariableName.get((variable as { name: string }).name) ?? 32;
}

import type * as tfl from '@tensorflow/tfjs-layers';
import { type EnergyEstimate, type EnergyFigures, type EnergyOptions, energyOf } from './energy.js';
import { profile } from './profile.js';

function isFigures(x: unknown): x is EnergyFigures {
  return typeof x === 'object' && x !== null && Array.isArray((x as EnergyFigures).macsByPrecision);
}

/**
 * Estimated energy of one inference (batch 1) of a model, or of a profile of a model or layer:
 * E = sum over precisions p of MACs_p x e(p) + (weight bits / 32) x e_read32, with Horowitz's
 * 45 nm figures (ISSCC 2014) by default; see {@link energyOf} for the formula and assumptions.
 *
 * @example
 * const e = lq.models.estimateEnergy(model);
 * e.totalSramPj; e.totalDramPj; e.assumptions;
 * @throws ConfigError on a bad table entry or an unbuilt model.
 */
export function estimateEnergy(
  model: tfl.LayersModel | EnergyFigures,
  options: EnergyOptions = {},
): EnergyEstimate {
  return energyOf(isFigures(model) ? model : profile(model), options);
}

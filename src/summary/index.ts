export {
  type BatchTiming,
  type BenchmarkOptions,
  type BenchmarkResult,
  benchmark,
  type MachineInfo,
  machineInfo,
  median,
  percentile,
} from './benchmark.js';
export {
  BINARY_MAC_ASSUMPTION,
  ENERGY_SOURCE,
  type EnergyEstimate,
  type EnergyFigures,
  type EnergyOptions,
  type EnergyTable,
  type EnergyTerm,
  energyOf,
  energyPerMac,
  HOROWITZ_45NM,
} from './energy.js';
export { estimateEnergy } from './estimate.js';
export { asciiTable, memoryAsReadable, numberAsReadable, pyFixed } from './format.js';
export { countOps, type OpCounts, type OpGroup, type OpKind, opKind } from './ops.js';
export {
  type BitCount,
  type LayerProfile,
  type ModelProfile,
  type ProfileOptions,
  profile,
  type WeightProfile,
} from './profile.js';
export {
  type EfficiencyReport,
  efficiencyReport,
  energyAsReadable,
  SUMMARY_METRICS,
  type SummaryMetric,
  type SummaryOptions,
  summary,
} from './summary.js';

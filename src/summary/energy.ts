import { ConfigError } from '../errors.js';
import { type OpKind, opKind } from './ops.js';

/**
 * Energy per operation and per memory access, in picojoules. All figures but `binaryMac` and
 * the k-bit integer scaling are measured values from the source below.
 */
export interface EnergyTable {
  /** 32-bit float multiply (3.7 pJ). */
  float32Mult: number;
  /** 32-bit float add (0.9 pJ). */
  float32Add: number;
  /** 16-bit float multiply (1.1 pJ). */
  float16Mult: number;
  /** 16-bit float add (0.4 pJ). */
  float16Add: number;
  /** 8-bit integer multiply (0.2 pJ). */
  int8Mult: number;
  /** 8-bit integer add (0.03 pJ). */
  int8Add: number;
  /** One 1-bit MAC: an XNOR and a one-bit popcount-accumulate (assumed 0.0075 pJ, see BINARY_MAC_ASSUMPTION). */
  binaryMac: number;
  /** Reading 32 bits from an 8 KB on-chip SRAM (5 pJ). */
  sramRead32: number;
  /** Reading 32 bits from DRAM (640 pJ). */
  dramRead32: number;
}

/** Where the default table's figures come from. */
export const ENERGY_SOURCE =
  'M. Horowitz, "Computing\'s energy problem (and what we can do about it)", ISSCC 2014, 45 nm, 0.9 V ' +
  '(operations; memory per 64-bit access: 8 KB cache 10 pJ, DRAM 1.3-2.6 nJ), as tabulated per 32-bit ' +
  'access by S. Han et al., "Learning both Weights and Connections for Efficient Neural Networks", ' +
  'NeurIPS 2015, Fig. 1 (32-bit SRAM read 5 pJ, 32-bit DRAM read 640 pJ)';

/** The per-operation assumption for binary MACs, which Horowitz's table does not list. */
export const BINARY_MAC_ASSUMPTION =
  'a 1-bit MAC = one XNOR + one bit into a popcount adder tree, each taken as one full adder; ' +
  "a full adder = 1/8 of Horowitz's 8-bit integer add (an 8-bit ripple-carry adder is 8 full adders): " +
  '2 x 0.03 / 8 = 0.0075 pJ';

/** Horowitz (ISSCC 2014, 45 nm) with the binary-MAC assumption; see {@link ENERGY_SOURCE}. */
export const HOROWITZ_45NM: Readonly<EnergyTable> = Object.freeze({
  float32Mult: 3.7,
  float32Add: 0.9,
  float16Mult: 1.1,
  float16Add: 0.4,
  int8Mult: 0.2,
  int8Add: 0.03,
  binaryMac: (2 * 0.03) / 8,
  sramRead32: 5,
  dramRead32: 640,
});

/**
 * Energy of one MAC of `precision` bits under `table` (pJ):
 * 1 bit: binaryMac; 2..8 bits: int8Mult x (k/8)^2 + int8Add (a multiplier's energy grows with
 * the square of its width, the accumulator stays at least 8 bits); 9..16 bits: float16 mult +
 * add; wider: float32 mult + add.
 */
export function energyPerMac(precision: number, table: EnergyTable = HOROWITZ_45NM): number {
  const kind: OpKind = opKind(precision);
  if (kind === 'binary') return table.binaryMac;
  if (kind === 'ternary' || kind === 'integer') return table.int8Mult * (precision / 8) ** 2 + table.int8Add;
  if (precision <= 16) return table.float16Mult + table.float16Add;
  return table.float32Mult + table.float32Add;
}

/** Compute energy of the MACs at one precision. */
export interface EnergyTerm {
  precision: number;
  kind: OpKind;
  macs: number;
  /** pJ per MAC. */
  pjPerMac: number;
  /** macs x pjPerMac. */
  pj: number;
}

/** An estimate (not a measurement) of the energy of one inference (batch 1), in picojoules. */
export interface EnergyEstimate {
  /** Always true: this is a model of the hardware, not a measurement. */
  estimate: true;
  unit: 'pJ';
  /** Compute energy per MAC precision. */
  compute: EnergyTerm[];
  /** Sum of the compute terms. */
  computePj: number;
  /** Bits of weights read per inference (the model size). */
  weightBits: number;
  /** 32-bit words read: weightBits / 32 (weights stored packed at their bit-width). */
  weightReads32: number;
  /** weightReads32 x sramRead32: every weight read once from on-chip SRAM. */
  weightsSramPj: number;
  /** weightReads32 x dramRead32: every weight read once from DRAM. */
  weightsDramPj: number;
  /** computePj + weightsSramPj. */
  totalSramPj: number;
  /** computePj + weightsDramPj. */
  totalDramPj: number;
  /** The table used. */
  table: EnergyTable;
  source: string;
  /** Everything the estimate assumes, to print next to it. */
  assumptions: string[];
}

/** Options of {@link estimateEnergy}. */
export interface EnergyOptions {
  /** Replace some figures of {@link HOROWITZ_45NM} (pJ, finite and >= 0). */
  table?: Partial<EnergyTable>;
  /** Describe a replaced table's origin (printed instead of {@link ENERGY_SOURCE}). */
  source?: string;
}

function checkTable(table: Partial<EnergyTable>): EnergyTable {
  const merged = { ...HOROWITZ_45NM, ...table } as Record<string, unknown>;
  for (const [key, value] of Object.entries(merged)) {
    if (!(key in HOROWITZ_45NM)) {
      throw new ConfigError({
        where: 'estimateEnergy() option table',
        received: key,
        expected: Object.keys(HOROWITZ_45NM),
      });
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ConfigError({
        where: `estimateEnergy() option table.${key}`,
        received: value,
        expected: 'a finite number of picojoules >= 0',
      });
    }
  }
  return merged as unknown as EnergyTable;
}

/** What an energy estimate is computed from: a profile (of a model or a layer) has both. */
export interface EnergyFigures {
  /** MACs per example by precision. */
  macsByPrecision: readonly { bits: number; count: number }[];
  /** Bits of weights (the model size). */
  memoryBits: number;
}

/**
 * Estimates the energy of one inference (batch 1) from MACs and weight size:
 *
 *   E_compute = sum over precisions p of MACs_p x e(p)   (e: {@link energyPerMac})
 *   E_weights = (model size in bits / 32) x e_read32    (SRAM and DRAM variants)
 *   E = E_compute + E_weights
 *
 * with Horowitz's 45 nm figures (ISSCC 2014) by default. An estimate for comparing designs,
 * not a measurement: activations' memory traffic, control and data movement inside the
 * datapath are left out (listed in `assumptions`). `estimateEnergy(model)` profiles a model first.
 *
 * @example
 * energyOf({ macsByPrecision: [{ bits: 1, count: 1000 }], memoryBits: 64 }).totalSramPj; // 7.5 + 10
 * @throws ConfigError on a bad table entry.
 */
export function energyOf(p: EnergyFigures, options: EnergyOptions = {}): EnergyEstimate {
  const table = checkTable(options.table ?? {});
  const compute = p.macsByPrecision.map(({ bits, count }) => {
    const pjPerMac = energyPerMac(bits, table);
    return { precision: bits, kind: opKind(bits), macs: count, pjPerMac, pj: count * pjPerMac };
  });
  const computePj = compute.reduce((s, t) => s + t.pj, 0);
  const weightReads32 = p.memoryBits / 32;
  const weightsSramPj = weightReads32 * table.sramRead32;
  const weightsDramPj = weightReads32 * table.dramRead32;
  return {
    estimate: true,
    unit: 'pJ',
    compute,
    computePj,
    weightBits: p.memoryBits,
    weightReads32,
    weightsSramPj,
    weightsDramPj,
    totalSramPj: computePj + weightsSramPj,
    totalDramPj: computePj + weightsDramPj,
    table,
    source: options.source ?? ENERGY_SOURCE,
    assumptions: [
      'estimate for one inference (batch 1) on 45 nm hardware, not a measurement',
      `float MAC = 1 multiply + 1 add: 32-bit ${table.float32Mult} + ${table.float32Add} pJ, 16-bit ${table.float16Mult} + ${table.float16Add} pJ`,
      `k-bit integer MAC (2..8 bits) = ${table.int8Mult} x (k/8)^2 + ${table.int8Add} pJ (multiplier energy ~ width squared, 8-bit accumulator)`,
      `binary MAC = ${table.binaryMac} pJ: ${BINARY_MAC_ASSUMPTION}`,
      `weights read once per inference, packed at their bit-width into 32-bit words: SRAM ${table.sramRead32} pJ, DRAM ${table.dramRead32} pJ per 32-bit read`,
      'not counted: activation traffic, bias adds and batch-norm arithmetic, pooling, control, leakage',
    ],
  };
}

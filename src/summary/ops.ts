/**
 * Operation counts derived from MACs, kept apart by arithmetic kind so float and low-bit
 * operations are never added together silently.
 */

/** How a MAC of a given precision is executed. */
export type OpKind = 'binary' | 'ternary' | 'integer' | 'float';

/** The operations of all MACs at one precision. */
export interface OpGroup {
  /** MAC precision in bits: max(input bits, kernel bits). */
  precision: number;
  kind: OpKind;
  /** Multiply-accumulates per example. */
  macs: number;
  /** Operations per example: 2 per MAC (see {@link OpGroup.label}). */
  ops: number;
  /** What one op is, e.g. 'FLOPs (32-bit float: 1 multiply + 1 add per MAC)'. */
  label: string;
}

/** FLOPs and low-bit ops of a layer or model, per example. */
export interface OpCounts {
  /** Floating-point operations: 2 per float MAC (a multiply and an add). Float MACs only. */
  flops: number;
  /** Binary operations: 2 per 1-bit MAC (an XNOR and a popcount-accumulate of one bit). */
  binaryOps: number;
  /** Operations of 2..8-bit MACs (ternary and k-bit integer): 2 per MAC (multiply + add). */
  lowBitOps: number;
  /** One entry per precision, ascending. */
  groups: OpGroup[];
}

/**
 * The arithmetic kind of a MAC of `precision` bits: 1 binary (XNOR + popcount), 2 ternary,
 * 3..8 integer, above 8 floating point.
 */
export function opKind(precision: number): OpKind {
  if (precision <= 1) return 'binary';
  if (precision === 2) return 'ternary';
  if (precision <= 8) return 'integer';
  return 'float';
}

function label(precision: number, kind: OpKind): string {
  switch (kind) {
    case 'binary':
      return '1-bit binary ops (XNOR + popcount per MAC)';
    case 'ternary':
      return '2-bit ternary ops (multiply + add per MAC)';
    case 'integer':
      return `${precision}-bit integer ops (multiply + add per MAC)`;
    default:
      return `FLOPs (${precision}-bit float: multiply + add per MAC)`;
  }
}

/**
 * Counts operations from MACs by precision: every MAC is 2 operations of its kind,
 * FLOPs = 2 x float MACs, binary ops = 2 x 1-bit MACs (XNOR + popcount, the XNOR-Net
 * formulation of Rastegari et al., ECCV 2016), low-bit ops = 2 x 2..8-bit MACs.
 *
 * @example
 * countOps([{ bits: 1, count: 10 }, { bits: 32, count: 3 }]).flops; // 6
 */
export function countOps(macsByPrecision: readonly { bits: number; count: number }[]): OpCounts {
  const groups = macsByPrecision.map(({ bits, count }) => {
    const kind = opKind(bits);
    return { precision: bits, kind, macs: count, ops: 2 * count, label: label(bits, kind) };
  });
  const sumOf = (kinds: readonly OpKind[]) =>
    groups.filter((g) => kinds.includes(g.kind)).reduce((s, g) => s + g.ops, 0);
  return {
    flops: sumOf(['float']),
    binaryOps: sumOf(['binary']),
    lowBitOps: sumOf(['ternary', 'integer']),
    groups,
  };
}

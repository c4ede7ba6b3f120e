/**
 * lowbit's typed errors. Every message says what was received, what is valid, and where.
 *
 * Subclasses group errors by cause so callers (and the CLI) can react by kind:
 * {@link ConfigError} for bad options, {@link ShapeError} for tensors of the wrong shape or dtype,
 * {@link UnsupportedError} for features lowbit does not (yet) handle, and {@link FormatError} for
 * corrupt, truncated or hostile files.
 */
export class LowbitError extends Error {
  override name = 'LowbitError';
}

/** Describes a received value briefly for an error message: `'abc'`, `42`, `an object {a, b}`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const ctor = (value as object).constructor?.name;
  if (ctor && ctor !== 'Object') return `an instance of ${ctor}`;
  const keys = Object.keys(value as object);
  return `an object {${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''}}`;
}

export interface ConfigErrorArgs {
  /** Where the value was given, e.g. `QuantDense 'dense_1' option kernelQuantizer`. */
  where: string;
  /** The value that was received. */
  received: unknown;
  /** What would have been valid, in words or as a list. */
  expected: string | readonly string[];
}

/** A bad option or identifier: unknown name, wrong type, value out of range. */
export class ConfigError extends LowbitError {
  override name = 'ConfigError';
  readonly where: string;
  readonly received: unknown;
  readonly expected: string | readonly string[];
  constructor(args: ConfigErrorArgs) {
    const valid = typeof args.expected === 'string' ? args.expected : `one of ${args.expected.join(', ')}`;
    super(`${args.where}: received ${describe(args.received)}; expected ${valid}.`);
    this.where = args.where;
    this.received = args.received;
    this.expected = args.expected;
  }
}

export interface ShapeErrorArgs {
  where: string;
  received: readonly (number | null)[] | string;
  expected: string;
}

/** A tensor or array of the wrong shape, rank or dtype. */
export class ShapeError extends LowbitError {
  override name = 'ShapeError';
  constructor(args: ShapeErrorArgs) {
    const got = typeof args.received === 'string' ? args.received : `shape [${args.received.join(', ')}]`;
    super(`${args.where}: received ${got}; expected ${args.expected}.`);
  }
}

/** A feature lowbit does not handle (a layer the converter cannot convert, a kernel a backend lacks). */
export class UnsupportedError extends LowbitError {
  override name = 'UnsupportedError';
  constructor(what: string, supported?: string) {
    super(supported ? `${what} is not supported; supported: ${supported}.` : `${what} is not supported.`);
  }
}

export interface FormatErrorArgs {
  /** The file or stream, e.g. `model.json` or `weights.bin` or `net.lbm`. */
  source: string;
  /** What was wrong, e.g. `magic number 0x00000000`. */
  problem: string;
  /** What a valid file has, e.g. `0x00000803 (IDX unsigned byte, rank 3)`. */
  expected?: string;
}

/** A corrupt, truncated, wrong-version or hostile file; raised before any allocation it would drive. */
export class FormatError extends LowbitError {
  override name = 'FormatError';
  readonly source: string;
  constructor(args: FormatErrorArgs) {
    super(`${args.source}: ${args.problem}${args.expected ? `; expected ${args.expected}` : ''}.`);
    this.source = args.source;
  }
}

import { describe, FormatError } from '../../errors.js';

/**
 * Validators for untrusted JSON: each returns the value typed, or throws a {@link FormatError}
 * naming the JSON path, what was received and what is valid.
 */
export class JsonChecker {
  constructor(readonly source: string) {}

  /** Throws a FormatError at `path`. */
  fail(path: string, problem: string, expected?: string): never {
    throw new FormatError({ source: this.source, problem: `${path}: ${problem}`, expected });
  }

  /** A plain object (not null, not an array). */
  object(value: unknown, path: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      this.fail(path, `received ${describe(value)}`, 'an object');
    return value as Record<string, unknown>;
  }

  /** An array of at most `maxLength` elements. */
  array(value: unknown, path: string, maxLength = 1 << 20): unknown[] {
    if (!Array.isArray(value)) this.fail(path, `received ${describe(value)}`, 'an array');
    if (value.length > maxLength)
      this.fail(path, `array of length ${value.length}`, `at most ${maxLength} elements`);
    return value;
  }

  /** A non-empty string of at most 256 characters. */
  string(value: unknown, path: string): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > 256)
      this.fail(path, `received ${describe(value)}`, 'a non-empty string of at most 256 characters');
    return value;
  }

  /** An integer in [min, max]. */
  int(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      this.fail(path, `received ${describe(value)}`, `an integer in [${min}, ${max}]`);
    return value;
  }

  /** A finite number. */
  number(value: unknown, path: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value))
      this.fail(path, `received ${describe(value)}`, 'a finite number');
    return value;
  }

  /** One of the listed string or number literals. */
  oneOf<T extends string | number>(value: unknown, path: string, options: readonly T[]): T {
    if (!options.includes(value as T))
      this.fail(
        path,
        `received ${describe(value)}`,
        `one of ${options.map((o) => JSON.stringify(o)).join(', ')}`,
      );
    return value as T;
  }

  /** A pair of integers in [min, max]. */
  intPair(value: unknown, path: string, min: number, max: number): [number, number] {
    const a = this.array(value, path, 2);
    if (a.length !== 2) this.fail(path, `array of length ${a.length}`, 'a pair [a, b]');
    return [this.int(a[0], `${path}[0]`, min, max), this.int(a[1], `${path}[1]`, min, max)];
  }

  /** A range [min | null, max | null] with min <= max. */
  range(value: unknown, path: string, integer: boolean): [number | null, number | null] {
    const a = this.array(value, path, 2);
    if (a.length !== 2) this.fail(path, `array of length ${a.length}`, 'a pair [min | null, max | null]');
    const bound = (v: unknown, p: string): number | null => {
      if (v === null) return null;
      return integer ? this.int(v, p, -(2 ** 31), 2 ** 31 - 1) : this.number(v, p);
    };
    const lo = bound(a[0], `${path}[0]`);
    const hi = bound(a[1], `${path}[1]`);
    if (lo !== null && hi !== null && lo > hi) this.fail(path, `min ${lo} > max ${hi}`, 'min <= max');
    return [lo, hi];
  }

  /** Throws when `obj` has keys outside `allowed` (catches typos and foreign attributes). */
  keys(obj: Record<string, unknown>, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(obj))
      if (!allowed.includes(k))
        this.fail(path, `unknown key ${JSON.stringify(k)}`, `keys ${allowed.join(', ')}`);
  }
}

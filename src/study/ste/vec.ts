/** Small Float64 vector helpers for the STE toy model (dimensions are tens, so plain loops are fine). */
import { ConfigError, ShapeError } from '../../errors.js';

/** A vector of the toy model: Float64Array, or any array of numbers accepted as input. */
export type VecLike = ArrayLike<number>;

/** Copies `x` into a new Float64Array, checking that every entry is finite. */
export function toVec(x: VecLike, where: string, length?: number): Float64Array {
  if (x === null || typeof x !== 'object' || typeof x.length !== 'number') {
    throw new ConfigError({ where, received: x, expected: 'an array of numbers' });
  }
  if (length !== undefined && x.length !== length) {
    throw new ShapeError({ where, received: [x.length], expected: `a vector of length ${length}` });
  }
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const value = x[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ConfigError({ where: `${where}[${i}]`, received: value, expected: 'a finite number' });
    }
    out[i] = value;
  }
  return out;
}

/** Inner product x^T y. */
export function dot(x: VecLike, y: VecLike): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** Euclidean norm |x|. */
export function norm(x: VecLike): number {
  return Math.sqrt(dot(x, x));
}

/** Sum of entries 1^T x. */
export function sum(x: VecLike): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/** a x + b y as a new vector. */
export function lincomb(a: number, x: VecLike, b: number, y: VecLike): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = a * x[i] + b * y[i];
  return out;
}

/** s x as a new vector. */
export function scale(s: number, x: VecLike): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = s * x[i];
  return out;
}

/** The cosine x^T y / (|x| |y|), or 0 when either vector is zero. */
export function cosine(x: VecLike, y: VecLike): number {
  const d = norm(x) * norm(y);
  return d === 0 ? 0 : dot(x, y) / d;
}

/**
 * Window arithmetic shared by the reference ops, the runtime and the validator (Keras/tfjs rules).
 *
 * Effective kernel extent: e = (k - 1) d + 1. 'valid': out = floor((in - e) / s) + 1.
 * 'same': out = ceil(in / s), total padding p = max((out - 1) s + e - in, 0), split as
 * before = floor(p / 2) and after = p - before (TensorFlow's convention: the extra row goes after).
 */
export interface Axis {
  /** Output size along the axis. */
  out: number;
  /** Padding before the first input element. */
  padBefore: number;
}

/** Output size and leading padding of one spatial axis. `out` is <= 0 when the window does not fit. */
export function windowAxis(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: 'valid' | 'same',
): Axis {
  const extent = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.floor((size - extent) / stride) + 1, padBefore: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + extent - size, 0);
  return { out, padBefore: Math.floor(total / 2) };
}

/** Number of 32-bit words that hold `c` packed bits: ceil(c / 32). */
export function wordsFor(c: number): number {
  return Math.ceil(c / 32);
}

/** Product of the entries of `shape` (1 for []). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

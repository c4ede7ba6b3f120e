/**
 * Helpers for lowbit's cross-backend tests: seeded tensors, running the same computation on two
 * backends, and comparing results by relative error. Not part of the public API.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../util/random.js';

/** A seeded standard-normal array of the given shape's size. */
export function seededValues(shape: readonly number[], seed: number): Float32Array {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** Runs `f` with `backend` active and returns the values of every tensor it returns. */
export async function runOn(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const values = await Promise.all(list.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose(list);
  return values;
}

/** max |a - b| / max(1, max |b|): the error of `a` relative to the scale of reference `b`. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= err)) err = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return err / scale;
}

/**
 * Runs `f` on 'cpu' (reference) and on `backend`, and returns the largest relative error over all
 * returned tensors (see {@link relError}), and whether shapes of the outputs agree in count.
 */
export async function compareBackends(
  f: () => tf.Tensor | tf.Tensor[],
  backend = 'wasm',
): Promise<{ err: number; count: number }> {
  const ref = await runOn('cpu', f);
  const got = await runOn(backend, f);
  if (ref.length !== got.length) return { err: Number.POSITIVE_INFINITY, count: got.length };
  let err = 0;
  for (let i = 0; i < ref.length; i++) err = Math.max(err, relError(got[i]!, ref[i]!));
  return { err, count: got.length };
}

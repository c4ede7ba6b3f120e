import { sizeOf, wordsFor } from '../shapes.js';
import type { BitTensor, FloatTensor } from './tensor.js';

/** Number of set bits of a 32-bit value (SWAR popcount). */
export function popcount32(v: number): number {
  v >>>= 0;
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/**
 * Binarizes and packs a float tensor along its last axis: bit = 1 iff x < 0, so sign(0) = +1
 * (and -0, NaN map to +1). Channel c of a pixel goes to bit c % 32 of word floor(c / 32).
 */
export function packSigns(data: Float32Array, shape: number[]): BitTensor {
  const c = shape[shape.length - 1];
  const pixels = sizeOf(shape.slice(0, -1));
  const words = wordsFor(c);
  const out = new Uint32Array(pixels * words);
  for (let p = 0; p < pixels; p++)
    for (let i = 0; i < c; i++) if (data[p * c + i] < 0) out[p * words + (i >> 5)] |= 1 << (i & 31);
  return { kind: 'bits', shape: [...shape], data: out };
}

/** Unpacks signs to +-1 floats: bit 1 -> -1, bit 0 -> +1. */
export function unpackSigns(t: BitTensor): FloatTensor {
  const c = t.shape[t.shape.length - 1];
  const pixels = sizeOf(t.shape.slice(0, -1));
  const words = wordsFor(c);
  const out = new Float32Array(pixels * c);
  for (let p = 0; p < pixels; p++)
    for (let i = 0; i < c; i++) out[p * c + i] = (t.data[p * words + (i >> 5)] >>> (i & 31)) & 1 ? -1 : 1;
  return { kind: 'float', shape: [...t.shape], data: out };
}

/** Reads the sign of element `i` of a packed row of `words`-word pixels: +1 or -1. */
export function signAt(data: Uint32Array, wordOffset: number, i: number): 1 | -1 {
  return (data[wordOffset + (i >> 5)] >>> (i & 31)) & 1 ? -1 : 1;
}

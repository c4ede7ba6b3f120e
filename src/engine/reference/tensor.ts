import { sizeOf, wordsFor } from '../shapes.js';

/** A float32 tensor with its full shape (batch first). */
export interface FloatTensor {
  kind: 'float';
  shape: number[];
  data: Float32Array;
}

/**
 * A bitpacked sign tensor with its logical shape (batch first, channels last). Each pixel (every
 * index of the outer axes) owns ceil(C / 32) words; channel c is bit c % 32 of word floor(c / 32),
 * bit 1 = -1, bit 0 = +1, padding bits 0.
 */
export interface BitTensor {
  kind: 'bits';
  shape: number[];
  data: Uint32Array;
}

/** A float or bitpacked tensor. */
export type Tensor = FloatTensor | BitTensor;

/** Number of 32-bit words a bit tensor of this logical shape occupies. */
export function bitWords(shape: readonly number[]): number {
  return sizeOf(shape.slice(0, -1)) * wordsFor(shape[shape.length - 1]);
}

/**
 * How the converter reads a lowbit quantizer: by its `precision` and by what its forward function
 * actually computes (probed on numbers), never by its class. A quantizer the engine cannot run
 * exactly gives an {@link UnsupportedError}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedError } from '../../errors.js';

/** The minimal view of a lowbit quantizer the converter needs. */
export interface QuantizerLike {
  /** Bits per quantized value (1 = binary). */
  readonly precision: number;
  /** The forward function (with its pseudo-gradient, unused here). */
  quantize(x: tf.Tensor): tf.Tensor;
  getClassName(): string;
}

/**
 * Probe values for input quantizers: both signs, zero and negative zero, small and huge values, the
 * usual clip edges. (No magnitudes below 1e-3: tfjs-backend-wasm 4.22's Sign kernel returns 0 for
 * negative numbers of magnitude below about 1e-7, so lowbit's sign maps them to +1 on that backend.)
 */
export const SIGN_PROBE: readonly number[] = [
  -1e6, -3, -1.25, -1, -0.5, -1e-3, -0, 0, 1e-3, 0.5, 1, 1.25, 3, 1e6,
];

/** Larq's sign: +1 for x >= 0 (including -0), -1 for x < 0. */
export function larqSign(x: number): number {
  return x < 0 ? -1 : 1;
}

/** What an input quantizer computes, as far as the engine is concerned. */
export type InputKind = 'float' | 'sign';

/**
 * Classifies an input quantizer: `null` or an identity (q(x) = x on the probe, e.g. NoOp) gives
 * 'float'; precision 1 with q(x) = sign(x) (+1 at 0) on the probe gives 'sign' (ste_sign,
 * approx_sign, swish_sign: the engine's `binarize`). Anything else (heaviside, k-bit, ternary,
 * scaled signs of activations) is unsupported.
 *
 * @param where e.g. `"QuantConv2D 'conv1' inputQuantizer"`, for the error message.
 */
export function inputKind(q: QuantizerLike | null, where: string): InputKind {
  if (q === null) return 'float';
  const out = tf.tidy(() => Array.from(q.quantize(tf.tensor1d([...SIGN_PROBE])).dataSync()));
  if (out.every((v, i) => Object.is(v, SIGN_PROBE[i]) || v === SIGN_PROBE[i])) return 'float';
  const isSign = out.every((v, i) => v === larqSign(SIGN_PROBE[i]));
  if (q.precision === 1 && isSign) return 'sign';
  throw new UnsupportedError(
    `${where} ${q.getClassName()} (precision ${q.precision}, q(${SIGN_PROBE.slice(3, 10).join(', ')}) = ` +
      `${out.slice(3, 10).join(', ')})`,
    'no input quantizer, an identity, or a precision-1 quantizer whose forward is sign(x) with sign(0) = +1 (ste_sign, approx_sign, swish_sign)',
  );
}

/** A kernel as the engine stores it. */
export type KernelForm =
  | { kind: 'float'; values: Float32Array }
  | {
      kind: 'binary';
      /** The quantized kernel (the signs carry the bits: bit = 1 iff value < 0). */
      values: Float32Array;
      /** Per output channel (last axis) magnitude s: every value of channel c is +-s[c]; undefined when all are 1. */
      scale?: Float32Array;
    };

/**
 * Reads a layer's kernel the way tfjs computes with it: q(latent) for a quantized kernel.
 * 'float' when there is no quantizer or q is the identity on this kernel; 'binary' when q has
 * precision 1 and every output channel c (last axis) holds only +s[c] and -s[c] (ste_sign and its
 * relatives give s = 1; magnitude_aware_sign gives s = mean |w|). Anything else (ternary, k-bit,
 * a precision-1 quantizer with other values) is unsupported.
 */
export function kernelForm(q: QuantizerLike | null, latent: tf.Tensor, where: string): KernelForm {
  const raw = latent.dataSync() as Float32Array;
  if (q === null) return { kind: 'float', values: Float32Array.from(raw) };
  const values = tf.tidy(() => Float32Array.from(q.quantize(latent).dataSync()));
  if (values.every((v, i) => v === raw[i])) return { kind: 'float', values };
  if (q.precision !== 1)
    throw new UnsupportedError(
      `${where} ${q.getClassName()} (precision ${q.precision}, e.g. a ternary or k-bit kernel)`,
      'float kernels (no quantizer) and binary kernels (precision 1, values +-s per output channel: ste_sign, approx_sign, swish_sign, magnitude_aware_sign)',
    );
  const channels = latent.shape[latent.shape.length - 1];
  const scale = new Float32Array(channels).fill(Number.NaN);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    const m = Math.abs(values[i]);
    if (Number.isNaN(scale[c])) scale[c] = m;
    else if (scale[c] !== m)
      throw new UnsupportedError(
        `${where} ${q.getClassName()} (output channel ${c} holds values of magnitude ${scale[c]} and ${m})`,
        'binary kernels whose values are +-s with one s per output channel',
      );
  }
  return { kind: 'binary', values, scale: scale.every((s) => s === 1) ? undefined : scale };
}

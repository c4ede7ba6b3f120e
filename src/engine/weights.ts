import { ShapeError } from '../errors.js';
import { sizeOf, wordsFor } from './shapes.js';

/**
 * Helpers that turn Keras/tfjs float weights into the engine's constants (for the converter).
 * Binary weights are the signs of the latent kernel with Larq's convention sign(0) = +1:
 * bit = 1 iff w < 0.
 */

function expectLength(where: string, data: ArrayLike<number>, shape: number[]): void {
  if (data.length !== sizeOf(shape))
    throw new ShapeError({
      where,
      received: `${data.length} values`,
      expected: `${sizeOf(shape)} values for shape [${shape.join(', ')}]`,
    });
}

/**
 * Packs a conv kernel in tfjs's HWIO layout [kh, kw, Cin, Cout] into the engine's binary layout
 * uint32 [Cout, kh, kw, ceil(Cin/32)]: bit c % 32 of word floor(c / 32) of (o, ky, kx) is 1 iff
 * w[ky, kx, c, o] < 0.
 */
export function packConvKernel(
  hwio: ArrayLike<number>,
  shape: [number, number, number, number],
): Uint32Array {
  expectLength('packConvKernel kernel', hwio, shape);
  const [kh, kw, cin, cout] = shape;
  const cw = wordsFor(cin);
  const out = new Uint32Array(cout * kh * kw * cw);
  for (let t = 0; t < kh * kw; t++)
    for (let c = 0; c < cin; c++)
      for (let o = 0; o < cout; o++)
        if (hwio[(t * cin + c) * cout + o] < 0) out[(o * kh * kw + t) * cw + (c >> 5)] |= 1 << (c & 31);
  return out;
}

/**
 * Packs a dense kernel [K, units] (tfjs layout) for an engine dense op. With `inputShape` [C] (or
 * omitted) the result is uint32 [units, ceil(K/32)]; with `inputShape` [H, W, C] (a Dense after a
 * Flatten of NHWC, K = H W C in Keras's (h, w, c) order) it is uint32 [units, H, W, ceil(C/32)],
 * the per-pixel word layout `bdense` reads straight from a packed [N, H, W, C] tensor.
 */
export function packDenseKernel(
  kernel: ArrayLike<number>,
  shape: [number, number],
  inputShape?: number[],
): Uint32Array {
  expectLength('packDenseKernel kernel', kernel, shape);
  const [k, units] = shape;
  const inner = inputShape ?? [k];
  if (sizeOf(inner) !== k)
    throw new ShapeError({
      where: 'packDenseKernel inputShape',
      received: inner,
      expected: `dimensions whose product is K = ${k}`,
    });
  const c = inner[inner.length - 1];
  const pixels = k / c;
  const cw = wordsFor(c);
  const out = new Uint32Array(units * pixels * cw);
  for (let p = 0; p < pixels; p++)
    for (let i = 0; i < c; i++)
      for (let u = 0; u < units; u++)
        if (kernel[(p * c + i) * units + u] < 0) out[(u * pixels + p) * cw + (i >> 5)] |= 1 << (i & 31);
  return out;
}

/** Parameters of a Keras BatchNormalization layer in inference mode (missing gamma = 1, beta = 0). */
export interface BatchNormParams {
  gamma?: ArrayLike<number>;
  beta?: ArrayLike<number>;
  movingMean: ArrayLike<number>;
  movingVariance: ArrayLike<number>;
  /** Keras's default is 1e-3. */
  epsilon: number;
}

/**
 * Folds an inference-mode BatchNorm y = gamma (x - mean) / sqrt(var + eps) + beta into a per-channel
 * affine map y = x * multiplier + bias: multiplier = gamma / sqrt(var + eps), bias = beta - mean * multiplier
 * (computed in float64, stored as float32; Ioffe and Szegedy 2015).
 */
export function foldBatchNorm(bn: BatchNormParams): { multiplier: Float32Array; bias: Float32Array } {
  const c = bn.movingMean.length;
  for (const [name, v] of [
    ['movingVariance', bn.movingVariance],
    ['gamma', bn.gamma],
    ['beta', bn.beta],
  ] as const)
    if (v && v.length !== c)
      throw new ShapeError({
        where: `foldBatchNorm ${name}`,
        received: `${v.length} values`,
        expected: `${c} values like movingMean`,
      });
  const multiplier = new Float32Array(c);
  const bias = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const m = (bn.gamma?.[i] ?? 1) / Math.sqrt(bn.movingVariance[i] + bn.epsilon);
    multiplier[i] = m;
    bias[i] = (bn.beta?.[i] ?? 0) - bn.movingMean[i] * m;
  }
  return { multiplier, bias };
}

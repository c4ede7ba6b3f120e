/**
 * Unshared-weight ("locally connected") 2-D convolution built from tfjs ops that have gradients on
 * every backend (pad, slice, reshape, stack, transpose, batched matMul: no gather, whose gradient
 * needs UnsortedSegmentSum, which tfjs-backend-wasm lacks).
 */
import * as tfc from '@tensorflow/tfjs-core';
import type { DataFormat } from '@tensorflow/tfjs-layers/dist/keras_format/common.js';
import { ShapeError } from '../../errors.js';

/** Padding modes of the locally connected layers. */
export type LocalPadding = 'valid' | 'same';

/**
 * Output length of a locally connected layer along one axis (Keras' `conv_output_length`):
 * valid: ceil((n - k + 1) / s); same: ceil(n / s).
 */
export function localOutputLength(n: number, k: number, s: number, padding: LocalPadding): number {
  const len = padding === 'same' ? n : n - k + 1;
  return Math.floor((len + s - 1) / s);
}

/**
 * Index of the first input element of output position `o` along one axis (may be negative: zero
 * padding). valid: o s; same: o s - floor(k / 2), Keras' `conv_connected_inputs`, which centres
 * the window on o s. Note that this differs from tf.conv2d's 'same' (which pads
 * floor((total padding) / 2) before) when k is even or s > 1.
 */
export function localWindowStart(o: number, k: number, s: number, padding: LocalPadding): number {
  return padding === 'same' ? o * s - Math.floor(k / 2) : o * s;
}

/** Geometry of a locally connected 2-D layer. */
export interface LocalConvGeometry {
  /** Window size [kh, kw]. */
  kernelSize: readonly [number, number];
  /** Window step [sh, sw]. */
  strides: readonly [number, number];
  /** 'valid' or 'same' (Keras' centred windows, see {@link localWindowStart}). */
  padding: LocalPadding;
  /** Layout of the input and output. */
  dataFormat: DataFormat;
}

/**
 * Keras' `local_conv` (LocallyConnected2D, implementation 1) on a rank-4 input:
 *
 *   y[b, i, j, f] = sum_{di, dj, c} x[b, i sh + di - ph, j sw + dj - pw, c] W[i ow + j, q(di, dj, c), f]
 *
 * with x zero outside the input, ph = pw = 0 for 'valid' and floor(k / 2) for 'same', and the
 * feature index q = (di kw + dj) Cin + c for channelsLast, q = (c kh + di) kw + dj for channelsFirst
 * (Keras flattens each input patch in the input's own axis order).
 *
 * @param x input, [B, H, W, Cin] (channelsLast) or [B, Cin, H, W] (channelsFirst).
 * @param kernel [outH * outW, kh * kw * Cin, filters].
 * @returns [B, outH, outW, filters] (channelsLast) or [B, filters, outH, outW] (channelsFirst),
 *   without bias.
 */
export function localConv2d(
  x: tfc.Tensor4D,
  kernel: tfc.Tensor3D,
  geometry: LocalConvGeometry,
): tfc.Tensor4D {
  return tfc.tidy(() => {
    const { kernelSize, strides, padding, dataFormat } = geometry;
    const [kh, kw] = kernelSize;
    const [sh, sw] = strides;
    const channelsFirst = dataFormat === 'channelsFirst';
    const [batch, height, width, channels] = channelsFirst
      ? [x.shape[0], x.shape[2], x.shape[3], x.shape[1]]
      : x.shape;
    const outH = localOutputLength(height, kh, sh, padding);
    const outW = localOutputLength(width, kw, sw, padding);
    const positions = outH * outW;
    const features = kh * kw * channels;
    if (outH < 1 || outW < 1) {
      throw new ShapeError({
        where: 'localConv2d input',
        received: x.shape,
        expected: `spatial size >= kernel size ${kh}x${kw} with padding 'valid'`,
      });
    }
    if (kernel.shape[0] !== positions || kernel.shape[1] !== features) {
      throw new ShapeError({
        where: 'localConv2d kernel',
        received: kernel.shape,
        expected: `[${positions}, ${features}, filters] for input shape [${x.shape.join(', ')}]`,
      });
    }
    const filters = kernel.shape[2];

    // Work in [H, W, B, C]: every patch slice is then [outH, outW, B, C], and stacking the kh * kw
    // patches next to B gives the [positions, B, features] operand of the batched matMul directly.
    const hwbc = tfc.transpose(x, channelsFirst ? [2, 3, 0, 1] : [1, 2, 0, 3]);
    // Pad so that every window exists, plus zeros at the end so that each strided patch can be read
    // as a contiguous [outH * sh, outW * sw] block (the extra rows and columns are never used).
    // Zeros before the input: -(start of the first window), 0 for 'valid', floor(k / 2) for 'same'.
    const padTop = Math.max(0, -localWindowStart(0, kh, sh, padding));
    const padLeft = Math.max(0, -localWindowStart(0, kw, sw, padding));
    const padBottom = Math.max(0, kh - 1 + outH * sh - padTop - height);
    const padRight = Math.max(0, kw - 1 + outW * sw - padLeft - width);
    const padded =
      padTop + padBottom + padLeft + padRight > 0
        ? tfc.pad(hwbc, [
            [padTop, padBottom],
            [padLeft, padRight],
            [0, 0],
            [0, 0],
          ])
        : hwbc;

    const patches: tfc.Tensor4D[] = [];
    for (let di = 0; di < kh; di++) {
      for (let dj = 0; dj < kw; dj++) {
        let patch: tfc.Tensor = tfc.slice(padded, [di, dj, 0, 0], [outH * sh, outW * sw, batch, channels]);
        if (sh > 1 || sw > 1) {
          // Keep every sh-th row and sw-th column: reshape to [outH, sh, outW, sw, B, C], take index 0.
          patch = tfc.reshape(patch, [outH, sh, outW, sw, batch, channels]);
          patch = tfc.slice(patch, [0, 0, 0, 0, 0, 0], [outH, 1, outW, 1, batch, channels]);
        }
        patches.push(tfc.reshape(patch, [outH, outW, batch, channels]));
      }
    }
    // channelsLast: [outH, outW, B, kh*kw, C] -> q = (di kw + dj) C + c;
    // channelsFirst: [outH, outW, B, C, kh*kw] -> q = c kh kw + di kw + dj.
    const stacked = tfc.stack(patches, channelsFirst ? 4 : 3);
    const columns = tfc.reshape(stacked, [positions, batch, features]) as tfc.Tensor3D;
    const product = tfc.matMul(columns, kernel); // [positions, B, filters]
    const grid = tfc.reshape(product, [outH, outW, batch, filters]);
    return tfc.transpose(grid, channelsFirst ? [2, 3, 0, 1] : [2, 0, 1, 3]) as tfc.Tensor4D;
  });
}

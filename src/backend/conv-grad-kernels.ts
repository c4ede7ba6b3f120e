/**
 * Convolution gradient kernels built from ops every backend has: for backends that lack them
 * (tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter or
 * DepthwiseConv2dNativeBackpropInput; upstream tensorflow/tfjs issues 8474 and 8082), and to replace
 * wasm kernels that are slow (Conv2DBackpropInput) or wrong (Conv3DBackpropInputV2, and
 * Conv3DBackpropFilterV2 for strides > 1). Each is written as forward convolutions, which run on
 * XNNPACK, plus data movement.
 *
 * Each kernel runs its ops inside `tf.tidy` and returns a Tensor, which the engine accepts as a kernel
 * output. Ops run inside a kernel are not recorded on the gradient tape (the engine stops taping while
 * a kernel runs), so these kernels are safe to use from gradient functions.
 *
 * Notation: x is NHWC [B, H, W, Ci], dy is [B, OH, OW, Co], s = stride, d = dilation, and
 * (pt, pl) the top/left padding, so output (oh, ow) reads input rows oh*s + i*d - pt.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterBinary, conv2DBackpropInputBinary } from './binary-conv-kernels.js';
import { type ConvCi1Args, heapKernels, heapOffset } from './heap-kernels.js';
import type { KernelArgs } from './kernel-registry.js';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

/** Pads (positive) or crops (negative) `before`/`after` elements along each spatial axis 1 and 2. */
function padOrCrop4(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let y = x;
  const [b, h, w, c] = y.shape;
  const cropT = Math.max(0, -top);
  const cropB = Math.max(0, -bottom);
  const cropL = Math.max(0, -left);
  const cropR = Math.max(0, -right);
  if (cropT + cropB + cropL + cropR > 0) {
    y = tf.slice(y, [0, cropT, cropL, 0], [b, h - cropT - cropB, w - cropL - cropR, c]);
  }
  const pT = Math.max(0, top);
  const pB = Math.max(0, bottom);
  const pL = Math.max(0, left);
  const pR = Math.max(0, right);
  if (pT + pB + pL + pR > 0) {
    y = tf.pad(y, [
      [0, 0],
      [pT, pB],
      [pL, pR],
      [0, 0],
    ]);
  }
  return y;
}

/** Inserts (sh - 1) zero rows and (sw - 1) zero columns between the elements of x: [B, (H-1)*sh+1, (W-1)*sw+1, C]. */
export function dilateSpatial(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [b, h, w, c] = x.shape;
  const r = tf.reshape(x, [b, h, 1, w, 1, c]);
  const p = tf.pad(r, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const full = tf.reshape(p, [b, h * sh, w * sw, c]) as tf.Tensor4D;
  return tf.slice(full, [0, 0, 0, 0], [b, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/** Explicit NCHW paddings list [N, C, H, W] pairs; reorder them to NHWC. */
function padToNHWC(pad: Pad, dataFormat: string | undefined): Pad {
  if (dataFormat !== 'NCHW' || !Array.isArray(pad)) return pad;
  return [pad[0]!, pad[2]!, pad[3]!, pad[1]!] as tf.backend_util.ExplicitPadding;
}

function toNHWC(t: tf.Tensor4D, dataFormat: string | undefined): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(t, [0, 2, 3, 1]) : t;
}

/**
 * The inputs of a Conv2DBackpropFilter kernel in NHWC, with the convolution's geometry. Call inside
 * tf.tidy: the layout conversion may create tensors.
 */
function filterGradientInputs(args: KernelArgs): {
  xh: tf.Tensor4D;
  dyh: tf.Tensor4D;
  info: tf.backend_util.Conv2DInfo;
} {
  const { x, dy } = args.inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as {
    strides: [number, number] | number;
    pad: Pad;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode: Rounding;
    filterShape: Shape4;
  };
  const xh = toNHWC(x, dataFormat);
  const dyh = toNHWC(dy, dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    xh.shape,
    filterShape,
    strides,
    1,
    padToNHWC(pad, dataFormat),
    dimRoundingMode,
    false,
    'channelsLast',
  );
  return { xh, dyh, info };
}

/**
 * Conv2DBackpropFilter: dW[i, j, c, o] = sum over b, oh, ow of xpad[b, oh*s + i, ow*s + j, c] * dy[b, oh, ow, o].
 *
 * Computed as one forward conv2d over transposed tensors: with x' = xpad transposed to [Ci, Hp, Wp, B]
 * (batch and channels swapped) and dy' = dy transposed to [OH, OW, B, Co] used as the filter,
 * conv2d(x', dy', dilation = s) is [Ci, fh, fw, Co], which is dW transposed. This uses the backend's
 * fast forward convolution; measured against im2col + matMul in bench/backend-bench.ts.
 */
export function conv2DBackpropFilterFromOps(args: KernelArgs): tf.Tensor {
  return tf.tidy(() => {
    const { xh, dyh, info } = filterGradientInputs(args);
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const { outHeight: oh, outWidth: ow } = info;
    // Rows of the padded input that any window reads: fh + (oh - 1) * sh; crop the rest so that the
    // transposed convolution's output is exactly [fh, fw].
    const needH = fh + (oh - 1) * sh;
    const needW = fw + (ow - 1) * sw;
    const [, h, w] = xh.shape;
    const { top, left } = info.padInfo;
    const xp = padOrCrop4(xh, top, needH - h - top, left, needW - w - left);
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [Ci, needH, needW, B]
    const dyt = tf.transpose(dyh, [1, 2, 0, 3]); // [OH, OW, B, Co]
    const g = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [sh, sw]); // [Ci, fh, fw, Co]
    return tf.transpose(g, [1, 2, 0, 3]);
  });
}

/**
 * Conv2DBackpropFilter by im2col (strided views) + matMul: patches P[(b, oh, ow), (i, j, c)] = xpad[b, oh*s + i, ow*s + j, c],
 * dW = reshape(P^T dy). An alternative to {@link conv2DBackpropFilterFromOps}, kept for the benchmark.
 */
export function conv2DBackpropFilterIm2col(args: KernelArgs): tf.Tensor {
  return tf.tidy(() => {
    const { xh, dyh, info } = filterGradientInputs(args);
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const { outHeight: oh, outWidth: ow, inChannels: ci, outChannels: co, batchSize: b } = info;
    const { top, left } = info.padInfo;
    const tap = stridedTaps(xh, top, left, fh + (oh - 1) * sh, fw + (ow - 1) * sw, sh, sw, oh, ow);
    const cols: tf.Tensor[] = [];
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) cols.push(tap(i, j));
    }
    const n = b * oh * ow;
    const patches = tf.reshape(tf.stack(cols, 3), [n, fh * fw * ci]);
    const g = tf.matMul(patches, tf.reshape(dyh, [n, co]), true, false);
    return tf.reshape(g, [fh, fw, ci, co]);
  });
}

/**
 * Returns a function giving, for a row/column offset (r, q), the strided view
 * xpad[:, r + s_h * (0..oh-1), q + s_w * (0..ow-1), :] as a [B, oh, ow, C] tensor, where xpad is x padded
 * by (top, left) and cropped or padded to (needH, needW). wasm's StridedSlice is a slow scalar loop, so
 * for strides > 1 the padded input is split once into its s_h*s_w phases with SpaceToBatchND
 * (phase (a, b) holds rows = a mod s_h, columns = b mod s_w) and each view is a contiguous slice of a phase.
 */
function stridedTaps(
  x: tf.Tensor4D,
  top: number,
  left: number,
  needH: number,
  needW: number,
  sh: number,
  sw: number,
  oh: number,
  ow: number,
): (r: number, q: number) => tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (sh === 1 && sw === 1) {
    const xp = padOrCrop4(x, top, needH - h - top, left, needW - w - left);
    return (r, q) => tf.slice(xp, [0, r, q, 0], [b, oh, ow, c]);
  }
  const hh = Math.ceil(needH / sh) * sh;
  const ww = Math.ceil(needW / sw) * sw;
  const xp = padOrCrop4(x, top, hh - h - top, left, ww - w - left);
  const phases = tf.spaceToBatchND(
    xp,
    [sh, sw],
    [
      [0, 0],
      [0, 0],
    ],
  ) as tf.Tensor4D; // [sh*sw*B, hh/sh, ww/sw, C]
  return (r, q) => {
    const phase = (r % sh) * sw + (q % sw);
    return tf.slice(phases, [phase * b, Math.floor(r / sh), Math.floor(q / sw), 0], [b, oh, ow, c]);
  };
}

interface DepthwiseAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: Pad;
  dimRoundingMode: Rounding;
  filterShape: Shape4;
  inputShape: Shape4;
}

/**
 * DepthwiseConv2dNativeBackpropFilter: with channel multiplier M and dy viewed as [B, OH, OW, C, M],
 * dW[i, j, c, m] = sum over b, oh, ow of xpad[b, oh*s + i*d, ow*s + j*d, c] * dy[b, oh, ow, c, m].
 * One strided slice, product and reduction per filter tap.
 */
export function depthwiseBackpropFilterFromOps(args: KernelArgs): tf.Tensor {
  const { x, dy } = args.inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as DepthwiseAttrs;
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      strides,
      dilations ?? 1,
      pad,
      dimRoundingMode,
      true,
    );
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { filterHeight: fh, filterWidth: fw, outHeight: oh, outWidth: ow, batchSize: b } = info;
    const c = info.inChannels;
    const m = filterShape[3];
    const needH = (fh - 1) * dh + (oh - 1) * sh + 1;
    const needW = (fw - 1) * dw + (ow - 1) * sw + 1;
    const { top, left } = info.padInfo;
    const n = b * oh * ow;
    const dy3 = tf.reshape(dy, [n, c, m]);
    const tapPatch = stridedTaps(x, top, left, needH, needW, sh, sw, oh, ow);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        const patch = tapPatch(i * dh, j * dw);
        taps.push(tf.sum(tf.mul(tf.reshape(patch, [n, c, 1]), dy3), 0));
      }
    }
    return tf.reshape(tf.stack(taps), [fh, fw, c, m]);
  });
}

/**
 * DepthwiseConv2dNativeBackpropInput: dx[b, p, q, c] = sum over i, j, m of
 * dy[b, (p + pt - i*d)/s, (q + pl - j*d)/s, c, m] * W[i, j, c, m] (terms with non-integer or out of
 * range indices are zero). Computed as a depthwise convolution of dy, dilated by the stride and padded,
 * with the spatially flipped filter (a transposed depthwise convolution), then summed over M.
 */
export function depthwiseBackpropInputFromOps(args: KernelArgs): tf.Tensor {
  const { dy, filter } = args.inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs as unknown as DepthwiseAttrs;
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      dilations ?? 1,
      pad,
      dimRoundingMode,
      true,
    );
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { filterHeight: fh, filterWidth: fw, batchSize: b } = info;
    const [, h, w, c] = inputShape;
    const m = filter.shape[3];
    const dyd = dilateSpatial(dy, sh, sw);
    const [, hd, wd] = dyd.shape;
    const { top, left } = info.padInfo;
    // Correlating dydpad with the flipped filter gives dx at padded-input row p + top when dydpad is dyd
    // with (fh - 1)*dh - top rows in front and enough rows behind for H outputs.
    const eh = (fh - 1) * dh;
    const ew = (fw - 1) * dw;
    const dyp = padOrCrop4(dyd, eh - top, h + top - hd, ew - left, w + left - wd);
    const flipped = tf.reverse(filter, [0, 1]);
    const f = tf.reshape(flipped, [fh, fw, c * m, 1]) as tf.Tensor4D;
    const out = tf.depthwiseConv2d(dyp, f, 1, 'valid', 'NHWC', [dh, dw]); // [B, H, W, C*M]
    return m === 1 ? out : tf.sum(tf.reshape(out, [b, h, w, c, m]), 4);
  });
}

type Pad3 = 'valid' | 'same';

/**
 * Inserts (stride - 1) zeros between consecutive elements along `axis` (rank-4 pads only: XNNPACK's
 * pad supports at most rank 6, so a rank-8 reshape of a 5-D tensor would fail).
 */
function dilateAxis<T extends tf.Tensor>(x: T, axis: number, stride: number): T {
  if (stride === 1) return x;
  const shape = x.shape;
  const n = shape[axis]!;
  const pre = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const post = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const r = tf.reshape(x, [pre, n, 1, post]);
  const p = tf.pad(r, [
    [0, 0],
    [0, 0],
    [0, stride - 1],
    [0, 0],
  ]);
  const full = tf.reshape(p, [pre, n * stride, post]);
  const cut = tf.slice(full, [0, 0, 0], [pre, (n - 1) * stride + 1, post]);
  const out = [...shape];
  out[axis] = (n - 1) * stride + 1;
  return tf.reshape(cut, out) as T;
}
type Shape5 = [number, number, number, number, number];

/** Pads (positive) or crops (negative) axes 1, 2 and 3 of a rank-5 tensor by [before, after] pairs. */
function padOrCrop5(x: tf.Tensor5D, p: [number, number][]): tf.Tensor5D {
  let y = x;
  const crop = p.map(([a, b]) => [Math.max(0, -a), Math.max(0, -b)] as const);
  if (crop.some(([a, b]) => a + b > 0)) {
    const begin = [0, ...crop.map(([a]) => a), 0];
    const size = y.shape.map((n, i) => (i === 0 || i === 4 ? n : n - crop[i - 1]![0] - crop[i - 1]![1]));
    y = tf.slice(y, begin, size);
  }
  const pads = p.map(([a, b]) => [Math.max(0, a), Math.max(0, b)] as [number, number]);
  if (pads.some(([a, b]) => a + b > 0)) y = tf.pad(y, [[0, 0], ...pads, [0, 0]]);
  return y;
}

/**
 * Conv3DBackpropFilterV2 (tfjs-backend-wasm 4.22's is wrong for strides > 1): the 3-D version of
 * {@link conv2DBackpropFilterFromOps}, conv3d(x transposed to [Ci, D, H, W, B], dy transposed to
 * [OD, OH, OW, B, Co], dilation = stride) = dW transposed.
 */
export function conv3DBackpropFilterFromOps(args: KernelArgs): tf.Tensor {
  const { x, dy } = args.inputs as { x: tf.Tensor5D; dy: tf.Tensor5D };
  const { strides, pad, filterShape } = args.attrs as unknown as {
    strides: [number, number, number] | number;
    pad: Pad3;
    filterShape: Shape5;
  };
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv3DInfo(x.shape, filterShape, strides, 1, pad);
    const s = [info.strideDepth, info.strideHeight, info.strideWidth];
    const k = [info.filterDepth, info.filterHeight, info.filterWidth];
    const o = [info.outDepth, info.outHeight, info.outWidth];
    const before = [info.padInfo.front, info.padInfo.top, info.padInfo.left];
    const need = k.map((kk, i) => kk + (o[i]! - 1) * s[i]!);
    const xp = padOrCrop5(
      x,
      before.map((b, i) => [b!, need[i]! - x.shape[i + 1]! - b!]),
    );
    const xt = tf.transpose(xp, [4, 1, 2, 3, 0]);
    const dyt = tf.transpose(dy, [1, 2, 3, 0, 4]);
    const g = tf.conv3d(xt, dyt, 1, 'valid', 'NDHWC', s as [number, number, number]);
    return tf.transpose(g, [1, 2, 3, 0, 4]);
  });
}

/**
 * Conv3DBackpropInputV2 (tfjs-backend-wasm 4.22's gives wrong values): dx is the full correlation of
 * dy, dilated by the stride and padded, with the filter flipped in space and with its channel axes
 * swapped: dx = conv3d(pad(dilate(dy)), W[::-1, ::-1, ::-1] transposed to [fd, fh, fw, Co, Ci]).
 */
export function conv3DBackpropInputFromOps(args: KernelArgs): tf.Tensor {
  const { dy, filter } = args.inputs as { dy: tf.Tensor5D; filter: tf.Tensor5D };
  const { strides, pad, inputShape } = args.attrs as unknown as {
    strides: [number, number, number] | number;
    pad: Pad3;
    inputShape: Shape5;
  };
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv3DInfo(inputShape, filter.shape, strides, 1, pad);
    const s = [info.strideDepth, info.strideHeight, info.strideWidth];
    const k = [info.filterDepth, info.filterHeight, info.filterWidth];
    const before = [info.padInfo.front, info.padInfo.top, info.padInfo.left];
    let dyd: tf.Tensor5D = dy;
    for (let axis = 1; axis <= 3; axis++) dyd = dilateAxis(dyd, axis, s[axis - 1]!);
    const dyp = padOrCrop5(
      dyd,
      k.map((kk, i) => [kk - 1 - before[i]!, inputShape[i + 1]! + before[i]! - dyd.shape[i + 1]!]),
    );
    const f = tf.transpose(tf.reverse(filter, [0, 1, 2]), [0, 1, 2, 4, 3]) as tf.Tensor5D;
    return tf.conv3d(dyp, f, 1, 'valid');
  });
}

/**
 * Conv2DBackpropInput as a forward convolution (the stock wasm kernel is a scalar loop, the largest
 * cost of a CNN training step): dx = conv2d(pad(dilate(dy, s)), W[::-1, ::-1] with its channel axes
 * swapped to [fh, fw, Co, Ci]), 'valid', which runs on the backend's fast forward convolution. The
 * padding puts (fh - 1 - pt) rows in front so that output row p reads dy rows (p + pt - i)/s.
 */
export function conv2DBackpropInputFromOps(args: KernelArgs): tf.Tensor {
  const { dy, filter } = args.inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as {
    strides: [number, number] | number;
    pad: Pad;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode: Rounding;
    inputShape: Shape4;
  };
  return tf.tidy(() => {
    const nchw = dataFormat === 'NCHW';
    const dyh = toNHWC(dy, dataFormat);
    const xShape: Shape4 = nchw ? [inputShape[0], inputShape[2], inputShape[3], inputShape[1]] : inputShape;
    const info = tf.backend_util.computeConv2DInfo(
      xShape,
      filter.shape,
      strides,
      1,
      padToNHWC(pad, dataFormat),
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const [, h, w] = xShape;
    const { top, left } = info.padInfo;
    const dyd = dilateSpatial(dyh, sh, sw);
    const [, hd, wd] = dyd.shape;
    const dyp = padOrCrop4(dyd, fh - 1 - top, h + top - hd, fw - 1 - left, w + left - wd);
    const f = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const dx = tf.conv2d(dyp, f, 1, 'valid');
    return nchw ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
}

/**
 * Conv2DBackpropFilter through patches extracted by a depthwise convolution with one-hot filters
 * (P[b, oh, ow, c*fh*fw + i*fw + j] = xpad[b, oh*s + i, ow*s + j, c]), then one matrix product
 * dW' = P^T dy. Much faster than {@link conv2DBackpropFilterFromOps} when Ci is small (a first layer on
 * images: XNNPACK handles the transposed formulation's huge, thin filter poorly), slower otherwise.
 */
export function conv2DBackpropFilterPatches(args: KernelArgs): tf.Tensor {
  const { x, dy } = args.inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as {
    strides: [number, number] | number;
    pad: Pad;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode: Rounding;
    filterShape: Shape4;
  };
  return tf.tidy(() => {
    const xh = toNHWC(x, dataFormat);
    const dyh = toNHWC(dy, dataFormat);
    const [fh, fw, ci, co] = filterShape;
    const k = fh * fw;
    // One-hot depthwise filter [fh, fw, Ci, k]: tap (i, j) of every channel goes to output i*fw + j.
    const eye = tf.reshape(tf.eye(k), [fh, fw, 1, k]);
    const onehot = tf.tile(eye, [1, 1, ci, 1]) as tf.Tensor4D;
    const patches = tf.depthwiseConv2d(
      xh,
      onehot,
      strides,
      padToNHWC(pad, dataFormat) as 'same',
      'NHWC',
      1,
      dimRoundingMode,
    );
    const [b, oh, ow] = patches.shape;
    const n = b * oh * ow;
    const g = tf.matMul(tf.reshape(patches, [n, ci * k]), tf.reshape(dyh, [n, co]), true, false); // [Ci*k, Co]
    return tf.transpose(tf.reshape(g, [ci, fh, fw, co]), [1, 2, 0, 3]);
  });
}

/**
 * The registered Conv2DBackpropFilter: on wasm SIMD, the table-lookup kernel when x is exactly +-1
 * ({@link conv2DBackpropFilterBinary}: a binarized layer's quantized input) and the one-input-channel
 * kernel for Ci = 1; otherwise patches + matMul for Ci <= 3, the transposed convolution
 * otherwise (measured crossover on wasm, 2 cores: Ci = 1 took 71 vs 270 ms for x = [256, 28, 28, 1],
 * Ci = 3 about equal, Ci >= 8 about twice as fast transposed; see bench/backend-bench.ts).
 */
export function conv2DBackpropFilterAuto(args: KernelArgs): tf.Tensor | tf.TensorInfo {
  const { filterShape } = args.attrs as unknown as { filterShape: Shape4 };
  return (
    conv2DBackpropFilterCi1Simd(args) ??
    conv2DBackpropFilterBinary(args) ??
    (filterShape[2] <= 3 ? conv2DBackpropFilterPatches(args) : conv2DBackpropFilterFromOps(args))
  );
}

/**
 * The geometry arguments of the one-input-channel SIMD kernels, or null if lowbit's wasm SIMD kernels
 * cannot run this gradient (not wasm, no SIMD, NCHW, more than one input channel, not float32).
 */
function ci1Geometry(
  args: KernelArgs,
  xShape: Shape4,
  filterShape: Shape4,
  dtypes: tf.DataType[],
): { info: tf.backend_util.Conv2DInfo; geometry: ConvCi1Args } | null {
  const { strides, pad, dataFormat, dimRoundingMode } = args.attrs as unknown as {
    strides: [number, number] | number;
    pad: Pad;
    dataFormat?: string;
    dimRoundingMode: Rounding;
  };
  if (filterShape[2] !== 1 || dataFormat === 'NCHW' || dtypes.some((d) => d !== 'float32')) return null;
  if (heapKernels(args.backend) == null) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
  const geometry: ConvCi1Args = [
    0,
    0,
    0,
    batchSize,
    inHeight,
    inWidth,
    outHeight,
    outWidth,
    filterHeight,
    filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.outChannels,
  ];
  return { info, geometry };
}

/**
 * Conv2DBackpropFilter for one input channel (a network's first layer) on lowbit's wasm SIMD kernel:
 * dW[i, j, 0, o] = sum over (b, oy, ox) of x[b, oy*s + i - pt, ox*s + j - pl] * dy[b, oy, ox, o], one
 * pass over dy, vectorized over output channels (the patches + matMul form packed all of dy for
 * XNNPACK: 11.4 ms for larq-intro-cnn's first layer). Null where the kernel cannot run.
 */
export function conv2DBackpropFilterCi1Simd(args: KernelArgs): tf.TensorInfo | null {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { filterShape } = args.attrs as unknown as { filterShape: Shape4 };
  const g = ci1Geometry(args, x.shape as Shape4, filterShape, [x.dtype, dy.dtype]);
  if (g == null) return null;
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput([...filterShape], 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  g.geometry[0] = at(x);
  g.geometry[1] = at(dy);
  g.geometry[2] = at(out);
  heapKernels(backend)!.convFilterGradCi1F32(...g.geometry);
  return out;
}

/**
 * Conv2DBackpropInput for one input channel on lowbit's wasm SIMD kernel: dx[b, y, x, 0] = sum over
 * (oy, ox, i, j, o) with y = oy*s + i - pt, x = ox*s + j - pl of dy[b, oy, ox, o] * W[i, j, 0, o]. tfjs's
 * fused conv2d computes this for a first layer although nothing uses it. Null where it cannot run.
 */
export function conv2DBackpropInputCi1Simd(args: KernelArgs): tf.TensorInfo | null {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { inputShape } = args.attrs as unknown as { inputShape: Shape4 };
  const g = ci1Geometry(args, inputShape, filter.shape as Shape4, [dy.dtype, filter.dtype]);
  if (g == null) return null;
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput([...inputShape], 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  g.geometry[0] = at(dy);
  g.geometry[1] = at(filter);
  g.geometry[2] = at(out);
  heapKernels(backend)!.convInputGradCi1F32(...g.geometry);
  return out;
}

/** The subset of BackendWasm the col2im kernel uses. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Scatters patch rows into an NHWC image (col2im): for every output position (b, oh, ow) and filter
 * tap (i, j), dx[b, oh*sh + i*dh - top, ow*sw + j*dw - left, :] += P[(b, oh, ow), (i, j, :)], taps
 * that fall in the padding dropped. `dx` must be zero-filled. Exported for tests.
 */
export function col2imInto(dx: Float32Array, p: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const k = fh * fw * ci;
  let row = 0;
  for (let b = 0; b < nb; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++, row += k) {
        for (let i = 0; i < fh; i++) {
          const r = y * sh + i * dh - top;
          if (r < 0 || r >= h) continue;
          for (let j = 0; j < fw; j++) {
            const q = x * sw + j * dw - left;
            if (q < 0 || q >= w) continue;
            const d = ((b * h + r) * w + q) * ci;
            const s = row + (i * fw + j) * ci;
            for (let c = 0; c < ci; c++) dx[d + c] = dx[d + c]! + p[s + c]!;
          }
        }
      }
    }
  }
}

/**
 * Conv2DBackpropInput for wasm as one matrix product and a scatter: P = dy W^T over the output
 * channels ([B*OH*OW, Co] x [fh*fw*Ci, Co]^T), then col2im ({@link col2imInto}) in a JavaScript loop
 * over the wasm heap. Used where the transposed convolution is slow: few input channels (a network's
 * first layer, whose input gradient tfjs's fused conv2d computes even though nothing uses it: Ci = 1
 * ran at 2 GFLOP/s as a convolution with one output channel) and small images (5x5x64: the padding,
 * flipping and transposing cost more than the product). NHWC only; NCHW uses the convolution.
 */
export function conv2DBackpropInputCol2im(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
  const { strides, pad, dimRoundingMode, inputShape } = args.attrs as unknown as {
    strides: [number, number] | number;
    pad: Pad;
    dimRoundingMode: Rounding;
    inputShape: Shape4;
  };
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize: nb, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const [fh, fw, ci] = filter.shape;
  const p = tf.tidy(() =>
    tf.matMul(tf.reshape(dy, [nb * oh * ow, co]), tf.reshape(filter, [fh * fw * ci, co]), false, true),
  );
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput([...inputShape], 'float32');
  // Views are taken after the allocation: growing the wasm memory detaches older views.
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const simd = heapKernels(backend);
  if (simd) {
    const {
      inHeight: h,
      inWidth: w,
      inChannels: c,
      strideHeight,
      strideWidth,
      dilationHeight,
      dilationWidth,
    } = info;
    const { top, left } = info.padInfo;
    simd.col2imF32(
      heapOffset(backend, p),
      heapOffset(backend, out),
      nb,
      h,
      w,
      c,
      oh,
      ow,
      fh,
      fw,
      strideHeight,
      strideWidth,
      dilationHeight,
      dilationWidth,
      top,
      left,
    );
  } else {
    col2imInto(dx, backend.typedArrayFromHeap(p) as Float32Array, info);
  }
  p.dispose();
  return out;
}

/**
 * Whether {@link conv2DBackpropInputCol2im} is the faster wasm Conv2DBackpropInput for a gradient of
 * this geometry, given whether the scatter runs on lowbit's SIMD kernels (`simd`) or in JavaScript.
 * Measured on wasm for larq-intro-cnn's layers (CPU ms, transposed conv vs col2im): with the
 * JavaScript scatter, [64, 28, 28, 1] <- 32 channels: 9.8 vs 4.9; [64, 5, 5, 64] <- 64: 5.8 vs 2.5;
 * [64, 13, 13, 32] <- 64: 14.7 vs 16.7 (the convolution stays); with the SIMD scatter the last is
 * 14.7 vs 12.2 and 21.1 vs 16.6 in two runs, so col2im is used everywhere.
 */
export function col2imIsFaster(inputShape: Shape4, simd: boolean): boolean {
  const [, h, w, ci] = inputShape;
  return simd || ci <= 4 || h * w <= 64;
}

/**
 * The registered wasm Conv2DBackpropInput: the one-input-channel SIMD kernel, the table-lookup kernel
 * when the filter is exactly +-1 ({@link conv2DBackpropInputBinary}), col2im where
 * {@link col2imIsFaster}, else the transposed convolution.
 */
export function conv2DBackpropInputAuto(args: KernelArgs): tf.Tensor | tf.TensorInfo {
  const { dataFormat, inputShape } = args.attrs as unknown as { dataFormat?: string; inputShape: Shape4 };
  const simd = conv2DBackpropInputCi1Simd(args) ?? conv2DBackpropInputBinary(args);
  if (simd) return simd;
  if (dataFormat !== 'NCHW' && col2imIsFaster(inputShape, heapKernels(args.backend) != null)) {
    return conv2DBackpropInputCol2im(args);
  }
  return conv2DBackpropInputFromOps(args);
}

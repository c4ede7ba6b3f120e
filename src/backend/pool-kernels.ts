/**
 * MaxPoolGrad for tfjs-backend-wasm, written as a JavaScript loop over the wasm heap.
 *
 * Why: the stock wasm MaxPoolGrad is slow (150 to 230 ms for [256, 26, 26, 32] in the probe) and, where
 * a window holds several equal maxima (common after ReLU, and everywhere in binarized networks whose
 * activations are +-1), it sends the gradient to a different position than the cpu backend, so
 * gradients differ between backends. Formulations from ops were slower still (wasm's StridedSlice and
 * rank-6 Slice are scalar loops), so this reads the tensors in place.
 *
 * Semantics (equal to tfjs-backend-cpu and TensorFlow): for each output (b, oh, ow, c), the window's
 * argmax is the FIRST in-bounds position in row-major window order with the largest value (NaN never
 * wins; a window with no finite maximum passes no gradient), and dx[argmax] += dy[b, oh, ow, c].
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset } from './heap-kernels.js';
import type { KernelArgs } from './kernel-registry.js';

/** The subset of BackendWasm this kernel uses (typed here to avoid a deep runtime import). */
interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Computes MaxPoolGrad into `dx` (zero-filled, NHWC) from x, dy (NHWC) and the pooling geometry.
 * Exported for tests, which compare it with a naive reference.
 */
export function maxPoolGradInto(
  dx: Float32Array,
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const best = new Float64Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < nb; b++) {
    const xb = b * h * w * c;
    for (let r = 0; r < oh; r++) {
      const r0 = r * sh - top;
      let rMin = r0;
      while (rMin < 0) rMin += dh;
      const rMax = Math.min(h, r0 + fh);
      for (let q = 0; q < ow; q++) {
        const q0 = q * sw - left;
        let qMin = q0;
        while (qMin < 0) qMin += dw;
        const qMax = Math.min(w, q0 + fw);
        best.fill(Number.NEGATIVE_INFINITY);
        where.fill(-1);
        for (let xr = rMin; xr < rMax; xr += dh) {
          for (let xc = qMin; xc < qMax; xc += dw) {
            const base = xb + (xr * w + xc) * c;
            for (let k = 0; k < c; k++) {
              const v = x[base + k]!;
              if (v > best[k]!) {
                best[k] = v;
                where[k] = base + k;
              }
            }
          }
        }
        const dyBase = ((b * oh + r) * ow + q) * c;
        for (let k = 0; k < c; k++) {
          const p = where[k]!;
          if (p >= 0) dx[p] = dx[p]! + dy[dyBase + k]!;
        }
      }
    }
  }
}

/** Whether a pool is 2x2 with stride 2, no padding and no dilation, every window inside the input. */
export function isPlain2x2(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    2 * info.outHeight <= info.inHeight &&
    2 * info.outWidth <= info.inWidth
  );
}

/**
 * {@link maxPoolGradInto} for the usual 2x2 pool with stride 2 and no padding, with the window's four
 * positions unrolled (about twice as fast; same argmax rule). `dx` must be zero-filled.
 * @returns false (and writes nothing) for any other geometry.
 */
export function maxPoolGrad2x2Into(
  dx: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): boolean {
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  if (!isPlain2x2(info)) return false;
  const row = w * c;
  let o = 0;
  for (let b = 0; b < nb; b++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        const p0 = ((b * h + 2 * r) * w + 2 * q) * c;
        const p1 = p0 + c;
        const p2 = p0 + row;
        const p3 = p2 + c;
        for (let k = 0; k < c; k++, o++) {
          const v0 = x[p0 + k]!;
          const v1 = x[p1 + k]!;
          const v2 = x[p2 + k]!;
          const v3 = x[p3 + k]!;
          // First position with the largest value; NaN never wins; no finite maximum, no gradient.
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          if (v0 > best) {
            best = v0;
            at = p0 + k;
          }
          if (v1 > best) {
            best = v1;
            at = p1 + k;
          }
          if (v2 > best) {
            best = v2;
            at = p2 + k;
          }
          if (v3 > best) at = p3 + k;
          if (at >= 0) dx[at] = dy[o]!;
        }
      }
    }
  }
  return true;
}

/** The MaxPoolGrad kernel for the wasm backend. */
export function maxPoolGradWasm(args: KernelArgs): tf.TensorInfo {
  return maxPoolGradWasmImpl(args, true);
}

/** MaxPoolGrad for wasm with the general loop only (lowbit's earlier kernel), for before/after benchmarks. */
export function maxPoolGradWasmGeneral(args: KernelArgs): tf.TensorInfo {
  return maxPoolGradWasmImpl(args, false);
}

function maxPoolGradWasmImpl(args: KernelArgs, fastPaths: boolean): tf.TensorInfo {
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const backend = args.backend as unknown as HeapBackend;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const out = backend.makeOutput(input.shape, 'float32');
  // Views are taken after the allocation: growing the wasm memory detaches older views.
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const simd = fastPaths ? heapKernels(backend) : null;
  if (simd && isPlain2x2(info) && input.dtype === 'float32' && dy.dtype === 'float32') {
    const { batchSize: nb, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
    const at = (t: tf.TensorInfo) => heapOffset(backend, t);
    simd.maxPoolGrad2x2F32(at(input), at(dy), at(out), nb, h, w, c, oh, ow);
    return out;
  }
  const xs = backend.typedArrayFromHeap(input);
  const dys = backend.typedArrayFromHeap(dy);
  const fast =
    fastPaths &&
    xs instanceof Float32Array &&
    dys instanceof Float32Array &&
    maxPoolGrad2x2Into(dx, xs, dys, info);
  if (!fast) maxPoolGradInto(dx, xs, dys, info);
  return out;
}

/**
 * 3-D max pooling over NDHWC data: calls `visit(outIndex, argmaxIndex, maxValue)` for every output
 * element, with argmax the LAST in-bounds position in (depth, row, column) window order holding the
 * maximum (-1 if every value is NaN), as tfjs-backend-cpu's maxPool3dPositions (which compares with
 * `>=` in 3-D but `>` in 2-D; lowbit follows cpu so that gradients agree across backends).
 */
export function maxPool3dScan(
  x: ArrayLike<number>,
  info: tf.backend_util.Conv3DInfo,
  visit: (outIndex: number, argmax: number, max: number) => void,
): void {
  const { batchSize: nb, inDepth: id, inHeight: ih, inWidth: iw, inChannels: c } = info;
  const { outDepth: od, outHeight: oh, outWidth: ow } = info;
  const { strideDepth: sd, strideHeight: sh, strideWidth: sw } = info;
  const { dilationDepth: dd, dilationHeight: dh, dilationWidth: dw } = info;
  const { effectiveFilterDepth: fd, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { front, top, left } = info.padInfo;
  const best = new Float64Array(c);
  const where = new Int32Array(c);
  let o = 0;
  for (let b = 0; b < nb; b++) {
    for (let p = 0; p < od; p++) {
      const d0 = p * sd - front;
      let dMin = d0;
      while (dMin < 0) dMin += dd;
      const dMax = Math.min(id, d0 + fd);
      for (let r = 0; r < oh; r++) {
        const r0 = r * sh - top;
        let rMin = r0;
        while (rMin < 0) rMin += dh;
        const rMax = Math.min(ih, r0 + fh);
        for (let q = 0; q < ow; q++) {
          const q0 = q * sw - left;
          let qMin = q0;
          while (qMin < 0) qMin += dw;
          const qMax = Math.min(iw, q0 + fw);
          best.fill(Number.NEGATIVE_INFINITY);
          where.fill(-1);
          for (let xd = dMin; xd < dMax; xd += dd) {
            for (let xr = rMin; xr < rMax; xr += dh) {
              for (let xc = qMin; xc < qMax; xc += dw) {
                const base = (((b * id + xd) * ih + xr) * iw + xc) * c;
                for (let k = 0; k < c; k++) {
                  const v = x[base + k]!;
                  if (v >= best[k]!) {
                    best[k] = v;
                    where[k] = base + k;
                  }
                }
              }
            }
          }
          for (let k = 0; k < c; k++) visit(o + k, where[k]!, best[k]!);
          o += c;
        }
      }
    }
  }
}

interface Pool3DAttrs {
  filterSize: [number, number, number] | number;
  strides: [number, number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function pool3dInfo(shape: number[], attrs: Pool3DAttrs): tf.backend_util.Conv3DInfo {
  return tf.backend_util.computePool3DInfo(
    shape as [number, number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** MaxPool3D for wasm (the stock kernel returns wrong maxima for some shapes, e.g. [2, 6, 5, 4, 3]). */
export function maxPool3dWasm(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const backend = args.backend as unknown as HeapBackend;
  const info = pool3dInfo(x.shape, args.attrs as unknown as Pool3DAttrs);
  const out = backend.makeOutput(info.outShape, x.dtype);
  const y = backend.typedArrayFromHeap(out);
  // A window with no finite maximum yields -Infinity, as on cpu.
  maxPool3dScan(backend.typedArrayFromHeap(x), info, (o, _arg, max) => {
    y[o] = max;
  });
  return out;
}

/** MaxPool3DGrad for wasm with cpu's argmax semantics: dx[argmax] += dy. */
export function maxPool3dGradWasm(args: KernelArgs): tf.TensorInfo {
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const backend = args.backend as unknown as HeapBackend;
  const info = pool3dInfo(input.shape, args.attrs as unknown as Pool3DAttrs);
  const out = backend.makeOutput(input.shape, 'float32');
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const g = backend.typedArrayFromHeap(dy);
  maxPool3dScan(backend.typedArrayFromHeap(input), info, (o, arg) => {
    if (arg >= 0) dx[arg] = dx[arg]! + g[o]!;
  });
  return out;
}

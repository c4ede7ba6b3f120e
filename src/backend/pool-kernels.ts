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

/** The MaxPoolGrad kernel for the wasm backend. */
export function maxPoolGradWasm(args: KernelArgs): tf.TensorInfo {
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
  maxPoolGradInto(dx, backend.typedArrayFromHeap(input), backend.typedArrayFromHeap(dy), info);
  return out;
}

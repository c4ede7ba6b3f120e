/**
 * ResizeNearestNeighborGrad from ops (tfjs-backend-wasm 4.22's gives wrong values whenever the output
 * is larger than the input, e.g. in UpSampling2D).
 *
 * The gradient of nearest-neighbour resizing adds each output pixel's gradient to the input pixel it
 * was copied from: dx[b, src(p), c] += dy[b, p, c]. src is read off the forward op itself, by
 * resizing a map of flat pixel indices with the same options, so it matches the forward exactly
 * (align_corners, half_pixel_centers); the sum is an UnsortedSegmentSum over those indices.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from './kernel-registry.js';

/** The ResizeNearestNeighborGrad kernel body. */
export function resizeNearestNeighborGradFromOps(args: KernelArgs): tf.Tensor {
  const { images, dy } = args.inputs as { images: tf.Tensor4D; dy: tf.Tensor4D };
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as {
    alignCorners: boolean;
    halfPixelCenters: boolean;
  };
  return tf.tidy(() => {
    const [b, h, w, c] = images.shape;
    const [, oh, ow] = dy.shape;
    // Flat indices are exact in float32 below 2^24 pixels per image.
    const index = tf.reshape(tf.range(0, h * w, 1, 'float32'), [1, h, w, 1]);
    const src = tf.reshape(
      tf.image.resizeNearestNeighbor(index as tf.Tensor4D, [oh, ow], alignCorners, halfPixelCenters),
      [oh * ow],
    );
    const g = tf.transpose(tf.reshape(dy, [b, oh * ow, c]), [1, 0, 2]); // [OH*OW, B, C]
    const summed = tf.unsortedSegmentSum(g, tf.cast(src, 'int32') as tf.Tensor1D, h * w); // [H*W, B, C]
    return tf.reshape(tf.transpose(summed, [1, 0, 2]), [b, h, w, c]);
  });
}

/**
 * ResizeBilinearGrad from ops (tfjs-backend-cpu 4.22 returns a gradient with height and width swapped,
 * so training through a non-square bilinear resize throws on cpu).
 *
 * Bilinear resizing is separable and linear: y[b, :, :, c] = Ry x[b, :, :, c] Rx^T with row and column
 * interpolation matrices Ry [OH, H] and Rx [OW, W], so dx[b, :, :, c] = Ry^T dy[b, :, :, c] Rx. Ry and Rx
 * are read off the forward op by resizing identity matrices, so the options (align_corners,
 * half_pixel_centers) match the forward exactly.
 */
export function resizeBilinearGradFromOps(args: KernelArgs): tf.Tensor {
  const { images, dy } = args.inputs as { images: tf.Tensor4D; dy: tf.Tensor4D };
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as {
    alignCorners: boolean;
    halfPixelCenters: boolean;
  };
  return tf.tidy(() => {
    const [b, h, w, c] = images.shape;
    const [, oh, ow] = dy.shape;
    const rows = tf.image.resizeBilinear(
      tf.reshape(tf.eye(h), [1, h, 1, h]) as tf.Tensor4D,
      [oh, 1],
      alignCorners,
      halfPixelCenters,
    );
    const cols = tf.image.resizeBilinear(
      tf.reshape(tf.eye(w), [1, 1, w, w]) as tf.Tensor4D,
      [1, ow],
      alignCorners,
      halfPixelCenters,
    );
    const ry = tf.reshape(rows, [oh, h]);
    const rx = tf.reshape(cols, [ow, w]);
    const t1 = tf.reshape(tf.transpose(dy, [1, 0, 2, 3]), [oh, b * ow * c]);
    const u = tf.reshape(tf.matMul(ry, t1, true, false), [h, b, ow, c]); // sum over output rows
    const t2 = tf.reshape(tf.transpose(u, [2, 1, 0, 3]), [ow, b * h * c]);
    const v = tf.reshape(tf.matMul(rx, t2, true, false), [w, b, h, c]); // sum over output columns
    return tf.transpose(v, [1, 2, 0, 3]);
  });
}

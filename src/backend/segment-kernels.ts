/**
 * UnsortedSegmentSum from ops, for backends that lack it (tfjs-backend-wasm 4.22). It is the gradient
 * of gather (embeddings, `tf.gather` in custom layers).
 *
 * out[s, ...] = sum over i with ids[i] = s of x[i, ...], for s in [0, numSegments); ids outside that
 * range contribute nothing (as in TensorFlow and the cpu backend).
 * Computed with ScatterNd, which adds updates that share an index; out-of-range ids are sent to an
 * extra row that is then dropped.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from './kernel-registry.js';

/** The UnsortedSegmentSum kernel body. */
export function unsortedSegmentSumFromOps(args: KernelArgs): tf.Tensor {
  const { x, segmentIds } = args.inputs as { x: tf.Tensor; segmentIds: tf.Tensor };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  return tf.tidy(() => {
    const n = segmentIds.size;
    const rest = x.shape.slice(segmentIds.rank);
    const inner = rest.reduce((a, b) => a * b, 1);
    if (n === 0) return tf.zeros([numSegments, ...rest], x.dtype);
    const ids = tf.reshape(tf.cast(segmentIds, 'int32'), [n]);
    const valid = tf.logicalAnd(tf.greaterEqual(ids, 0), tf.less(ids, numSegments));
    const safe = tf.where(valid, ids, tf.fill([n], numSegments, 'int32'));
    const updates = tf.reshape(x, [n, inner]);
    const summed = tf.scatterND(tf.reshape(safe, [n, 1]), updates, [numSegments + 1, inner]);
    return tf.reshape(tf.slice(summed, [0, 0], [numSegments, inner]), [numSegments, ...rest]);
  });
}

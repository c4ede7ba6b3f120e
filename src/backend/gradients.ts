/**
 * Gradients tfjs-core 4.22 lacks or gets wrong on every backend (Conv3DBackpropInputV2 missing; Prod
 * and Cumsum broken; see each function).
 *
 * Conv3DBackpropInputV2 (the forward op of conv3dTranspose) has no registered gradient, so
 * Conv3DTranspose layers cannot train. Its gradient mirrors tfjs-core's Conv2DBackpropInput gradient:
 * for dx = conv3dTranspose(dy, W), d(dy) = conv3d(ddx, W) and dW = Conv3DBackpropFilterV2(ddx, dy).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Registers the missing gradients (idempotent: an existing gradient is never replaced). */
export function registerMissingGradients(): string[] {
  const added: string[] = [];
  if (tf.getGradient('Conv3DBackpropInputV2') == null) {
    tf.registerGradient({
      kernelName: 'Conv3DBackpropInputV2',
      inputsToSave: ['dy', 'filter'],
      gradFunc: (ddx, saved, attrs) => {
        const [dy, filter] = saved as [tf.Tensor5D, tf.Tensor5D];
        const { strides, pad } = attrs as unknown as {
          strides: [number, number, number];
          pad: 'valid' | 'same';
        };
        const dx = ddx as tf.Tensor5D;
        return {
          dy: () => tf.conv3d(dx, filter, strides, pad),
          filter: () =>
            tf.engine().runKernel('Conv3DBackpropFilterV2', { x: dx, dy }, {
              strides,
              pad,
              filterShape: filter.shape,
            } as unknown as tf.NamedAttrMap) as tf.Tensor,
        };
      },
    });
    added.push('Conv3DBackpropInputV2');
  }
  return added;
}

const TAG = '__lowbitGradient';

/**
 * d prod(x) / d x_i = prod over j != i of x_j, computed as exclusive cumprod from the left times
 * exclusive cumprod from the right (exact with zeros), after moving the reduced axes last and
 * flattening them into one.
 */
function prodGrad(x: tf.Tensor, dy: tf.Tensor, axes: number[]): tf.Tensor {
  const rank = x.rank;
  const perm = tf.backend_util.getAxesPermutation(axes, rank);
  const px = perm == null ? x : tf.transpose(x, perm);
  const kept = px.shape.slice(0, rank - axes.length);
  const n = px.shape.slice(rank - axes.length).reduce((a, b) => a * b, 1);
  const flat = tf.reshape(px, [...kept, n]);
  const last = kept.length;
  const others = tf.mul(tf.cumprod(flat, last, true, false), tf.cumprod(flat, last, true, true));
  const g = tf.reshape(tf.mul(tf.reshape(dy, [...kept, 1]), others), px.shape);
  return perm == null ? g : tf.transpose(g, tf.backend_util.getUndoAxesPermutation(perm));
}

const ORIGINAL_GRADIENT = '__lowbitOriginalGradient';
type TaggedGradient = tf.GradConfig & { [TAG]?: boolean; [ORIGINAL_GRADIENT]?: tf.GradConfig };

/** Registers `config` in place of the current gradient of its kernel, once (tagged, original kept). */
function replaceGradient(config: tf.GradConfig): boolean {
  const existing = tf.getGradient(config.kernelName) as TaggedGradient | undefined;
  if (existing?.[TAG]) return false;
  if (existing != null) tf.unregisterGradient(config.kernelName);
  const tagged = config as TaggedGradient;
  tagged[TAG] = true;
  if (existing != null) tagged[ORIGINAL_GRADIENT] = existing;
  tf.registerGradient(config);
  return true;
}

/**
 * The gradient config lowbit's replacement of `kernelName`'s gradient replaced (tfjs-core's own), or
 * undefined if lowbit did not replace it. For tests and before/after benchmarks.
 */
export function originalGradient(kernelName: string): tf.GradConfig | undefined {
  return (tf.getGradient(kernelName) as TaggedGradient | undefined)?.[ORIGINAL_GRADIENT];
}

/**
 * Replaces tfjs-core's Cumsum gradient, which transposes its (already correct) result whenever the
 * axis is not the last one: wrong values for square inputs, a shape error otherwise. The gradient of
 * y = cumsum(x, axis, exclusive, reverse) is cumsum(dy, axis, exclusive, !reverse). Idempotent.
 * @returns true if this call replaced the gradient.
 */
export function replaceCumsumGradient(): boolean {
  return replaceGradient({
    kernelName: 'Cumsum',
    inputsToSave: ['x'],
    gradFunc: (dy, _saved, attrs) => {
      const { axis, exclusive, reverse } = attrs as unknown as {
        axis: number;
        exclusive: boolean;
        reverse: boolean;
      };
      return { x: () => tf.cumsum(dy as tf.Tensor, axis, exclusive, !reverse) };
    },
  });
}

/**
 * Replaces tfjs-core's Prod gradient, which calls chained tensor methods (`x.reshape`) that exist only
 * when the full '@tensorflow/tfjs' bundle is loaded, so `tf.grad` through `tf.prod` throws
 * "permutedX.reshape is not a function" with tfjs-core alone. Idempotent.
 * @returns true if this call replaced the gradient.
 */
export function replaceProdGradient(): boolean {
  return replaceGradient({
    kernelName: 'Prod',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const { axis } = attrs as { axis?: number | number[] | null };
      const list = axis == null ? x.shape.map((_, i) => i) : Array.isArray(axis) ? axis : [axis];
      const axes = [...new Set(list.map((a) => (a < 0 ? a + x.rank : a)))].sort((p, q) => p - q);
      return { x: () => prodGrad(x, dy as tf.Tensor, axes) };
    },
  });
}

/**
 * Replaces tfjs-core's FusedBatchNorm gradient, which tiles rsqrt(variance + eps) to the full input
 * shape (a [C] vector copied to [N, H, W, C]) before multiplying it into dy; tfjs-backend-wasm's Tile
 * is a slow scalar loop (6 calls cost up to 17% of a larq-intro-cnn training step). Broadcasting the
 * [C] vector gives the same products without the copy. Everything else is tfjs-core 4.22's gradient
 * term by term, in the same order, so the values are the stock gradient's:
 *
 *   dx = dy * rsqrt(var + eps) * scale
 *   dmean = sum(-rsqrt(var + eps) * dy * scale),  dvar = sum(-0.5 * rsqrt(var + eps)^3 * (x - mean) * dy * scale)
 *   dscale = sum(dy * (x - mean) * rsqrt(var + eps)),  doffset = sum(dy)
 *
 * with sums over the axes along which mean was broadcast. Idempotent.
 * @returns true if this call replaced the gradient.
 */
export function replaceFusedBatchNormGradient(): boolean {
  return replaceGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dyIn, saved, attrs) => {
      const dy = dyIn as tf.Tensor;
      const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const scaleValue = scale == null ? tf.scalar(1) : scale;
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (t: tf.Tensor) => tf.reshape(mean.rank === 1 ? tf.sum(t, axes) : t, mean.shape);
      const xMinusMean = tf.sub(x, mean);
      const dyTimesScale = tf.mul(dy, scaleValue);
      const inv = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const minusHalfRCube = tf.mul(tf.mul(tf.mul(inv, inv), inv), tf.scalar(-0.5));
      return {
        x: () => tf.reshape(tf.mul(tf.mul(dy, inv), scaleValue), x.shape),
        mean: () => reduce(tf.mul(tf.mul(inv, tf.scalar(-1)), dyTimesScale)),
        variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)),
        scale: () => reduce(tf.mul(dy, tf.mul(xMinusMean, inv))),
        offset: () => reduce(dy),
      };
    },
  });
}

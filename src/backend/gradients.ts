/**
 * Gradients tfjs-core 4.22 lacks on every backend, needed to train lowbit's layers.
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

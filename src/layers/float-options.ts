import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { any, boolean, type OptionSpec, oneOf, positiveInt } from '../util/options.js';
import type { KernelSlot, QuantizedLayerMembers } from './base.js';

/** The float tfjs layer class registered under `className` (tfjs does not export its layer classes). */
export function tfjsLayerClass<T>(className: string): T {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`tfjs-layers has no registered class ${className}`);
  return entry[0] as unknown as T;
}

const intOrInts: OptionSpec = {
  check: (v) =>
    positiveInt.check(v) || (Array.isArray(v) && v.length > 0 && v.every((e) => positiveInt.check(e))),
  expected: 'a positive integer or an array of positive integers',
};

const common = {
  activation: any,
  useBias: boolean,
  biasInitializer: any,
  biasConstraint: any,
  biasRegularizer: any,
  activityRegularizer: any,
};

/** Options of tfjs's Dense. */
export const DENSE_OPTIONS: Record<string, OptionSpec> = {
  ...common,
  units: positiveInt,
  inputDim: positiveInt,
  kernelInitializer: any,
  kernelConstraint: any,
  kernelRegularizer: any,
};

/** Options of tfjs's BaseConv (every convolution). */
const BASE_CONV_OPTIONS: Record<string, OptionSpec> = {
  ...common,
  kernelSize: intOrInts,
  strides: intOrInts,
  padding: oneOf(['valid', 'same', 'causal']),
  dataFormat: oneOf(['channelsFirst', 'channelsLast']),
  dilationRate: intOrInts,
  // Keras writes this into every convolution's config; tfjs supports only its default.
  groups: { check: (v) => v === 1, expected: '1 (tfjs has no grouped convolutions)' },
};

/** Options of tfjs's Conv1D/2D/3D and transposed convolutions. */
export const CONV_OPTIONS: Record<string, OptionSpec> = {
  ...BASE_CONV_OPTIONS,
  // Keras writes this into transposed convolutions' configs; tfjs supports only its default.
  outputPadding: { check: (v) => v === null, expected: 'null (tfjs has no output padding)' },
  filters: positiveInt,
  kernelInitializer: any,
  kernelConstraint: any,
  kernelRegularizer: any,
};

/** Options of tfjs's DepthwiseConv2D. */
export const DEPTHWISE_OPTIONS: Record<string, OptionSpec> = {
  ...BASE_CONV_OPTIONS,
  depthMultiplier: positiveInt,
  depthwiseInitializer: any,
  depthwiseConstraint: any,
  depthwiseRegularizer: any,
};

/** Options of tfjs's SeparableConv2D (and lowbit's SeparableConv1D). */
export const SEPARABLE_OPTIONS: Record<string, OptionSpec> = {
  ...CONV_OPTIONS,
  depthMultiplier: positiveInt,
  depthwiseInitializer: any,
  depthwiseConstraint: any,
  depthwiseRegularizer: any,
  pointwiseInitializer: any,
  pointwiseConstraint: any,
  pointwiseRegularizer: any,
};

/** Options of the locally connected layers. */
export const LOCALLY_CONNECTED_OPTIONS: Record<string, OptionSpec> = {
  ...common,
  filters: positiveInt,
  kernelSize: intOrInts,
  strides: intOrInts,
  padding: oneOf(['valid', 'same']),
  dataFormat: oneOf(['channelsFirst', 'channelsLast']),
  kernelInitializer: any,
  kernelConstraint: any,
  kernelRegularizer: any,
  implementation: any,
};

type Reuse = KernelSlot['reuse'];
const kernel = (reuse: Reuse): KernelSlot => ({
  attribute: 'kernel',
  quantizerOption: 'kernelQuantizer',
  constraintOption: 'kernelConstraint',
  reuse,
});
const depthwiseKernel: KernelSlot = {
  attribute: 'depthwiseKernel',
  quantizerOption: 'depthwiseQuantizer',
  constraintOption: 'depthwiseConstraint',
  reuse: 'outputPositions',
};
const pointwiseKernel: KernelSlot = {
  attribute: 'pointwiseKernel',
  quantizerOption: 'pointwiseQuantizer',
  constraintOption: 'pointwiseConstraint',
  reuse: 'outputPositions',
};

/**
 * The kernels of every float layer lowbit quantizes, by class name: where the layer keeps each one
 * and how often each weight is used per example. The quantized layers take their slots from here,
 * and the summary reads it to count MACs of float and quantized layers alike.
 */
export const FLOAT_KERNEL_SLOTS: Readonly<Record<string, readonly KernelSlot[]>> = {
  Dense: [kernel('once')],
  Conv1D: [kernel('outputPositions')],
  Conv2D: [kernel('outputPositions')],
  Conv3D: [kernel('outputPositions')],
  Conv2DTranspose: [kernel('inputPositions')],
  Conv3DTranspose: [kernel('inputPositions')],
  DepthwiseConv2D: [depthwiseKernel],
  SeparableConv1D: [depthwiseKernel, pointwiseKernel],
  SeparableConv2D: [depthwiseKernel, pointwiseKernel],
  // A locally connected kernel already holds one weight set per output position.
  LocallyConnected1D: [kernel('once')],
  LocallyConnected2D: [kernel('once')],
};

/** The kernels of a layer: a quantized layer's own slots, else those of its float class, else none. */
export function kernelSlotsOf(layer: tfl.layers.Layer): readonly KernelSlot[] {
  return (
    (layer as Partial<QuantizedLayerMembers>).kernelSlots ?? FLOAT_KERNEL_SLOTS[layer.getClassName()] ?? []
  );
}

/**
 * Keras 2's SeparableConv1D for TensorFlow.js (tfjs-layers 4.22 has only SeparableConv2D, and its
 * SeparableConv base refuses rank 1): a depthwise 1-D convolution followed by a pointwise (1x1) one.
 *
 * Semantics, weight layout and config keys follow tf.keras 2.x: `depthwise_kernel` [k, Cin, depthMultiplier],
 * `pointwise_kernel` [1, Cin * depthMultiplier, filters], `bias` [filters]; padding 'valid', 'same' or
 * 'causal'. Computed, like Keras, as a 2-D separable convolution on a height-1 image.
 * Reference: Keras `SeparableConv1D`; Chollet, "Xception: Deep learning with depthwise separable
 * convolutions", CVPR 2017.
 */
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { DataFormat, Shape } from '@tensorflow/tfjs-layers/dist/keras_format/common.js';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import type { LayerVariable } from '@tensorflow/tfjs-layers/dist/variables.js';
import { ConfigError, ShapeError } from '../../errors.js';
import {
  type Activation,
  type ActivationArg,
  type Constraint,
  type ConstraintArg,
  checkBoolean,
  checkDataFormat,
  checkInteger,
  checkKnownOptions,
  checkOneOf,
  getActivation,
  getConstraint,
  getInitializer,
  getRegularizer,
  type Initializer,
  type InitializerArg,
  LAYER_ARG_NAMES,
  normalizeTuple,
  type Regularizer,
  type RegularizerArg,
  serializeActivation,
  serializeKerasObject,
} from './tfjs-args.js';

/** Padding modes of SeparableConv1D. */
export type SeparablePadding = 'valid' | 'same' | 'causal';

/** Options of {@link SeparableConv1D} (Keras' names in camelCase). */
export interface SeparableConv1DLayerArgs extends LayerArgs {
  /** Number of output channels of the pointwise convolution. */
  filters: number;
  /** Length of the depthwise window: an integer or [k]. */
  kernelSize: number | number[];
  /** Step of the depthwise window: an integer or [s]. Default 1. Must be 1 if dilationRate > 1. */
  strides?: number | number[];
  /**
   * 'valid' (default): output length ceil((L - (k - 1) d) / s); 'same': ceil(L / s), zeros split as
   * tf.conv2d does (floor(total / 2) before); 'causal': d (k - 1) zeros before the input, then 'valid',
   * so output t never sees inputs after t.
   */
  padding?: SeparablePadding;
  /** 'channelsLast' (default): [batch, length, channels]; 'channelsFirst': [batch, channels, length]. */
  dataFormat?: DataFormat;
  /** Dilation d of the depthwise window: an integer or [d]. Default 1. Must be 1 if strides > 1. */
  dilationRate?: number | number[];
  /** Number of depthwise output channels per input channel. Default 1. */
  depthMultiplier?: number;
  /** Activation applied to the output; default linear. Any registered name or an Activation instance. */
  activation?: ActivationArg;
  /** Whether to add a bias per filter. Default true. */
  useBias?: boolean;
  /** Initializer of the depthwise kernel. Default 'glorotUniform' (Keras' default). */
  depthwiseInitializer?: InitializerArg;
  /** Initializer of the pointwise kernel. Default 'glorotUniform' (Keras' default). */
  pointwiseInitializer?: InitializerArg;
  /** Initializer of the bias. Default 'zeros'. */
  biasInitializer?: InitializerArg;
  /** Regularizer of the depthwise kernel. */
  depthwiseRegularizer?: RegularizerArg;
  /** Regularizer of the pointwise kernel. */
  pointwiseRegularizer?: RegularizerArg;
  /** Regularizer of the bias. */
  biasRegularizer?: RegularizerArg;
  /**
   * Regularizer of the output. Accepted and serialized as in tfjs-layers' own layers; like them,
   * tfjs-layers 4.22 throws NotImplementedError when a layer with one is applied.
   */
  activityRegularizer?: RegularizerArg;
  /** Constraint projected onto the depthwise kernel after each update. */
  depthwiseConstraint?: ConstraintArg;
  /** Constraint projected onto the pointwise kernel after each update. */
  pointwiseConstraint?: ConstraintArg;
  /** Constraint projected onto the bias after each update. */
  biasConstraint?: ConstraintArg;
  /** Keras' Conv option written into SeparableConv1D configs; only 1 is valid. */
  groups?: number;
  /** Written by Keras into SeparableConv1D configs (inherited from Conv); has no effect. */
  kernelInitializer?: unknown;
  /** Written by Keras into SeparableConv1D configs (inherited from Conv); has no effect. */
  kernelRegularizer?: unknown;
  /** Written by Keras into SeparableConv1D configs (inherited from Conv); has no effect. */
  kernelConstraint?: unknown;
}

/** Every option name {@link SeparableConv1DLayerArgs} accepts (for subclasses' option checks). */
export const SEPARABLE_CONV1D_ARG_NAMES: readonly string[] = [
  ...LAYER_ARG_NAMES,
  'filters',
  'kernelSize',
  'strides',
  'padding',
  'dataFormat',
  'dilationRate',
  'depthMultiplier',
  'activation',
  'useBias',
  'depthwiseInitializer',
  'pointwiseInitializer',
  'biasInitializer',
  'depthwiseRegularizer',
  'pointwiseRegularizer',
  'biasRegularizer',
  'activityRegularizer',
  'depthwiseConstraint',
  'pointwiseConstraint',
  'biasConstraint',
  'groups',
  'kernelInitializer',
  'kernelRegularizer',
  'kernelConstraint',
];

/**
 * Output length of a 1-D convolution (Keras' `conv_output_length`): valid: ceil((L - (k - 1) d) / s);
 * same and causal: ceil(L / s).
 */
export function convOutputLength(
  length: number,
  kernelSize: number,
  padding: SeparablePadding,
  stride: number,
  dilation: number,
): number {
  const n = padding === 'valid' ? length - (kernelSize - 1) * dilation : length;
  return Math.floor((n + stride - 1) / stride);
}

/**
 * Stride-1 dilated separable 1-D convolution from slices, multiplications and one matMul, on
 * channelsLast input [B, L, C]. tfjs-core 4.22's depthwiseConv2d gradient rejects dilation > 1
 * ("dilation rates greater than 1 are not yet supported"), so a trainable layer cannot use it there:
 *   z[b, t, c, m] = sum_j xp[b, t + j d, c] D[j, c, m];   y = reshape(z, [B, T, C dm]) . P[0]
 * with xp padded as tf.conv2d pads for 'same' (floor(total / 2) zeros before).
 */
function dilatedSeparableConv1d(
  x: tfc.Tensor3D,
  depthwise: tfc.Tensor3D,
  pointwise: tfc.Tensor3D,
  padding: 'valid' | 'same',
  dilation: number,
): tfc.Tensor3D {
  const [batch, , channels] = x.shape;
  const [k, , multiplier] = depthwise.shape;
  const filters = pointwise.shape[2];
  const span = (k - 1) * dilation;
  let padded: tfc.Tensor3D = x;
  if (padding === 'same' && span > 0) {
    const before = Math.floor(span / 2);
    padded = tfc.pad(x, [
      [0, 0],
      [before, span - before],
      [0, 0],
    ]);
  }
  const out = padded.shape[1] - span;
  if (out < 1) {
    throw new ShapeError({
      where: 'SeparableConv1D input',
      received: x.shape,
      expected: `length >= ${span + 1} (dilated kernel span) with padding 'valid'`,
    });
  }
  let z: tfc.Tensor | null = null;
  for (let j = 0; j < k; j++) {
    const taps = tfc.expandDims(tfc.slice(padded, [0, j * dilation, 0], [batch, out, channels]), 3);
    const weights = tfc.reshape(tfc.slice(depthwise, [j, 0, 0], [1, channels, multiplier]), [
      channels,
      multiplier,
    ]);
    const term = tfc.mul(taps, weights); // [B, out, C, dm]
    z = z == null ? term : tfc.add(z, term);
  }
  const columns = tfc.reshape(z as tfc.Tensor, [batch * out, channels * multiplier]);
  const y = tfc.matMul(
    columns as tfc.Tensor2D,
    tfc.reshape(pointwise, [channels * multiplier, filters]) as tfc.Tensor2D,
  );
  return tfc.reshape(y, [batch, out, filters]);
}

/**
 * Depthwise separable 1-D convolution (Keras' `SeparableConv1D`):
 *
 *   z[b, t, c dm + m] = sum_{j < k} xp[b, t s + j d, c] D[j, c, m]          (depthwise)
 *   y[b, t, f]        = act( sum_i z[b, t, i] P[0, i, f] + bias[f] )       (pointwise)
 *
 * where xp is the input padded per `padding`. Weights: `depthwiseKernel` [k, Cin, dm] (variable name
 * `depthwise_kernel`), `pointwiseKernel` [1, Cin dm, filters] (`pointwise_kernel`), `bias` [filters].
 * call() reads each kernel through exactly one `.read()`, so a subclass can substitute quantized views.
 *
 * @example
 * const layer = lq.layers.separableConv1d({ filters: 8, kernelSize: 3, depthMultiplier: 2, inputShape: [20, 4] });
 * // output [batch, 18, 8]; depthwise kernel [3, 4, 2]; pointwise kernel [1, 8, 8]
 */
export class SeparableConv1D extends tfl.layers.Layer {
  static className = 'SeparableConv1D';
  /** Option names this layer accepts. */
  static readonly argNames = SEPARABLE_CONV1D_ARG_NAMES;

  readonly filters: number;
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly padding: SeparablePadding;
  readonly dataFormat: DataFormat;
  readonly dilationRate: number[];
  readonly depthMultiplier: number;
  readonly activation: Activation;
  readonly useBias: boolean;
  readonly depthwiseInitializer: Initializer;
  readonly pointwiseInitializer: Initializer;
  readonly biasInitializer: Initializer;
  readonly depthwiseRegularizer: Regularizer | null;
  readonly pointwiseRegularizer: Regularizer | null;
  readonly biasRegularizer: Regularizer | null;
  readonly depthwiseConstraint: Constraint | null;
  readonly pointwiseConstraint: Constraint | null;
  readonly biasConstraint: Constraint | null;
  /** Depthwise kernel [k, Cin, depthMultiplier]; null before build. */
  depthwiseKernel: LayerVariable | null = null;
  /** Pointwise kernel [1, Cin * depthMultiplier, filters]; null before build. */
  pointwiseKernel: LayerVariable | null = null;
  /** Bias [filters]; null before build or without bias. */
  bias: LayerVariable | null = null;

  constructor(args: SeparableConv1DLayerArgs) {
    super(args);
    const where = (option: string) => `SeparableConv1D '${this.name}' option ${option}`;
    if (new.target === SeparableConv1D) {
      checkKnownOptions(args, SeparableConv1D.argNames, `SeparableConv1D '${this.name}'`);
    }
    this.filters = checkInteger(args.filters, where('filters'));
    this.kernelSize = normalizeTuple(args.kernelSize, 1, where('kernelSize'));
    this.strides = normalizeTuple(args.strides ?? 1, 1, where('strides'));
    this.padding = checkOneOf(
      args.padding ?? 'valid',
      ['valid', 'same', 'causal'] as const,
      where('padding'),
    );
    this.dataFormat = checkDataFormat(args.dataFormat, where('dataFormat'));
    this.dilationRate = normalizeTuple(args.dilationRate ?? 1, 1, where('dilationRate'));
    if (this.strides[0] > 1 && this.dilationRate[0] > 1) {
      throw new ConfigError({
        where: where('strides and dilationRate'),
        received: { strides: this.strides[0], dilationRate: this.dilationRate[0] },
        expected: 'strides = 1 or dilationRate = 1 (Keras and tf.depthwiseConv2d allow only one above 1)',
      });
    }
    this.depthMultiplier = checkInteger(args.depthMultiplier ?? 1, where('depthMultiplier'));
    if (args.groups != null && args.groups !== 1) {
      throw new ConfigError({ where: where('groups'), received: args.groups, expected: '1' });
    }
    this.activation = getActivation(args.activation, where('activation'));
    this.useBias = checkBoolean(args.useBias ?? true, where('useBias'));
    this.depthwiseInitializer = getInitializer(
      args.depthwiseInitializer,
      'glorotUniform',
      where('depthwiseInitializer'),
    );
    this.pointwiseInitializer = getInitializer(
      args.pointwiseInitializer,
      'glorotUniform',
      where('pointwiseInitializer'),
    );
    this.biasInitializer = getInitializer(args.biasInitializer, 'zeros', where('biasInitializer'));
    this.depthwiseRegularizer = getRegularizer(args.depthwiseRegularizer, where('depthwiseRegularizer'));
    this.pointwiseRegularizer = getRegularizer(args.pointwiseRegularizer, where('pointwiseRegularizer'));
    this.biasRegularizer = getRegularizer(args.biasRegularizer, where('biasRegularizer'));
    const activityRegularizer = getRegularizer(args.activityRegularizer, where('activityRegularizer'));
    if (activityRegularizer) this.activityRegularizer = activityRegularizer;
    this.depthwiseConstraint = getConstraint(args.depthwiseConstraint, where('depthwiseConstraint'));
    this.pointwiseConstraint = getConstraint(args.pointwiseConstraint, where('pointwiseConstraint'));
    this.biasConstraint = getConstraint(args.biasConstraint, where('biasConstraint'));
    this.inputSpec = [new tfl.InputSpec({ ndim: 3 })];
  }

  private channelAxis(): number {
    return this.dataFormat === 'channelsFirst' ? 1 : 2;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : (inputShape as Shape);
    const channels = shape[this.channelAxis()];
    if (shape.length !== 3 || channels == null) {
      throw new ShapeError({
        where: `SeparableConv1D '${this.name}' input`,
        received: shape,
        expected: `rank 3 with known channels (${this.dataFormat})`,
      });
    }
    const length = shape[this.dataFormat === 'channelsFirst' ? 2 : 1];
    if (
      length != null &&
      convOutputLength(length, this.kernelSize[0], this.padding, this.strides[0], this.dilationRate[0]) < 1
    ) {
      throw new ShapeError({
        where: `SeparableConv1D '${this.name}' input`,
        received: shape,
        expected: `length >= ${(this.kernelSize[0] - 1) * this.dilationRate[0] + 1} (dilated kernel span) with padding 'valid'`,
      });
    }
    this.depthwiseKernel = this.addWeight(
      'depthwise_kernel',
      [this.kernelSize[0], channels, this.depthMultiplier],
      'float32',
      this.depthwiseInitializer,
      this.depthwiseRegularizer ?? undefined,
      true,
      this.depthwiseConstraint ?? undefined,
    );
    this.pointwiseKernel = this.addWeight(
      'pointwise_kernel',
      [1, channels * this.depthMultiplier, this.filters],
      'float32',
      this.pointwiseInitializer,
      this.pointwiseRegularizer ?? undefined,
      true,
      this.pointwiseConstraint ?? undefined,
    );
    if (this.useBias) {
      this.bias = this.addWeight(
        'bias',
        [this.filters],
        'float32',
        this.biasInitializer,
        this.biasRegularizer ?? undefined,
        true,
        this.biasConstraint ?? undefined,
      );
    }
    this.inputSpec = [new tfl.InputSpec({ ndim: 3, axes: { [this.channelAxis()]: channels } })];
    this.built = true;
  }

  override call(inputs: tfc.Tensor | tfc.Tensor[], _kwargs: Kwargs): tfc.Tensor {
    return tfc.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (x.rank !== 3) {
        throw new ShapeError({
          where: `SeparableConv1D '${this.name}' input`,
          received: x.shape,
          expected: 'rank 3',
        });
      }
      if (this.depthwiseKernel == null || this.pointwiseKernel == null) {
        throw new ShapeError({
          where: `SeparableConv1D '${this.name}'`,
          received: 'an unbuilt layer',
          expected: 'build() first',
        });
      }
      // The only reads of the kernels in the forward pass (subclasses substitute them here).
      const depthwise = this.depthwiseKernel.read();
      const pointwise = this.pointwiseKernel.read();
      const channelsFirst = this.dataFormat === 'channelsFirst';
      if (channelsFirst) x = tfc.transpose(x, [0, 2, 1]);
      const [k, d, s] = [this.kernelSize[0], this.dilationRate[0], this.strides[0]];
      if (this.padding === 'causal') {
        x = tfc.pad(x, [
          [0, 0],
          [d * (k - 1), 0],
          [0, 0],
        ]);
      }
      const padding = this.padding === 'same' ? 'same' : 'valid';
      let y: tfc.Tensor =
        d > 1
          ? dilatedSeparableConv1d(
              x as tfc.Tensor3D,
              depthwise as tfc.Tensor3D,
              pointwise as tfc.Tensor3D,
              padding,
              d,
            )
          : // [B, L, C] -> [B, 1, L, C]; kernels get a leading height-1 axis, as Keras does.
            tfc.squeeze(
              tfc.separableConv2d(
                tfc.expandDims(x, 1) as tfc.Tensor4D,
                tfc.expandDims(depthwise, 0) as tfc.Tensor4D,
                tfc.expandDims(pointwise, 0) as tfc.Tensor4D,
                [1, s],
                padding,
                [1, 1],
                'NHWC',
              ),
              [1],
            );
      if (this.bias != null) y = tfc.add(y, this.bias.read());
      if (channelsFirst) y = tfc.transpose(y, [0, 2, 1]);
      return this.activation.apply(y);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : (inputShape as Shape);
    const length = this.dataFormat === 'channelsFirst' ? shape[2] : shape[1];
    const out =
      length == null
        ? null
        : convOutputLength(length, this.kernelSize[0], this.padding, this.strides[0], this.dilationRate[0]);
    return this.dataFormat === 'channelsFirst'
      ? [shape[0], this.filters, out]
      : [shape[0], out, this.filters];
  }

  override getConfig(): tfc.serialization.ConfigDict {
    const config: tfc.serialization.ConfigDict = {
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dataFormat: this.dataFormat,
      dilationRate: this.dilationRate,
      depthMultiplier: this.depthMultiplier,
      activation: serializeActivation(this.activation),
      useBias: this.useBias,
      depthwiseInitializer: serializeKerasObject(this.depthwiseInitializer),
      pointwiseInitializer: serializeKerasObject(this.pointwiseInitializer),
      biasInitializer: serializeKerasObject(this.biasInitializer),
      depthwiseRegularizer: serializeKerasObject(this.depthwiseRegularizer),
      pointwiseRegularizer: serializeKerasObject(this.pointwiseRegularizer),
      biasRegularizer: serializeKerasObject(this.biasRegularizer),
      activityRegularizer: serializeKerasObject(this.activityRegularizer ?? null),
      depthwiseConstraint: serializeKerasObject(this.depthwiseConstraint),
      pointwiseConstraint: serializeKerasObject(this.pointwiseConstraint),
      biasConstraint: serializeKerasObject(this.biasConstraint),
    };
    return { ...super.getConfig(), ...config };
  }
}
tfc.serialization.registerClass(SeparableConv1D);

/** Creates a {@link SeparableConv1D} layer (Keras' `SeparableConv1D`). */
export function separableConv1d(args: SeparableConv1DLayerArgs): SeparableConv1D {
  return new SeparableConv1D(args);
}

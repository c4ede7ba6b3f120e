/**
 * Keras 2's LocallyConnected1D and LocallyConnected2D for TensorFlow.js (tfjs-layers 4.22 has
 * neither): convolutions whose weights are not shared between output positions.
 *
 * Semantics, weight layout and config keys follow tf.keras 2.x `implementation=1`, so weights and
 * topologies converted from Keras (or Larq's QuantLocallyConnected layers) load unchanged:
 * kernel [outputPositions, kernelPositions * inputChannels, filters], bias [...outputSpatial, filters].
 * Reference: Keras `LocallyConnected2D` and `backend.local_conv`; Taigman et al., "DeepFace: Closing
 * the gap to human-level performance in face verification", CVPR 2014 (locally connected layers).
 */
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { DataFormat, Shape } from '@tensorflow/tfjs-layers/dist/keras_format/common.js';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import type { LayerVariable } from '@tensorflow/tfjs-layers/dist/variables.js';
import { ShapeError, UnsupportedError } from '../../errors.js';
import { type LocalPadding, localConv2d, localOutputLength } from './local-conv.js';
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

/** Options of {@link LocallyConnected1D} and {@link LocallyConnected2D} (Keras' names in camelCase). */
export interface LocallyConnectedLayerArgs extends LayerArgs {
  /** Number of output channels (filters) at every output position. */
  filters: number;
  /** Window size: an integer, or one integer per spatial axis ([k] for 1D, [kh, kw] for 2D). */
  kernelSize: number | number[];
  /** Step between windows: an integer or one per spatial axis. Default 1. */
  strides?: number | number[];
  /**
   * 'valid' (default): windows lie inside the input; output length ceil((n - k + 1) / s).
   * 'same': output length ceil(n / s), the window of output o starts at o s - floor(k / 2) with zeros
   * outside the input (Keras' `conv_connected_inputs`, used by its implementations 2 and 3; Keras'
   * implementation 1 has only 'valid'). The kernel keeps the implementation-1 layout either way.
   */
  padding?: LocalPadding;
  /** 'channelsLast' (default): [batch, ...spatial, channels]; 'channelsFirst': [batch, channels, ...spatial]. */
  dataFormat?: DataFormat;
  /** Activation applied to the output; default linear. Any registered name or an Activation instance. */
  activation?: ActivationArg;
  /** Whether to add a bias per output position and filter. Default true. */
  useBias?: boolean;
  /** Kernel initializer. Default 'glorotUniform' (Keras' default for these layers). */
  kernelInitializer?: InitializerArg;
  /** Bias initializer. Default 'zeros'. */
  biasInitializer?: InitializerArg;
  /** Regularizer of the kernel (a loss term added to training). */
  kernelRegularizer?: RegularizerArg;
  /** Regularizer of the bias. */
  biasRegularizer?: RegularizerArg;
  /**
   * Regularizer of the output. Accepted and serialized as in tfjs-layers' own layers; like them,
   * tfjs-layers 4.22 throws NotImplementedError when a layer with one is applied.
   */
  activityRegularizer?: RegularizerArg;
  /** Constraint projected onto the kernel after each optimizer update. */
  kernelConstraint?: ConstraintArg;
  /** Constraint projected onto the bias after each optimizer update. */
  biasConstraint?: ConstraintArg;
  /**
   * Keras' implementation mode; only 1 (this kernel layout) is supported. Present so that configs
   * written by Keras, which always contain it, load; 2 and 3 store the kernel differently and are
   * rejected with an UnsupportedError.
   */
  implementation?: number;
}

/** Every option name {@link LocallyConnectedLayerArgs} accepts (for subclasses' option checks). */
export const LOCALLY_CONNECTED_ARG_NAMES: readonly string[] = [
  ...LAYER_ARG_NAMES,
  'filters',
  'kernelSize',
  'strides',
  'padding',
  'dataFormat',
  'activation',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
  'kernelRegularizer',
  'biasRegularizer',
  'activityRegularizer',
  'kernelConstraint',
  'biasConstraint',
  'implementation',
];

function singleShape(inputShape: Shape | Shape[]): Shape {
  return Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : (inputShape as Shape);
}

function singleTensor(inputs: tfc.Tensor | tfc.Tensor[]): tfc.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

/**
 * Shared base of the locally connected layers: options, weights, shapes and config. The forward
 * pass reads the kernel only through one `this.kernel.read()` per call, so a subclass can substitute
 * a transformed (e.g. quantized) kernel there.
 */
export abstract class LocallyConnectedBase extends tfl.layers.Layer {
  /** Number of spatial axes: 1 or 2. */
  readonly rank: 1 | 2;
  /** Output channels per position. */
  readonly filters: number;
  /** Window size, one entry per spatial axis. */
  readonly kernelSize: number[];
  /** Window step, one entry per spatial axis. */
  readonly strides: number[];
  /** 'valid' or 'same'. */
  readonly padding: LocalPadding;
  /** Input and output layout. */
  readonly dataFormat: DataFormat;
  /** The resolved activation (linear when none was given). */
  readonly activation: Activation;
  /** Whether the layer has a bias. */
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | null;
  readonly biasRegularizer: Regularizer | null;
  readonly kernelConstraint: Constraint | null;
  readonly biasConstraint: Constraint | null;
  /** Kernel, [outputPositions, prod(kernelSize) * inputChannels, filters]; null before build. */
  kernel: LayerVariable | null = null;
  /** Bias, [...outputSpatial, filters]; null before build or without bias. */
  bias: LayerVariable | null = null;
  /** Output spatial size, known after build. */
  outputSpatial: number[] | null = null;

  protected constructor(rank: 1 | 2, args: LocallyConnectedLayerArgs) {
    super(args);
    const where = (option: string) => `${this.getClassName()} '${this.name}' option ${option}`;
    this.rank = rank;
    this.filters = checkInteger(args.filters, where('filters'));
    this.kernelSize = normalizeTuple(args.kernelSize, rank, where('kernelSize'));
    this.strides = normalizeTuple(args.strides ?? 1, rank, where('strides'));
    this.padding = checkOneOf(args.padding ?? 'valid', ['valid', 'same'] as const, where('padding'));
    this.dataFormat = checkDataFormat(args.dataFormat, where('dataFormat'));
    this.activation = getActivation(args.activation, where('activation'));
    this.useBias = checkBoolean(args.useBias ?? true, where('useBias'));
    this.kernelInitializer = getInitializer(
      args.kernelInitializer,
      'glorotUniform',
      where('kernelInitializer'),
    );
    this.biasInitializer = getInitializer(args.biasInitializer, 'zeros', where('biasInitializer'));
    this.kernelRegularizer = getRegularizer(args.kernelRegularizer, where('kernelRegularizer'));
    this.biasRegularizer = getRegularizer(args.biasRegularizer, where('biasRegularizer'));
    const activityRegularizer = getRegularizer(args.activityRegularizer, where('activityRegularizer'));
    if (activityRegularizer) this.activityRegularizer = activityRegularizer;
    this.kernelConstraint = getConstraint(args.kernelConstraint, where('kernelConstraint'));
    this.biasConstraint = getConstraint(args.biasConstraint, where('biasConstraint'));
    if (args.implementation != null && args.implementation !== 1) {
      throw new UnsupportedError(
        `${where('implementation')} = ${JSON.stringify(args.implementation)} (a different kernel layout)`,
        'implementation 1',
      );
    }
    this.inputSpec = [new tfl.InputSpec({ ndim: rank + 2 })];
  }

  private channelAxis(): number {
    return this.dataFormat === 'channelsFirst' ? 1 : this.rank + 1;
  }

  private spatialOf(shape: Shape): (number | null)[] {
    return this.dataFormat === 'channelsFirst' ? shape.slice(2) : shape.slice(1, this.rank + 1);
  }

  /** Output spatial size for an input spatial size (Keras' conv_output_length per axis). */
  outputSpatialFor(inputSpatial: readonly number[]): number[] {
    return inputSpatial.map((n, i) =>
      localOutputLength(n, this.kernelSize[i], this.strides[i], this.padding),
    );
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = singleShape(inputShape);
    const where = `${this.getClassName()} '${this.name}' input`;
    const channels = shape[this.channelAxis()];
    const spatial = this.spatialOf(shape);
    if (shape.length !== this.rank + 2 || channels == null || spatial.some((d) => d == null)) {
      throw new ShapeError({
        where,
        received: shape,
        expected: `rank ${this.rank + 2} with known channels and spatial size (${this.dataFormat})`,
      });
    }
    const outputSpatial = this.outputSpatialFor(spatial as number[]);
    if (outputSpatial.some((d) => d < 1)) {
      throw new ShapeError({
        where,
        received: shape,
        expected: `spatial size >= kernelSize [${this.kernelSize.join(', ')}] with padding '${this.padding}'`,
      });
    }
    const positions = outputSpatial.reduce((a, b) => a * b, 1);
    const features = this.kernelSize.reduce((a, b) => a * b, 1) * channels;
    this.kernel = this.addWeight(
      'kernel',
      [positions, features, this.filters],
      'float32',
      this.kernelInitializer,
      this.kernelRegularizer ?? undefined,
      true,
      this.kernelConstraint ?? undefined,
    );
    if (this.useBias) {
      this.bias = this.addWeight(
        'bias',
        [...outputSpatial, this.filters],
        'float32',
        this.biasInitializer,
        this.biasRegularizer ?? undefined,
        true,
        this.biasConstraint ?? undefined,
      );
    }
    this.outputSpatial = outputSpatial;
    this.inputSpec = [new tfl.InputSpec({ ndim: this.rank + 2, axes: { [this.channelAxis()]: channels } })];
    this.built = true;
  }

  override call(inputs: tfc.Tensor | tfc.Tensor[], _kwargs: Kwargs): tfc.Tensor {
    return tfc.tidy(() => {
      const x = singleTensor(inputs);
      if (x.rank !== this.rank + 2) {
        throw new ShapeError({
          where: `${this.getClassName()} '${this.name}' input`,
          received: x.shape,
          expected: `rank ${this.rank + 2}`,
        });
      }
      if (this.kernel == null)
        throw new ShapeError({ where: this.name, received: 'an unbuilt layer', expected: 'build() first' });
      // The only read of the kernel in the forward pass (subclasses substitute it here).
      const kernel = this.kernel.read() as tfc.Tensor3D;
      const channelsFirst = this.dataFormat === 'channelsFirst';
      let y: tfc.Tensor;
      if (this.rank === 2) {
        y = localConv2d(x as tfc.Tensor4D, kernel, {
          kernelSize: [this.kernelSize[0], this.kernelSize[1]],
          strides: [this.strides[0], this.strides[1]],
          padding: this.padding,
          dataFormat: this.dataFormat,
        });
      } else {
        // A 1-D layer is the 2-D one on a height-1 image: [B, L, C] -> [B, 1, L, C], [B, C, L] -> [B, C, 1, L].
        const x4 = tfc.expandDims(x, channelsFirst ? 2 : 1) as tfc.Tensor4D;
        const y4 = localConv2d(x4, kernel, {
          kernelSize: [1, this.kernelSize[0]],
          strides: [1, this.strides[0]],
          padding: this.padding,
          dataFormat: this.dataFormat,
        });
        y = tfc.squeeze(y4, [channelsFirst ? 2 : 1]);
      }
      if (this.bias != null) {
        const bias = this.bias.read();
        // Keras' backend.bias_add: channelsLast broadcasts bias [...spatial, F] over the batch;
        // channelsFirst RESHAPES (does not transpose) it to [F, ...spatial], so a Keras-trained bias
        // keeps its meaning only with this exact reshape.
        y = tfc.add(y, channelsFirst ? tfc.reshape(bias, y.shape.slice(1)) : bias);
      }
      return this.activation.apply(y);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleShape(inputShape);
    const spatial = this.spatialOf(shape).map((n, i) =>
      n == null ? null : localOutputLength(n, this.kernelSize[i], this.strides[i], this.padding),
    );
    return this.dataFormat === 'channelsFirst'
      ? [shape[0], this.filters, ...spatial]
      : [shape[0], ...spatial, this.filters];
  }

  override getConfig(): tfc.serialization.ConfigDict {
    const config: tfc.serialization.ConfigDict = {
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dataFormat: this.dataFormat,
      activation: serializeActivation(this.activation),
      useBias: this.useBias,
      kernelInitializer: serializeKerasObject(this.kernelInitializer),
      biasInitializer: serializeKerasObject(this.biasInitializer),
      kernelRegularizer: serializeKerasObject(this.kernelRegularizer),
      biasRegularizer: serializeKerasObject(this.biasRegularizer),
      activityRegularizer: serializeKerasObject(this.activityRegularizer ?? null),
      kernelConstraint: serializeKerasObject(this.kernelConstraint),
      biasConstraint: serializeKerasObject(this.biasConstraint),
      implementation: 1,
    };
    return { ...super.getConfig(), ...config };
  }
}

/**
 * Locally connected layer for 1-D inputs (Keras' `LocallyConnected1D`): like Conv1D, but every output
 * position l has its own filters:
 *
 *   y[b, l, f] = act( sum_{d < k, c} x[b, l s + d - p, c] W[l, d Cin + c, f] + bias[l, f] )
 *
 * with p = 0 ('valid') or floor(k / 2) ('same', zeros outside the input). For channelsFirst input
 * [B, Cin, L] the feature index is c k + d and the output is [B, F, L'] (Keras' layout).
 * Weights: `kernel` [L', k Cin, F], `bias` [L', F].
 *
 * @example
 * const layer = lq.layers.locallyConnected1d({ filters: 4, kernelSize: 3, inputShape: [10, 2] });
 * // output [batch, 8, 4]; kernel [8, 6, 4]; bias [8, 4]
 */
export class LocallyConnected1D extends LocallyConnectedBase {
  static className = 'LocallyConnected1D';
  /** Option names this layer accepts. */
  static readonly argNames = LOCALLY_CONNECTED_ARG_NAMES;

  constructor(args: LocallyConnectedLayerArgs) {
    super(1, args);
    if (new.target === LocallyConnected1D) {
      checkKnownOptions(args, LocallyConnected1D.argNames, `LocallyConnected1D '${this.name}'`);
    }
  }
}
tfc.serialization.registerClass(LocallyConnected1D);

/**
 * Locally connected layer for 2-D inputs (Keras' `LocallyConnected2D`): like Conv2D, but every output
 * position (i, j) has its own filters:
 *
 *   y[b, i, j, f] = act( sum_{di, dj, c} x[b, i sh + di - ph, j sw + dj - pw, c] W[i W' + j, q, f] + bias[i, j, f] )
 *
 * with q = (di kw + dj) Cin + c (channelsLast) or (c kh + di) kw + dj (channelsFirst), p = 0 ('valid')
 * or floor(k / 2) ('same', zeros outside). Weights: `kernel` [H' W', kh kw Cin, F], `bias` [H', W', F].
 *
 * @example
 * const layer = lq.layers.locallyConnected2d({ filters: 8, kernelSize: 3, inputShape: [7, 9, 3] });
 * // output [batch, 5, 7, 8]; kernel [35, 27, 8]; bias [5, 7, 8]
 */
export class LocallyConnected2D extends LocallyConnectedBase {
  static className = 'LocallyConnected2D';
  /** Option names this layer accepts. */
  static readonly argNames = LOCALLY_CONNECTED_ARG_NAMES;

  constructor(args: LocallyConnectedLayerArgs) {
    super(2, args);
    if (new.target === LocallyConnected2D) {
      checkKnownOptions(args, LocallyConnected2D.argNames, `LocallyConnected2D '${this.name}'`);
    }
  }
}
tfc.serialization.registerClass(LocallyConnected2D);

/** Creates a {@link LocallyConnected1D} layer (Keras' `LocallyConnected1D`). */
export function locallyConnected1d(args: LocallyConnectedLayerArgs): LocallyConnected1D {
  return new LocallyConnected1D(args);
}

/** Creates a {@link LocallyConnected2D} layer (Keras' `LocallyConnected2D`). */
export function locallyConnected2d(args: LocallyConnectedLayerArgs): LocallyConnected2D {
  return new LocallyConnected2D(args);
}

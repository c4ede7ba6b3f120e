import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import { setVariablePrecision } from '../context/precision.js';
import { shouldQuantize } from '../context/scopes.js';
import { ConfigError } from '../errors.js';
import type { Quantizer } from '../quantizers/base.js';
import { get as getQuantizer, type QuantizerIdentifier, serialize } from '../quantizers/registry.js';
import { warn } from '../util/log.js';
import { any, checkOptions, number, type OptionSpec } from '../util/options.js';

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base constructor must take any[] (TS2545).
type LayerConstructor = abstract new (...args: any[]) => tfl.layers.Layer;

/** One quantized weight of a layer: where the float layer keeps it and which options govern it. */
export interface KernelSlot {
  /** The float layer's attribute holding the LayerVariable, e.g. 'kernel' or 'depthwiseKernel'. */
  attribute: string;
  /** The quantizer option, e.g. 'kernelQuantizer'. */
  quantizerOption: string;
  /** The float layer's constraint option for this weight, e.g. 'kernelConstraint'. */
  constraintOption: string;
  /**
   * How often each weight is used per example, which is how MACs are counted: 'once' (dense,
   * locally connected), once per output position (convolutions), once per input position
   * (transposed convolutions).
   */
  reuse: 'once' | 'outputPositions' | 'inputPositions';
}

/** What distinguishes one quantized layer from another: the rest is shared. */
export interface QuantizedLayerSpec {
  /** Larq's class name, e.g. 'QuantDense'. */
  className: string;
  kernels: readonly KernelSlot[];
  /** Every option of the float layer, for validation. */
  floatOptions: Readonly<Record<string, OptionSpec>>;
  /** Whether `padValues` applies (non-transposed convolutions with 'same' padding). */
  padValues: boolean;
}

/** Options every quantized layer adds to its float twin. */
export interface QuantizerOptions {
  /** Quantizer applied to the layer's input (null: the input stays float). */
  inputQuantizer?: QuantizerIdentifier;
}

/** Attributes of tfjs's BaseConv that 'same' padding with padValues needs. */
interface ConvAttributes {
  padding: string;
  kernelSize: number[];
  strides: number[];
  dilationRate: number[];
  dataFormat: 'channelsFirst' | 'channelsLast';
}

/**
 * Paddings for Keras 'same' arithmetic on every spatial axis of `shape`:
 * out = ceil(in / stride); total = max((out - 1) stride + (k - 1) dilation + 1 - in, 0);
 * before = floor(total / 2); after = total - before.
 */
export function samePaddings(shape: readonly number[], conv: ConvAttributes): Array<[number, number]> {
  const rank = conv.kernelSize.length;
  const first = conv.dataFormat === 'channelsFirst' ? 2 : 1;
  const paddings: Array<[number, number]> = shape.map(() => [0, 0]);
  for (let i = 0; i < rank; i++) {
    const size = shape[first + i];
    const out = Math.ceil(size / conv.strides[i]);
    const total = Math.max(
      (out - 1) * conv.strides[i] + (conv.kernelSize[i] - 1) * conv.dilationRate[i] + 1 - size,
      0,
    );
    const before = Math.floor(total / 2);
    paddings[first + i] = [before, total - before];
  }
  return paddings;
}

/** Paddings for 'causal' 1-D convolution: (k - 1) dilation before the time axis, none after. */
function causalPaddings(shape: readonly number[], conv: ConvAttributes): Array<[number, number]> {
  const paddings: Array<[number, number]> = shape.map(() => [0, 0]);
  paddings[conv.dataFormat === 'channelsFirst' ? 2 : 1] = [
    (conv.kernelSize[0] - 1) * conv.dilationRate[0],
    0,
  ];
  return paddings;
}

/** A stand-in for `variable` whose read() gives `read()`'s value; everything else is inherited. */
function viewOf(variable: tfl.LayerVariable, read: () => tf.Tensor): tfl.LayerVariable {
  return Object.create(variable, { read: { value: read } });
}

/** A stand-in for `variable` whose read() gives the quantized values. */
function quantizedView(variable: tfl.LayerVariable, quantizer: Quantizer): tfl.LayerVariable {
  return viewOf(variable, () => quantizer.quantize(variable.read()));
}

interface CachedKernel {
  /** The latent variable's data when this was computed: tfjs gives a variable new data on assign. */
  dataId: object;
  value: tf.Tensor;
}
const inferenceKernels = new WeakMap<object, Map<string, CachedKernel>>();

/**
 * A layer's quantized kernel for one call. While gradients are recorded it is computed afresh, on
 * the tape. Otherwise (inference) it is kept until the latent variable is assigned again: the wasm
 * backend caches its XNNPACK operator per filter tensor, and a new tensor on every call rebuilt it
 * each time (binary convolutions ran 20x slower than float ones).
 */
function quantizedKernel(
  layer: object,
  attribute: string,
  variable: tfl.LayerVariable,
  q: Quantizer,
): tf.Tensor {
  const latent = variable.read();
  if (tf.engine().isTapeOn()) return q.quantize(latent);
  let cache = inferenceKernels.get(layer);
  if (!cache) {
    cache = new Map();
    inferenceKernels.set(layer, cache);
  }
  const hit = cache.get(attribute);
  if (hit && hit.dataId === latent.dataId && !hit.value.isDisposed) return hit.value;
  hit?.value.dispose();
  const value = tf.keep(q.quantize(latent));
  cache.set(attribute, { dataId: latent.dataId, value });
  return value;
}

/** Frees a layer's cached inference kernels. */
function disposeInferenceKernels(layer: object): void {
  for (const { value } of inferenceKernels.get(layer)?.values() ?? []) value.dispose();
  inferenceKernels.delete(layer);
}

/**
 * Turns a tfjs layer class into its quantized twin (Larq's `QuantizerBase` / `QuantizerBaseConv`):
 * y = activation(op(kernelQuantizer(latent kernel), inputQuantizer(x)) + bias).
 *
 * The latent, real-valued weights are the layer's ordinary LayerVariables and are what training
 * updates. call() quantizes the input, pads with `padValues` where asked, and runs the float
 * layer's own call with quantized views of the kernels: the float computation is never
 * re-implemented. Inside {@link quantizedScope}, the layer's weight lists expose the same views,
 * so getWeights() and model.save() give the quantized kernels.
 */
/** What a quantized layer adds to its float twin's instance type. */
export interface QuantizedLayerMembers {
  /** Quantizer of the input, or null. */
  readonly inputQuantizer: Quantizer | null;
  /** Quantizer of each kernel, by its option name (e.g. `kernelQuantizer`). */
  readonly kernelQuantizers: Readonly<Record<string, Quantizer | null>>;
  /** Value the input is padded with for 'same' padding (0 or 1 in practice). */
  readonly padValues: number;
  /** The layer's kernels: attributes, options and how each is reused. */
  readonly kernelSlots: readonly KernelSlot[];
}

/** A quantized layer class as the layer registry holds it. */
export interface QuantizedLayerClass {
  // biome-ignore lint/suspicious/noExplicitAny: layer argument types differ per class.
  new (args: any): tfl.layers.Layer & QuantizedLayerMembers;
  readonly className: string;
}

const layerRegistry: QuantizedLayerClass[] = [];

/**
 * Registers a quantized layer class with tfjs serialization (so models using it load) and in
 * lowbit's layer list, which tests, summary and converter read. Call it right after the class.
 */
export function registerQuantizedLayer(cls: QuantizedLayerClass): void {
  tf.serialization.registerClass(
    cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
  );
  layerRegistry.push(cls);
}

/** Every registered quantized layer class, in registration order. */
export function registeredLayers(): readonly QuantizedLayerClass[] {
  return layerRegistry;
}

/** The (attribute, quantizer) pairs of a layer's kernels that have a quantizer. */
function quantizedSlots(layer: QuantizedLayerMembers, spec: QuantizedLayerSpec): Array<[string, Quantizer]> {
  return spec.kernels.flatMap((slot) => {
    const q = layer.kernelQuantizers[slot.quantizerOption];
    return q ? [[slot.attribute, q] as [string, Quantizer]] : [];
  });
}

/** Inside the quantized scope, a layer's kernels are listed as their quantized views. */
function inScope(
  layer: QuantizedLayerMembers,
  spec: QuantizedLayerSpec,
  weights: tfl.LayerVariable[],
): tfl.LayerVariable[] {
  if (!shouldQuantize()) return weights;
  const self = layer as unknown as Record<string, tfl.LayerVariable>;
  const views = new Map(quantizedSlots(layer, spec).map(([attribute, q]) => [self[attribute], q]));
  return weights.map((w) => {
    const q = views.get(w);
    return q ? quantizedView(w, q) : w;
  });
}

export function quantizedLayer<B extends LayerConstructor>(
  Base: B,
  spec: QuantizedLayerSpec,
  // biome-ignore lint/suspicious/noExplicitAny: see LayerConstructor.
): B & (abstract new (...args: any[]) => QuantizedLayerMembers) {
  const quantizerSpecs: Record<string, OptionSpec> = { inputQuantizer: any };
  for (const slot of spec.kernels) quantizerSpecs[slot.quantizerOption] = any;
  if (spec.padValues) quantizerSpecs.padValues = number;

  abstract class QuantizedLayer extends Base implements QuantizedLayerMembers {
    readonly inputQuantizer: Quantizer | null;
    readonly kernelQuantizers: Readonly<Record<string, Quantizer | null>>;
    readonly padValues: number;
    readonly kernelSlots = spec.kernels;

    // biome-ignore lint/suspicious/noExplicitAny: see LayerConstructor.
    constructor(...params: any[]) {
      const args = (params[0] ?? {}) as Record<string, unknown>;
      checkOptions(spec.className, args, { ...spec.floatOptions, ...quantizerSpecs });
      const floatArgs = { ...args };
      for (const key of Object.keys(quantizerSpecs)) delete floatArgs[key];
      super(floatArgs);
      const where = (option: string) => `${spec.className} '${this.name}' option ${option}`;
      this.inputQuantizer = getQuantizer(args.inputQuantizer as QuantizerIdentifier, where('inputQuantizer'));
      const kernelQuantizers: Record<string, Quantizer | null> = {};
      for (const slot of spec.kernels) {
        const q = getQuantizer(
          args[slot.quantizerOption] as QuantizerIdentifier,
          where(slot.quantizerOption),
        );
        kernelQuantizers[slot.quantizerOption] = q;
        if (q !== null && q.precision === 1 && args[slot.constraintOption] == null) {
          warn(
            `${spec.className} '${this.name}': a binary ${slot.quantizerOption} without ${slot.constraintOption} ` +
              `may give starved weights: latent weights drift out of the clip range, where the pseudo-gradient ` +
              `is always zero. Use ${slot.constraintOption}: 'weight_clip'.`,
          );
        }
      }
      this.kernelQuantizers = kernelQuantizers;
      this.padValues = (args.padValues as number | undefined) ?? 0;
      if (this.padValues !== 0 && (this as unknown as ConvAttributes).padding === 'causal') {
        throw new ConfigError({
          where: where('padValues'),
          received: this.padValues,
          expected: "0 with padding 'causal' (padValues applies to 'same' padding only)",
        });
      }
    }

    override build(inputShape: tfl.Shape | tfl.Shape[]): void {
      super.build(inputShape);
      const self = this as unknown as Record<string, tfl.LayerVariable>;
      for (const slot of spec.kernels) {
        const variable = self[slot.attribute];
        const precision = this.kernelQuantizers[slot.quantizerOption]?.precision ?? 32;
        setVariablePrecision(variable, variable.read() as tf.Variable, precision);
      }
    }

    override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
      return tf.tidy(() => {
        let x = Array.isArray(inputs) ? inputs[0] : inputs;
        if (this.inputQuantizer) x = this.inputQuantizer.quantize(x);
        const conv = this as unknown as ConvAttributes;
        // tfjs's conv1d has no 'causal' mode: pad (k - 1) dilation zeros on the left, as Keras does.
        const causal = spec.padValues && conv.padding === 'causal';
        const explicitPad = causal || (spec.padValues && this.padValues !== 0 && conv.padding === 'same');
        if (causal) x = tf.pad(x, causalPaddings(x.shape, conv), 0);
        else if (explicitPad) x = tf.pad(x, samePaddings(x.shape, conv), this.padValues);
        const self = this as unknown as Record<string, unknown>;
        const saved = new Map<string, unknown>();
        for (const [attribute, q] of quantizedSlots(this, spec)) {
          const variable = self[attribute] as tfl.LayerVariable;
          saved.set(attribute, variable);
          self[attribute] = viewOf(variable, () => quantizedKernel(this, attribute, variable, q));
        }
        if (explicitPad) {
          saved.set('padding', conv.padding);
          conv.padding = 'valid';
        }
        try {
          return super.call(x, kwargs);
        } finally {
          for (const [attribute, value] of saved) self[attribute] = value;
        }
      });
    }

    override get trainableWeights(): tfl.LayerVariable[] {
      return inScope(this, spec, super.trainableWeights);
    }

    override set trainableWeights(weights: tfl.LayerVariable[]) {
      super.trainableWeights = weights;
    }

    override get nonTrainableWeights(): tfl.LayerVariable[] {
      return inScope(this, spec, super.nonTrainableWeights);
    }

    override set nonTrainableWeights(weights: tfl.LayerVariable[]) {
      super.nonTrainableWeights = weights;
    }

    override dispose(): ReturnType<tfl.layers.Layer['dispose']> {
      disposeInferenceKernels(this);
      return super.dispose();
    }

    override getConfig(): tf.serialization.ConfigDict {
      const config: tf.serialization.ConfigDict = {
        ...super.getConfig(),
        inputQuantizer: serialize(this.inputQuantizer),
      };
      for (const slot of spec.kernels)
        config[slot.quantizerOption] = serialize(this.kernelQuantizers[slot.quantizerOption]);
      if (spec.padValues) config.padValues = this.padValues;
      return config;
    }
  }
  return QuantizedLayer;
}

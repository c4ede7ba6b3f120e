import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { getVariablePrecision } from '../context/precision.js';
import { ConfigError } from '../errors.js';
import type { QuantizedLayerMembers } from '../layers/base.js';
import { kernelSlotsOf } from '../layers/float-options.js';
import { type EnergyEstimate, type EnergyOptions, energyOf } from './energy.js';
import { shapeAsPython } from './format.js';
import { countOps, type OpCounts } from './ops.js';

/** One weight as the summary counts it. */
export interface WeightProfile {
  /** The variable's name, e.g. `quant_conv2d/kernel`. */
  name: string;
  shape: number[];
  /** Number of values: the product of the shape. */
  count: number;
  /** Bits per value: the quantizer's precision for a quantized kernel, else 32. */
  bits: number;
  trainable: boolean;
}

/** A count at one bit-width (parameters) or one precision (MACs). */
export interface BitCount {
  bits: number;
  count: number;
}

/** The summary figures of one layer (or of a model used as a layer, with its `layers`). */
export interface LayerProfile {
  name: string;
  /** tfjs class name, e.g. 'QuantConv2D'. */
  className: string;
  /** Precision of the layer's input quantizer, or null when the input is not quantized. */
  inputPrecision: number | null;
  /** Times the layer runs per example: more than 1 for a layer shared within a functional model. */
  calls: number;
  /** Output shape(s) with null for the batch, or null when unknown. */
  outputShape: (number | null)[] | (number | null)[][] | null;
  /** The output shape as Larq prints it: `(-1, 32, 32, 3)`, `multiple`. */
  outputShapeText: string;
  /** The weights counted (a normalization layer's beta and gamma are folded, so left out). */
  weights: WeightProfile[];
  /** Total parameters: sum of the counted weights' sizes. */
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Parameters per bit-width, ascending by bits. */
  paramsByBits: BitCount[];
  /** Model size in bits: sum over weights of bits x count. */
  memoryBits: number;
  /** Size in bits with float weights stored in 8 bits: sum of min(bits, 8) x count. */
  int8FpWeightsMemoryBits: number;
  /** Size in bits if every weight were 32-bit: 32 x params. */
  float32EquivalentBits: number;
  /** Multiply-accumulates per example (all precisions). */
  macs: number;
  /** MACs per example by precision, ascending; a MAC's precision is max(input precision or 32, kernel bits). */
  macsByPrecision: BitCount[];
  /** FLOPs and low-bit operations derived from the MACs. */
  ops: OpCounts;
  /** For a model used as a layer: its layers' profiles. */
  layers?: LayerProfile[];
  /** Why a figure is missing or assumed (unknown layer type, unknown shape). */
  notes: string[];
}

/** The summary figures of a whole model, Larq's tables in data form. */
export interface ModelProfile extends LayerProfile {
  layers: LayerProfile[];
  /** Model size / float-32 equivalent size (0 when the model has no weights). */
  compressionRatio: number;
  /** 1-bit MACs / all MACs (0 when there are none). */
  binarizedRatio: number;
  /** 2-bit MACs / all MACs. */
  ternarizedRatio: number;
  /** Every parameter bit-width that occurs, ascending: the table's parameter columns. */
  paramBitWidths: number[];
  /** Every MAC precision that occurs, ascending: the table's MAC columns. */
  macPrecisions: number[];
  /** Estimated energy of one inference (see {@link energyOf}); an estimate, not a measurement. */
  energy: EnergyEstimate;
}

/** Options of {@link profile}. */
export interface ProfileOptions {
  /** Options of the energy estimate (default: Horowitz, ISSCC 2014, 45 nm). */
  energy?: EnergyOptions;
}

type Shape = (number | null)[];

/** The last segment of a variable name without tfjs's or Keras's suffixes: `bn/moving_mean` -> `moving_mean`. */
function baseName(v: tfl.LayerVariable): string {
  return (v.originalName ?? v.name).split('/').pop()?.replace(/:0$/, '').replace(/_\d+$/, '') ?? '';
}

/**
 * The weights the summary counts. A layer holding `moving_mean` and `moving_variance` (batch
 * normalization) is taken as folded into the neighbouring layer at inference, as Larq does:
 * beta is dropped when moving_mean is present, gamma when moving_variance is.
 */
function countedWeights(layer: tfl.layers.Layer): tfl.LayerVariable[] {
  const weights = [...layer.weights];
  const names = weights.map(baseName);
  const folded = new Set<string>();
  for (const [affine, statistic] of [
    ['beta', 'moving_mean'],
    ['gamma', 'moving_variance'],
  ]) {
    if (names.includes(affine) && names.includes(statistic)) folded.add(affine);
  }
  return weights.filter((_, i) => !folded.has(names[i]));
}

function isFoldedNormalization(layer: tfl.layers.Layer): boolean {
  const names = layer.weights.map(baseName);
  return names.includes('moving_mean') && names.includes('moving_variance');
}

function product(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

function isShapeList(shape: unknown): shape is Shape[] {
  return Array.isArray(shape) && shape.length > 0 && Array.isArray(shape[0]);
}

/** The layer's output shape, null when tfjs cannot tell (a layer used at several different shapes). */
function outputShapeOf(layer: tfl.layers.Layer): Shape | Shape[] | null {
  try {
    const shape = layer.outputShape as Shape | Shape[];
    if (isShapeList(shape)) return shape.length === 1 ? shape[0] : shape;
    return shape;
  } catch {
    return null;
  }
}

/** The layer's input shape when every call saw the same single input, else null. */
function inputShapeOf(layer: tfl.layers.Layer): Shape | null {
  const seen = new Set(layer.inboundNodes.map((node) => JSON.stringify(node.inputShapes)));
  if (seen.size !== 1) return null;
  const shape = JSON.parse([...seen][0]) as Shape | Shape[];
  if (isShapeList(shape)) return shape.length === 1 ? shape[0] : null;
  return shape;
}

/** As Larq prints output shapes: a tuple, a list of tuples for several outputs, or 'multiple'. */
function shapeText(shape: Shape | Shape[] | null): string {
  if (shape === null) return 'multiple';
  return isShapeList(shape) ? `[${shape.map(shapeAsPython).join(', ')}]` : shapeAsPython(shape);
}

/** The spatial positions of a feature-map shape: all axes but batch and channels. */
function spatial(shape: Shape, layer: tfl.layers.Layer): Shape {
  const channelsFirst = (layer as { dataFormat?: string }).dataFormat === 'channelsFirst';
  return channelsFirst ? shape.slice(2) : shape.slice(1, -1);
}

function bitCounts(entries: Iterable<[number, number]>): BitCount[] {
  const sums = new Map<number, number>();
  for (const [bits, count] of entries) sums.set(bits, (sums.get(bits) ?? 0) + count);
  return [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([bits, count]) => ({ bits, count }));
}

function isRegistered(layer: tfl.layers.Layer): boolean {
  return layer.getClassName() in tf.serialization.SerializationMap.getMap().classNameMap;
}

/** A container (a model used as a layer): it has layers of its own. */
function sublayersOf(layer: tfl.layers.Layer): tfl.layers.Layer[] | null {
  const layers = (layer as { layers?: unknown }).layers;
  return Array.isArray(layers) ? (layers as tfl.layers.Layer[]) : null;
}

/** The input and output shapes of one call of a layer. */
interface Call {
  input: Shape | Shape[] | null;
  output: Shape | Shape[] | null;
}

function single(shapes: Shape | Shape[] | null): Shape | Shape[] | null {
  return isShapeList(shapes) && shapes.length === 1 ? shapes[0] : shapes;
}

/**
 * The calls of `layer` per example inside `container`: one per inbound node that belongs to the
 * container's graph (a layer shared within a functional model runs once per call). Models
 * without a graph of their own (Sequential) call each layer once, with its current shapes.
 */
function callsOf(layer: tfl.layers.Layer, container: tfl.layers.Layer | null): Call[] {
  const nodeKeys = (container as { containerNodes?: Set<string> } | null)?.containerNodes;
  if (nodeKeys && nodeKeys.size > 0) {
    const calls = layer.inboundNodes
      .filter((_, i) => nodeKeys.has(`${layer.name}_ib-${i}`))
      .map((node) => ({
        input: single(node.inputShapes as Shape | Shape[]),
        output: single(node.outputShapes as Shape | Shape[]),
      }));
    if (calls.length > 0) return calls;
  }
  return [{ input: inputShapeOf(layer), output: outputShapeOf(layer) }];
}

/**
 * MACs per example of one layer, by precision, from its kernel slots, summed over its calls:
 * MACs = kernel weights x uses per example, where the uses are the output positions for
 * convolutions (H' x W' (x D')), the input positions for transposed convolutions, and 1 for
 * dense and locally connected kernels (whose kernel already holds one weight set per position).
 * A rank-2 'once' kernel (Dense) applied to an N-D input is used once per position of the
 * middle axes, as tfjs applies it along the last axis. Precision = max(input precision or 32, kernel bits).
 */
function macsOf(
  layer: tfl.layers.Layer,
  inputPrecision: number | null,
  calls: readonly Call[],
  notes: string[],
): Array<[number, number]> {
  const macs: Array<[number, number]> = [];
  for (const slot of kernelSlotsOf(layer)) {
    const variable = (layer as unknown as Record<string, tfl.LayerVariable | null | undefined>)[
      slot.attribute
    ];
    if (!variable) continue;
    const count = product(variable.shape as number[]);
    const precision = Math.max(inputPrecision ?? 32, getVariablePrecision(variable));
    for (const call of calls) {
      let positions: Shape;
      const shape = slot.reuse === 'inputPositions' ? call.input : call.output;
      if (shape === null || isShapeList(shape)) {
        notes.push(
          `${layer.name}: MACs not counted (its ${slot.reuse === 'inputPositions' ? 'input' : 'output'} shape is not unique)`,
        );
        continue;
      }
      if (slot.reuse === 'once') positions = variable.shape.length === 2 ? shape.slice(1, -1) : [];
      else positions = spatial(shape, layer);
      if (positions.some((d) => d === null)) {
        notes.push(`${layer.name}: MACs not counted (spatial size unknown: ${shapeText(shape)})`);
        continue;
      }
      macs.push([precision, count * product(positions as number[])]);
    }
  }
  return macs;
}

function layerProfile(layer: tfl.layers.Layer, container: tfl.layers.Layer | null): LayerProfile {
  const children = sublayersOf(layer);
  if (children) {
    return containerProfile(
      layer,
      children.map((child) => layerProfile(child, layer)),
      container,
    );
  }
  const notes: string[] = [];
  const trainable = new Set(layer.trainableWeights);
  const weights: WeightProfile[] = countedWeights(layer).map((v) => ({
    name: v.name,
    shape: [...(v.shape as number[])],
    count: product(v.shape as number[]),
    bits: getVariablePrecision(v),
    trainable: trainable.has(v),
  }));
  const inputPrecision = (layer as Partial<QuantizedLayerMembers>).inputQuantizer?.precision ?? null;
  const outputShape = outputShapeOf(layer);
  const hasKernels = kernelSlotsOf(layer).length > 0;
  const calls = callsOf(layer, container);
  const macs = macsOf(layer, inputPrecision, calls, notes);
  if (!isRegistered(layer)) {
    notes.push(
      `${layer.name}: unknown layer type ${layer.getClassName()}; its ${weights.reduce((s, w) => s + w.count, 0)} params are counted at their tagged precision (32 bits unless quantized) and its MACs as 0`,
    );
  } else if (weights.length > 0 && !hasKernels && !isFoldedNormalization(layer)) {
    notes.push(`${layer.name}: no MAC rule for ${layer.getClassName()}; its MACs are counted as 0`);
  }
  return assemble({
    name: layer.name,
    calls: calls.length,
    className: layer.getClassName(),
    inputPrecision,
    outputShape,
    weights,
    macsByPrecision: bitCounts(macs),
    notes,
  });
}

interface Parts {
  name: string;
  calls: number;
  className: string;
  inputPrecision: number | null;
  outputShape: Shape | Shape[] | null;
  weights: WeightProfile[];
  macsByPrecision: BitCount[];
  notes: string[];
  layers?: LayerProfile[];
}

function assemble(parts: Parts): LayerProfile {
  const { weights, macsByPrecision } = parts;
  const sum = (f: (w: WeightProfile) => number) => weights.reduce((s, w) => s + f(w), 0);
  const params = sum((w) => w.count);
  const trainableParams = sum((w) => (w.trainable ? w.count : 0));
  return {
    name: parts.name,
    className: parts.className,
    calls: parts.calls,
    inputPrecision: parts.inputPrecision,
    outputShape: parts.outputShape,
    outputShapeText: shapeText(parts.outputShape),
    weights,
    params,
    trainableParams,
    nonTrainableParams: params - trainableParams,
    paramsByBits: bitCounts(weights.map((w) => [w.bits, w.count])),
    memoryBits: sum((w) => w.bits * w.count),
    int8FpWeightsMemoryBits: sum((w) => Math.min(w.bits, 8) * w.count),
    float32EquivalentBits: 32 * params,
    macs: macsByPrecision.reduce((s, m) => s + m.count, 0),
    macsByPrecision,
    ops: countOps(macsByPrecision),
    ...(parts.layers ? { layers: parts.layers } : {}),
    notes: parts.notes,
  };
}

/**
 * A container's profile: the sums of its layers'; input precision of the first, output of the
 * last. A nested model called k times in its parent's graph counts its MACs k times.
 */
function containerProfile(
  layer: tfl.layers.Layer,
  layers: LayerProfile[],
  parent: tfl.layers.Layer | null,
): LayerProfile {
  const calls = parent ? callsOf(layer, parent) : [];
  const times = Math.max(1, calls.length);
  const notes = layers.flatMap((l) => l.notes);
  if (new Set(calls.map((c) => JSON.stringify(c.input))).size > 1) {
    notes.push(
      `${layer.name}: a nested model called at different input shapes; each of its ${times} calls is counted with the MACs of its own graph's shapes`,
    );
  }
  return assemble({
    name: layer.name,
    calls: times,
    className: layer.getClassName(),
    inputPrecision: layers[0]?.inputPrecision ?? null,
    outputShape: layers.length > 0 ? layers[layers.length - 1].outputShape : null,
    weights: layers.flatMap((l) => l.weights),
    macsByPrecision: bitCounts(
      layers.flatMap((l) => l.macsByPrecision.map((m) => [m.bits, times * m.count] as [number, number])),
    ),
    notes,
    layers,
  });
}

/** The first layer (at any depth) that is not built, or null. */
function unbuiltLayer(layers: readonly tfl.layers.Layer[]): tfl.layers.Layer | null {
  for (const layer of layers) {
    const children = sublayersOf(layer);
    const found = children ? unbuiltLayer(children) : layer.built ? null : layer;
    if (found) return found;
  }
  return null;
}

/** Throws a clear error unless `model` is a tfjs model whose layers are all built. */
export function checkBuilt(model: tfl.LayersModel, where: string): void {
  const layers = (model as { layers?: unknown } | null)?.layers;
  if (!Array.isArray(layers)) {
    throw new ConfigError({
      where,
      received: model,
      expected: 'a tfjs LayersModel (tf.sequential() or tf.model())',
    });
  }
  const expected =
    'a built model: give the first layer an inputShape (or use tf.input), or call model.build(shape), predict or fit first';
  if (layers.length === 0) {
    throw new ConfigError({
      where: `${where} model '${model.name}'`,
      received: 'a model with no layers',
      expected,
    });
  }
  const unbuilt = unbuiltLayer(layers as tfl.layers.Layer[]);
  if (unbuilt) {
    throw new ConfigError({
      where: `${where} model '${model.name}'`,
      received: `a model whose layer '${unbuilt.name}' (${unbuilt.getClassName()}) is not built`,
      expected,
    });
  }
}

/**
 * The figures of Larq's `summary(model)` as data: per layer, and for the whole model, parameters
 * by bit-width, memory, MACs by precision, FLOPs and low-bit ops, and the estimated energy.
 *
 * - A kernel's width is its quantizer's precision; every other weight counts 32 bits.
 * - Batch normalization counts moving mean and variance only (beta and gamma fold into them).
 * - Model size = sum of bits x count; 8-bit-FP size = sum of min(bits, 8) x count;
 *   float-32 equivalent = 32 x params; compression ratio = size / float-32 size.
 * - MACs per example = kernel weights x uses (see `kernelSlotsOf` reuse), at precision
 *   max(input precision or 32, kernel bits); a MAC is binary only if both sides are 1-bit.
 * - Beyond Larq: MACs for every layer with kernels (Conv3D, transposed, locally connected,
 *   separable, depthwise), nested models profiled recursively, 0 MACs (not "?") for layers
 *   without kernels, and unknown (custom) layers listed with a note instead of failing.
 *
 * Reference: Larq, `larq.models.summary` (Geiger & Team Plumerai, "Larq: An Open-Source Library
 * for Training Binarized Neural Networks", JOSS 2020).
 *
 * @example
 * const p = lq.models.profile(model);
 * p.paramsByBits; // [{ bits: 1, count: 93088 }, { bits: 32, count: 468 }]
 * p.ops.flops; p.energy.totalSramPj;
 * JSON.stringify(p);
 * @throws ConfigError if the model is not built.
 */
export function profile(model: tfl.LayersModel, options: ProfileOptions = {}): ModelProfile {
  checkBuilt(model, 'profile()');
  const base = containerProfile(
    model as unknown as tfl.layers.Layer,
    model.layers.map((layer) => layerProfile(layer, model as unknown as tfl.layers.Layer)),
    null,
  );
  const macsAt = (bits: number) => base.macsByPrecision.find((m) => m.bits === bits)?.count ?? 0;
  return {
    ...base,
    layers: base.layers ?? [],
    compressionRatio: base.memoryBits / Math.max(1e-8, base.float32EquivalentBits),
    binarizedRatio: macsAt(1) / Math.max(1, base.macs),
    ternarizedRatio: macsAt(2) / Math.max(1, base.macs),
    paramBitWidths: base.paramsByBits.map((p) => p.bits),
    macPrecisions: base.macsByPrecision.map((m) => m.bits),
    energy: energyOf(base, options.energy),
  };
}

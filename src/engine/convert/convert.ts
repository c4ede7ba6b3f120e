/**
 * The converter: a trained tfjs model with lowbit layers -> the engine's bitpacked `.lbm` file.
 *
 * It walks the model's tensor graph from its outputs (Sequential and functional models alike), emits
 * one engine node per layer (a binary or float conv/dense with its own scale and bias, `affine` for
 * each BatchNorm, `binarize` for each sign input quantizer, pools, add, ...) and lets
 * {@link optimizeGraph} fold BatchNorm into multipliers and turn binary op -> BN -> sign chains into
 * bit-output thresholds (Larq Compute Engine's scheme, Bannink et al., MLSys 2021).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, UnsupportedError } from '../../errors.js';
import { kernelSlotsOf } from '../../layers/float-options.js';
import { GraphBuilder, type NodeSpec } from '../builder.js';
import { encodeModel } from '../format/lbm.js';
import type { FloatTransform, Graph, GraphNode, InputScaling } from '../ir.js';
import { optimizeGraph } from '../optimize.js';
import { foldBatchNorm, packConvKernel, packDenseKernel } from '../weights.js';
import { inputKind, kernelForm, type QuantizerLike } from './quantizers.js';

/** The converter's version, written into every file's metadata. */
export const CONVERTER_VERSION = '1';

/** Options of {@link convert}. */
export interface ConvertOptions {
  /** Run {@link optimizeGraph} (BN folding, bit-output thresholds, max-pool on bits). Default true. */
  optimize?: boolean;
  /** Extra metadata for the file's header (the converter adds `source`, `converter`, `converterVersion`). */
  metadata?: Record<string, string>;
  /**
   * The model's input is 8-bit data scaled as x = q * scale + offset (e.g. pixels / 127.5 - 1:
   * `{ scale: 1 / 127.5, offset: -1 }`): recorded in the file so that the engine also accepts the raw
   * bytes, `net.predict(Uint8Array, shape)`, and runs a first dense layer with +-1 weights exactly in
   * integer SIMD (like TFLite's uint8-input models). The float input API is unchanged.
   */
  uint8Input?: InputScaling;
}

/** The result of {@link convert}. */
export interface ConvertResult {
  /** The `.lbm` file. */
  bytes: Uint8Array;
  /** The graph written to the file (after optimization). */
  graph: Graph;
  /** One line per converted layer and per optimizer rewrite. */
  log: string[];
}

/** What the converter supports, for error messages. */
export const SUPPORTED_LAYERS =
  'InputLayer; Dense/QuantDense and Conv2D/QuantConv2D (channelsLast, valid/same, strides, dilations, padValues 0 or 1 for binary inputs, ' +
  'activation linear/relu/relu6/softmax) with float or binary kernels and no or sign input quantizers; BatchNormalization (last axis); ' +
  'MaxPooling2D; AveragePooling2D; GlobalAveragePooling2D; Flatten; Add; Concatenate (last axis); Activation/ReLU (linear, relu, softmax); Dropout';

/** A value of the engine graph standing for one tfjs tensor. */
interface Value {
  name: string;
  /** Shape without the batch axis. */
  shape: number[];
  /** Set when this value is Flatten(unflat): binary dense ops read the packed NHWC tensor directly. */
  unflat?: Value;
}

type Config = Record<string, unknown>;

const pair = (v: unknown): [number, number] =>
  Array.isArray(v) ? [v[0] as number, (v[1] ?? v[0]) as number] : [v as number, v as number];

function describeLayer(layer: tfl.layers.Layer): string {
  return `layer '${layer.name}' (${layer.getClassName()})`;
}

function unsupported(layer: tfl.layers.Layer, what: string, supported = SUPPORTED_LAYERS): UnsupportedError {
  return new UnsupportedError(`${describeLayer(layer)}: ${what}`, supported);
}

function activationName(layer: tfl.layers.Layer): string {
  const a = (layer as unknown as { activation?: { getClassName(): string } }).activation;
  return a ? a.getClassName() : 'linear';
}

/** The quantizer members lowbit's quantized layers carry (absent on tfjs's own layers). */
interface QuantMembers {
  inputQuantizer?: QuantizerLike | null;
  kernelQuantizers?: Record<string, QuantizerLike | null>;
  padValues?: number;
}

/** One model -> graph conversion. */
class Converter {
  readonly log: string[] = [];
  private g!: GraphBuilder;
  private readonly values = new Map<number, Value>();
  private readonly binarized = new Map<string, string>();
  private readonly usedNames = new Set<string>();
  /** Each BatchNorm's affine node -> its statistics (for the BatchNorm form, see batchNormForms). */
  private readonly batchNorms = new Map<
    string,
    { gamma?: Float32Array; beta?: Float32Array; mean: Float32Array; divisor: Float32Array }
  >();

  constructor(private readonly model: tfl.LayersModel) {}

  run(): Graph {
    const model = this.model;
    if (model.inputs.length !== 1)
      throw new UnsupportedError(
        `model '${model.name}' with ${model.inputs.length} inputs`,
        'models with exactly one input',
      );
    const input = model.inputs[0];
    const inShape = input.shape.slice(1) as number[];
    if (inShape.some((d) => d === null))
      throw new UnsupportedError(
        `model '${model.name}' input shape [${input.shape.join(', ')}]`,
        'a fixed input shape (only the batch axis free)',
      );
    this.g = new GraphBuilder(this.unique(input.sourceLayer?.name || input.name || 'input'), inShape);
    this.values.set(input.id, { name: this.g.input, shape: inShape });
    const outputs = model.outputs.map((t) => this.visit(t).name);
    return pruneGraph(this.batchNormForms(this.g.build(outputs)));
  }

  /**
   * A BatchNorm whose output an `add` (a residual sum, binarized later) or a `binarize` reads becomes an
   * affine in the BatchNorm form (AffineNode.divisor), which rounds operation for operation as
   * tfjs-backend-wasm's FusedBatchNorm kernel: a float value within rounding of 0 before a sign is where
   * a folded multiplier and bias (x m + b) and tfjs part ways (binary-mlp on Fashion-MNIST: 2 of 10,000
   * images). After a binary op, optimizeGraph turns the BatchNorm form and the sign into integer
   * thresholds from that same evaluation; every other BatchNorm stays folded.
   */
  private batchNormForms(graph: Graph): Graph {
    const summed = new Set(
      graph.nodes.filter((n) => n.op === 'add' || n.op === 'binarize').flatMap((n) => n.inputs),
    );
    for (const node of graph.nodes) {
      const bn = this.batchNorms.get(node.name);
      if (node.op !== 'affine' || !bn || !summed.has(node.name)) continue;
      const c = bn.mean.length;
      const put = (key: string, data: Float32Array) => {
        const name = this.unique(`${node.name}/${key}`);
        graph.constants[name] = { dtype: 'float32', shape: [c], data };
        return name;
      };
      node.multiplier = bn.gamma ? put('gamma', bn.gamma) : undefined;
      node.bias = bn.beta ? put('beta', bn.beta) : undefined;
      node.mean = put('moving_mean', bn.mean);
      node.divisor = put('divisor', bn.divisor);
      if (!node.multiplier) delete node.multiplier;
      if (!node.bias) delete node.bias;
      this.log.push(
        `BatchNorm '${node.name}' feeds an add or a sign: kept in tfjs-backend-wasm's BatchNorm form`,
      );
    }
    return graph;
  }

  private unique(base: string): string {
    const clean = base.replace(/[^\w./-]/g, '_');
    let name = clean;
    for (let i = 1; this.usedNames.has(name); i++) name = `${clean}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  private node(base: string, spec: NodeSpec): string {
    return this.g.node({ ...spec, name: this.unique(base) } as NodeSpec);
  }

  private constant(
    base: string,
    dtype: 'float32' | 'uint32',
    shape: number[],
    data: ArrayLike<number>,
  ): string {
    return this.g.constant(this.unique(base), dtype, shape, data);
  }

  /** The engine value of a symbolic tensor, converting its producers first (depth-first, so topological). */
  private visit(t: tfl.SymbolicTensor): Value {
    const done = this.values.get(t.id);
    if (done) return done;
    // Iterative post-order: deep residual networks would overflow a recursive walk only at absurd depth,
    // but a stack keeps the order explicit.
    const stack: Array<{ t: tfl.SymbolicTensor; expanded: boolean }> = [{ t, expanded: false }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (this.values.has(top.t.id)) {
        stack.pop();
        continue;
      }
      if (!top.expanded) {
        top.expanded = true;
        if (top.t.inputs.length === 0)
          throw unsupported(top.t.sourceLayer, 'a second graph input', 'models with exactly one input');
        for (const i of top.t.inputs) if (!this.values.has(i.id)) stack.push({ t: i, expanded: false });
        continue;
      }
      stack.pop();
      const inputs = top.t.inputs.map((i) => this.values.get(i.id)!);
      const value = this.layer(top.t.sourceLayer, inputs, top.t.shape.slice(1) as number[]);
      this.values.set(top.t.id, value);
    }
    return this.values.get(t.id)!;
  }

  /** A sign of `v` as packed bits (one binarize node per value). */
  private bits(v: Value): string {
    const hit = this.binarized.get(v.name);
    if (hit) return hit;
    const name = this.node(`${v.name}/sign`, { op: 'binarize', inputs: [v.name] });
    this.binarized.set(v.name, name);
    return name;
  }

  private layer(layer: tfl.layers.Layer, inputs: Value[], outShape: number[]): Value {
    const cls = layer.getClassName();
    const config = layer.getConfig() as Config;
    const out = (name: string, shape = outShape): Value => {
      this.log.push(`${describeLayer(layer)} -> ${name} [${shape.join(', ')}]`);
      return { name, shape };
    };
    if (kernelSlotsOf(layer).length > 0) return this.kernelLayer(layer, inputs[0], outShape);
    const quant = layer as unknown as QuantMembers & { precision?: number };
    if (typeof quant.precision === 'number')
      throw unsupported(
        layer,
        'a quantizer used as a layer',
        'quantizers as layer options (inputQuantizer, kernelQuantizer) of QuantDense/QuantConv2D',
      );
    const x = inputs[0];
    const channelsLast = () => {
      if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast')
        throw unsupported(layer, `dataFormat ${String(config.dataFormat)}`, 'channelsLast');
      if (x.shape.length !== 3)
        throw unsupported(layer, `input of shape [${x.shape.join(', ')}]`, 'inputs [H, W, C]');
    };
    switch (cls) {
      case 'Dropout':
      case 'SpatialDropout2D':
        return x;
      case 'BatchNormalization':
        return out(this.batchNorm(layer, config, x));
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        channelsLast();
        const kernelSize = pair(config.poolSize);
        const strides = config.strides == null ? kernelSize : pair(config.strides);
        const padding = config.padding as string;
        if (padding !== 'valid' && padding !== 'same')
          throw unsupported(layer, `padding ${padding}`, 'valid, same');
        const op = cls === 'MaxPooling2D' ? 'maxpool2d' : 'avgpool2d';
        return out(this.node(layer.name, { op, inputs: [x.name], kernelSize, strides, padding }));
      }
      case 'GlobalAveragePooling2D':
        channelsLast();
        if (config.keepDims === true) throw unsupported(layer, 'keepDims true', 'keepDims false');
        return out(this.node(layer.name, { op: 'globalavgpool', inputs: [x.name] }));
      case 'Flatten': {
        if (x.shape.length <= 1) return x;
        const v = out(this.node(layer.name, { op: 'flatten', inputs: [x.name] }));
        return { ...v, unflat: x.unflat ?? x };
      }
      case 'Add': {
        for (const i of inputs)
          if (i.shape.join() !== x.shape.join())
            throw unsupported(
              layer,
              `inputs of shapes ${inputs.map((v) => `[${v.shape.join(', ')}]`).join(' and ')}`,
              'Add of inputs of one shape (no broadcasting)',
            );
        if (inputs.length === 1) return x;
        return out(this.node(layer.name, { op: 'add', inputs: inputs.map((i) => i.name) }));
      }
      case 'Concatenate':
        return out(this.concatenate(layer, config, inputs));
      case 'Activation':
        return this.activation(layer, activationName(layer), x, outShape);
      case 'ReLU': {
        const maxValue = config.maxValue as number | null | undefined;
        if (maxValue != null) throw unsupported(layer, `maxValue ${maxValue}`, 'ReLU without maxValue');
        return out(this.node(layer.name, { op: 'relu', inputs: [x.name] }));
      }
      default:
        throw unsupported(layer, 'this layer class');
    }
  }

  private activation(layer: tfl.layers.Layer, name: string, x: Value, shape: number[]): Value {
    if (name === 'linear') return x;
    if (name === 'relu' || name === 'softmax') {
      const v = this.node(`${layer.name}/${name}`, { op: name, inputs: [x.name] });
      this.log.push(`${describeLayer(layer)} activation ${name} -> ${v}`);
      return { name: v, shape };
    }
    throw unsupported(
      layer,
      `activation ${name}`,
      'activations linear, relu, softmax (and relu6 on Dense/Conv2D layers)',
    );
  }

  private batchNorm(layer: tfl.layers.Layer, config: Config, x: Value): string {
    const rank = x.shape.length + 1;
    const axis = config.axis as number | number[];
    const ax = Array.isArray(axis) ? axis : [axis];
    if (ax.length !== 1 || !(ax[0] === -1 || ax[0] === rank - 1))
      throw unsupported(
        layer,
        `axis ${JSON.stringify(axis)}`,
        'BatchNormalization over the last (channel) axis',
      );
    const weights = layer.getWeights().map((w) => w.dataSync() as Float32Array);
    let i = 0;
    const gamma = config.scale === false ? undefined : weights[i++];
    const beta = config.center === false ? undefined : weights[i++];
    const { multiplier, bias } = foldBatchNorm({
      gamma,
      beta,
      movingMean: weights[i],
      movingVariance: weights[i + 1],
      epsilon: config.epsilon as number,
    });
    const c = multiplier.length;
    const name = this.node(layer.name, {
      op: 'affine',
      inputs: [x.name],
      multiplier: this.constant(`${layer.name}/multiplier`, 'float32', [c], multiplier),
      bias: this.constant(`${layer.name}/bias`, 'float32', [c], bias),
    });
    // tfjs-backend-wasm's normalization factor: f32(sqrt(f32(variance + f32(epsilon)))).
    const eps = Math.fround(config.epsilon as number);
    this.batchNorms.set(name, {
      gamma,
      beta,
      mean: weights[i],
      divisor: weights[i + 1].map((v) => Math.fround(Math.sqrt(Math.fround(v + eps)))),
    });
    return name;
  }

  /** Channel concatenation as a sum of exact 1x1 selector products (weights 0 and 1: x * 1 + 0 = x). */
  private concatenate(layer: tfl.layers.Layer, config: Config, inputs: Value[]): string {
    const rank = inputs[0].shape.length + 1;
    const axis = config.axis as number;
    if (!(axis === -1 || axis === rank - 1) || (rank !== 2 && rank !== 4))
      throw unsupported(
        layer,
        `axis ${axis} on rank ${rank}`,
        'Concatenate over the last axis of [N, C] or [N, H, W, C]',
      );
    const channels = inputs.map((v) => v.shape[v.shape.length - 1]);
    const total = channels.reduce((a, b) => a + b, 0);
    const parts: string[] = [];
    let offset = 0;
    inputs.forEach((v, k) => {
      const cin = channels[k];
      const w = new Float32Array(cin * total);
      for (let c = 0; c < cin; c++) w[c * total + offset + c] = 1;
      offset += cin;
      const base = `${layer.name}/part${k}`;
      if (rank === 4)
        parts.push(
          this.node(base, {
            op: 'conv2d',
            inputs: [v.name],
            kernelSize: [1, 1],
            strides: [1, 1],
            dilations: [1, 1],
            padding: 'valid',
            filters: total,
            padValue: 0,
            weights: this.constant(`${base}/select`, 'float32', [1, 1, cin, total], w),
            transform: { kind: 'float' },
          }),
        );
      else
        parts.push(
          this.node(base, {
            op: 'dense',
            inputs: [v.name],
            units: total,
            weights: this.constant(`${base}/select`, 'float32', [cin, total], w),
            transform: { kind: 'float' },
          }),
        );
    });
    return parts.length === 1 ? parts[0] : this.node(layer.name, { op: 'add', inputs: parts });
  }

  /** Dense and Conv2D, float or quantized. */
  private kernelLayer(layer: tfl.layers.Layer, x: Value, outShape: number[]): Value {
    const slots = kernelSlotsOf(layer);
    const self = layer as unknown as Record<string, tfl.LayerVariable | null> & QuantMembers;
    const config = layer.getConfig() as Config;
    if (slots.length !== 1 || slots[0].attribute !== 'kernel' || slots[0].reuse === 'inputPositions')
      throw unsupported(layer, `kernels ${slots.map((s) => s.attribute).join(', ')}`);
    const slot = slots[0];
    const variable = self[slot.attribute];
    if (!variable) throw unsupported(layer, 'an unbuilt layer (no kernel)');
    const latent = variable.read() as tf.Tensor;
    const kshape = latent.shape;
    const isConv = slot.reuse === 'outputPositions' && kshape.length === 4 && x.shape.length === 3;
    const isDense = slot.reuse === 'once' && kshape.length === 2 && x.shape.length === 1;
    if (!isConv && !isDense)
      throw unsupported(
        layer,
        `kernel of shape [${kshape.join(', ')}] on input [${x.shape.join(', ')}]`,
        `${SUPPORTED_LAYERS} (a dense layer needs a flat input: add Flatten)`,
      );
    const where = describeLayer(layer);
    const inKind = inputKind(self.inputQuantizer ?? null, `${where} inputQuantizer`);
    const q = self.kernelQuantizers?.[slot.quantizerOption] ?? null;
    const kernel = kernelForm(q, latent, `${where} ${slot.quantizerOption}`);
    if (inKind === 'sign' && kernel.kind === 'float')
      throw unsupported(
        layer,
        'a binarized input with a float kernel',
        'binary input with binary kernel, float input with float or binary kernel',
      );
    const outC = kshape[kshape.length - 1];
    const biasVar = self.bias as tfl.LayerVariable | null | undefined;
    const bias =
      config.useBias === false || !biasVar ? undefined : (biasVar.read().dataSync() as Float32Array);
    const transform: FloatTransform = { kind: 'float' };
    // relu6 = min(max(y, 0), 6) is a clamp of the op's own output: fused into the transform.
    const act = activationName(layer);
    if (act === 'relu6') transform.outClamp = [0, 6];
    if (kernel.kind === 'binary' && kernel.scale)
      transform.multiplier = this.constant(`${layer.name}/scale`, 'float32', [outC], kernel.scale);
    if (bias) transform.bias = this.constant(`${layer.name}/bias`, 'float32', [outC], bias);
    const weightName = `${layer.name}/kernel`;
    let name: string;
    if (isConv) {
      if (config.dataFormat !== 'channelsLast')
        throw unsupported(layer, `dataFormat ${String(config.dataFormat)}`, 'channelsLast');
      const padding = config.padding as string;
      if (padding !== 'valid' && padding !== 'same')
        throw unsupported(layer, `padding ${padding}`, 'valid, same');
      const [kh, kw, cin, cout] = kshape as [number, number, number, number];
      const pad = self.padValues ?? 0;
      const window = {
        kernelSize: [kh, kw] as [number, number],
        strides: pair(config.strides),
        dilations: pair(config.dilationRate),
        padding: padding as 'valid' | 'same',
        filters: cout,
      };
      const packed = () =>
        this.constant(
          weightName,
          'uint32',
          [cout, kh, kw, Math.ceil(cin / 32)],
          packConvKernel(kernel.values, [kh, kw, cin, cout]),
        );
      if (inKind === 'sign') {
        if (pad !== 0 && pad !== 1)
          throw unsupported(layer, `padValues ${pad} with a binarized input`, 'padValues 0 or 1');
        name = this.node(layer.name, {
          op: 'bconv2d',
          inputs: [this.bits(x)],
          ...window,
          padValue: pad,
          weights: packed(),
          transform,
        });
      } else {
        const weights =
          kernel.kind === 'binary'
            ? packed()
            : this.constant(weightName, 'float32', [kh, kw, cin, cout], kernel.values);
        name = this.node(layer.name, {
          op: 'conv2d',
          inputs: [x.name],
          ...window,
          padValue: pad,
          weights,
          transform,
        });
      }
    } else {
      const [k, units] = kshape as [number, number];
      if (inKind === 'sign') {
        const src = x.unflat ?? x;
        const inner = src.shape;
        const words = [units, ...inner.slice(0, -1), Math.ceil(inner[inner.length - 1] / 32)];
        name = this.node(layer.name, {
          op: 'bdense',
          inputs: [this.bits(src)],
          units,
          weights: this.constant(
            weightName,
            'uint32',
            words,
            packDenseKernel(kernel.values, [k, units], inner),
          ),
          transform,
        });
      } else {
        const weights =
          kernel.kind === 'binary'
            ? this.constant(
                weightName,
                'uint32',
                [units, Math.ceil(k / 32)],
                packDenseKernel(kernel.values, [k, units]),
              )
            : this.constant(weightName, 'float32', [k, units], kernel.values);
        name = this.node(layer.name, { op: 'dense', inputs: [x.name], units, weights, transform });
      }
    }
    this.log.push(
      `${where} -> ${name} [${outShape.join(', ')}]: ${inKind === 'sign' ? 'binary' : 'float'} input, ${kernel.kind} kernel` +
        `${kernel.kind === 'binary' && kernel.scale ? ' (per-channel scale)' : ''}`,
    );
    const value = { name, shape: outShape };
    return act === 'relu6' ? value : this.activation(layer, act, value, outShape);
  }
}

/**
 * Drops the nodes no output depends on (e.g. a Flatten whose binary dense reads the packed NHWC value)
 * and the constants no remaining node uses.
 */
export function pruneGraph(graph: Graph): Graph {
  const needed = new Set(graph.outputs);
  const nodes: GraphNode[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (!needed.has(n.name)) continue;
    nodes.unshift(n);
    for (const x of n.inputs) needed.add(x);
  }
  const used = new Set<string>();
  for (const n of nodes)
    for (const v of Object.values(n)) {
      if (typeof v === 'string') used.add(v);
      else if (v && typeof v === 'object' && !Array.isArray(v))
        for (const w of Object.values(v)) if (typeof w === 'string') used.add(w);
    }
  const constants = Object.fromEntries(Object.entries(graph.constants).filter(([k]) => used.has(k)));
  return { ...graph, nodes, constants };
}

/**
 * Converts a tfjs model with lowbit layers to the engine's `.lbm` format.
 *
 * Binary kernels (precision-1 quantizers whose values are +-s per output channel) are bitpacked,
 * 1 bit per weight (bit = 1 iff w < 0); float kernels stay float32. A layer with a sign input
 * quantizer becomes a binary op on packed bits; one with a float input and a binary kernel a float
 * op with packed +-1 weights. Per output channel, the op's result is dot * s[c] + bias[c] (s: the
 * magnitude-aware scale); a following BatchNormalization is folded into it, y = x * gamma / sqrt(var
 * + eps) + (beta - mean * gamma / sqrt(var + eps)), and where the next layer binarizes the result
 * the op writes packed bits through integer thresholds (see {@link optimizeGraph}).
 *
 * The engine's outputs equal the tfjs model's predict() (which computes with the quantized kernels):
 * binary parts exactly, float parts to float32 rounding.
 *
 * @example
 * ```ts
 * const { bytes, log } = convert(model);
 * const net = await engine.load(bytes);
 * const { data } = net.predict(images, [n, 28, 28, 1]);
 * ```
 * @throws UnsupportedError naming the layer, its class and what is supported.
 * @throws ConfigError when `model` is not a built LayersModel.
 */
export function convert(model: tfl.LayersModel, options: ConvertOptions = {}): ConvertResult {
  const m = model as Partial<tfl.LayersModel> | null | undefined;
  if (!m || !Array.isArray(m.inputs) || !Array.isArray(m.outputs) || !Array.isArray(m.layers))
    throw new ConfigError({
      where: 'engine.convert(model)',
      received: model,
      expected: 'a built tfjs LayersModel (tf.sequential with an input shape, tf.model, or lq.io.loadModel)',
    });
  const c = new Converter(model);
  let graph = c.run();
  const log = [...c.log];
  if (options.optimize !== false) {
    const o = optimizeGraph(graph);
    graph = o.graph;
    log.push(...o.log);
  }
  graph = pruneGraph(graph);
  if (options.uint8Input !== undefined) {
    const q = options.uint8Input as Partial<InputScaling> | null;
    if (
      typeof q !== 'object' ||
      q === null ||
      !(typeof q.scale === 'number' && Number.isFinite(q.scale) && q.scale > 0) ||
      !(typeof q.offset === 'number' && Number.isFinite(q.offset))
    )
      throw new ConfigError({
        where: 'engine.convert options.uint8Input',
        received: options.uint8Input,
        expected: '{ scale: a positive finite number, offset: a finite number } (x = q * scale + offset)',
      });
    graph.inputs = [{ ...graph.inputs[0], uint8: { scale: q.scale, offset: q.offset } }];
  }
  graph.metadata = {
    ...options.metadata,
    source: model.name,
    converter: 'lowbit engine.convert',
    converterVersion: CONVERTER_VERSION,
  };
  return { bytes: encodeModel(graph), graph, log };
}

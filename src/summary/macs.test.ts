/**
 * MACs of every layer kind with kernels, float and quantized, against hand computations on small
 * shapes; MAC precision rules; layers without kernels; unknown (custom) layers.
 * A float class in FLOAT_KERNEL_SLOTS or a registered quantized layer without a case fails the
 * completeness test.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLOAT_KERNEL_SLOTS, quantDense, registeredLayers } from '../layers/index.js';
import { setWarningHandler } from '../util/log.js';
import { type LayerProfile, profile, summary } from './index.js';
import './testing.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  setWarningHandler(() => {});
});

interface MacCase {
  name: string;
  /** Per-example input shape. */
  input: number[];
  args: Record<string, unknown>;
  /** Kernel weights (all kernels) and MACs per example, worked by hand in the comment. */
  params: number;
  macs: number;
}

const CASES: Record<string, MacCase[]> = {
  Dense: [
    // kernel 5 x 3 = 15, used once: 15 MACs; bias 3.
    { name: '3 units on 5 features', input: [5], args: { units: 3, useBias: false }, params: 15, macs: 15 },
    // The 5 x 3 kernel is applied at each of the 4 rows: 15 x 4 = 60 (Larq: output_pixels = shape[1]).
    {
      name: '3 units on a 4 x 5 input',
      input: [4, 5],
      args: { units: 3, useBias: false },
      params: 15,
      macs: 60,
    },
  ],
  Conv1D: [
    // out length 10 - 3 + 1 = 8; kernel 3 x 2 x 3 = 18: 18 x 8 = 144.
    {
      name: 'k3 valid',
      input: [10, 2],
      args: { filters: 3, kernelSize: 3, useBias: false },
      params: 18,
      macs: 144,
    },
    // 'same' stride 2 on 9: out ceil(9 / 2) = 5: 18 x 5 = 90.
    {
      name: 'k3 same stride 2',
      input: [9, 2],
      args: { filters: 3, kernelSize: 3, strides: 2, padding: 'same', useBias: false },
      params: 18,
      macs: 90,
    },
  ],
  Conv2D: [
    // out (5 - 3 + 1) x (6 - 2 + 1) = 3 x 5 = 15; kernel 3 x 2 x 2 x 4 = 48: 48 x 15 = 720.
    {
      name: 'k3x2 valid',
      input: [5, 6, 2],
      args: { filters: 4, kernelSize: [3, 2], useBias: false },
      params: 48,
      macs: 720,
    },
    // dilation 2: effective kernel 5, out 3 x 3; kernel 3 x 3 x 1 x 2 = 18: 18 x 9 = 162.
    {
      name: 'k3 dilation 2',
      input: [7, 7, 1],
      args: { filters: 2, kernelSize: 3, dilationRate: 2, useBias: false },
      params: 18,
      macs: 162,
    },
    // channelsFirst (C, H, W) = (2, 5, 6): the same 3 x 5 positions and 48 weights: 720.
    {
      name: 'channelsFirst',
      input: [2, 5, 6],
      args: { filters: 4, kernelSize: [3, 2], dataFormat: 'channelsFirst', useBias: false },
      params: 48,
      macs: 720,
    },
  ],
  Conv3D: [
    // out 3 x 3 x 3 = 27; kernel 2 x 2 x 2 x 1 x 2 = 16: 16 x 27 = 432.
    {
      name: 'k2 valid',
      input: [4, 4, 4, 1],
      args: { filters: 2, kernelSize: 2, useBias: false },
      params: 16,
      macs: 432,
    },
  ],
  Conv2DTranspose: [
    // Every input pixel meets every weight: 3 x 3 = 9 input positions x kernel 3 x 3 x 4 x 2 = 72: 648
    // (output 7 x 7 x 4; counting per output position would be wrong).
    {
      name: 'k3 stride 2',
      input: [3, 3, 2],
      args: { filters: 4, kernelSize: 3, strides: 2, useBias: false },
      params: 72,
      macs: 648,
    },
  ],
  Conv3DTranspose: [
    // 2 x 2 x 2 = 8 input positions x kernel 2 x 2 x 2 x 2 x 1 = 16: 128.
    {
      name: 'k2',
      input: [2, 2, 2, 1],
      args: { filters: 2, kernelSize: 2, useBias: false },
      params: 16,
      macs: 128,
    },
  ],
  DepthwiseConv2D: [
    // out 3 x 3 = 9; kernel 3 x 3 x 3 x 2 = 54: 486.
    {
      name: 'k3 depth multiplier 2',
      input: [5, 5, 3],
      args: { kernelSize: 3, depthMultiplier: 2, useBias: false },
      params: 54,
      macs: 486,
    },
  ],
  SeparableConv2D: [
    // out 3 x 3 = 9; depthwise 3 x 3 x 3 x 2 = 54 -> 486; pointwise 1 x 1 x 6 x 4 = 24 -> 216: 702.
    {
      name: 'k3 depth multiplier 2',
      input: [5, 5, 3],
      args: { filters: 4, kernelSize: 3, depthMultiplier: 2, useBias: false },
      params: 78,
      macs: 702,
    },
  ],
  SeparableConv1D: [
    // out 7 - 3 + 1 = 5; depthwise 3 x 3 x 1 = 9 -> 45; pointwise 1 x 3 x 4 = 12 -> 60: 105.
    { name: 'k3', input: [7, 3], args: { filters: 4, kernelSize: 3, useBias: false }, params: 21, macs: 105 },
  ],
  LocallyConnected1D: [
    // out 6 - 3 + 1 = 4 positions, each its own 3 x 2 x 3 weights: kernel 4 x 6 x 3 = 72, each used once: 72.
    { name: 'k3', input: [6, 2], args: { filters: 3, kernelSize: 3, useBias: false }, params: 72, macs: 72 },
  ],
  LocallyConnected2D: [
    // stride 2 on 4 x 4: 2 x 2 positions, each 2 x 2 x 1 x 2 weights: kernel 4 x 4 x 2 = 32, used once: 32.
    {
      name: 'k2 stride 2',
      input: [4, 4, 1],
      args: { filters: 2, kernelSize: 2, strides: 2, useBias: false },
      params: 32,
      macs: 32,
    },
  ],
};

type LayerCtor = new (args: Record<string, unknown>) => tfl.layers.Layer;

function floatClass(className: string): LayerCtor {
  return tf.serialization.SerializationMap.getMap().classNameMap[className][0] as unknown as LayerCtor;
}

function profileOne(layer: tfl.layers.Layer, input: number[]): LayerProfile {
  const x = tfl.input({ shape: input });
  const model = tfl.model({ inputs: x, outputs: layer.apply(x) as tfl.SymbolicTensor });
  return profile(model).layers[1];
}

const precisions = (p: LayerProfile) => Object.fromEntries(p.macsByPrecision.map((m) => [m.bits, m.count]));

describe('completeness', () => {
  it('every float kernel layer and every registered quantized layer has a MAC case', () => {
    const quantized = registeredLayers().map((cls) => cls.className.replace(/^Quant/, ''));
    const missing = [...Object.keys(FLOAT_KERNEL_SLOTS), ...quantized].filter((name) => !CASES[name]);
    expect(missing).toEqual([]);
  });
});

describe.each(Object.entries(CASES))('%s', (className, cases) => {
  it.each(cases)('float: $name', ({ input, args, params, macs }) => {
    const p = profileOne(new (floatClass(className))(args), input);
    expect(p.params).toBe(params);
    expect(precisions(p)).toEqual({ 32: macs });
    expect(p.notes).toEqual([]);
  });

  const quantizedClass = registeredLayers().find((cls) => cls.className === `Quant${className}`);
  it.each(cases)('quantized, binary input and kernels: $name', ({ input, args, params, macs }) => {
    if (!quantizedClass) throw new Error(`no Quant${className}`);
    const quantizers: Record<string, unknown> = { inputQuantizer: 'ste_sign' };
    for (const slot of FLOAT_KERNEL_SLOTS[className]) {
      quantizers[slot.quantizerOption] = 'ste_sign';
      quantizers[slot.constraintOption] = 'weight_clip';
    }
    const p = profileOne(new quantizedClass({ ...args, ...quantizers }), input);
    expect(p.inputPrecision).toBe(1);
    expect(p.paramsByBits).toEqual([{ bits: 1, count: params }]);
    // Both sides 1-bit: every MAC is binary.
    expect(precisions(p)).toEqual({ 1: macs });
    expect(p.ops.binaryOps).toBe(2 * macs);
    expect(p.ops.flops).toBe(0);
  });
});

describe('MAC precision = max(input precision or 32, kernel bits)', () => {
  const dense = (args: Record<string, unknown>) =>
    profileOne(quantDense({ units: 3, useBias: false, ...args }), [5]);
  it.each([
    ['no input quantizer, binary kernel', 32, { kernelQuantizer: 'ste_sign' }],
    ['binary input, float kernel', 32, { inputQuantizer: 'ste_sign' }],
    ['binary input, ternary kernel', 2, { inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' }],
    ['ternary input, binary kernel', 2, { inputQuantizer: 'ste_tern', kernelQuantizer: 'ste_sign' }],
    [
      '4-bit DoReFa input, binary kernel',
      4,
      { inputQuantizer: { className: 'DoReFa', config: { kBit: 4 } }, kernelQuantizer: 'ste_sign' },
    ],
  ])('%s -> %i-bit', (_, bits, args) => {
    // 5 x 3 = 15 MACs per example.
    expect(precisions(dense(args))).toEqual({ [bits]: 15 });
  });
});

describe('shared layers', () => {
  it('a layer called twice in a functional model counts the MACs of both calls', () => {
    const shared = tfl.layers.dense({ units: 3, useBias: false, name: 'shared' });
    const a = tfl.input({ shape: [4] });
    const b = tfl.input({ shape: [4] });
    const sum = tfl.layers.add().apply([shared.apply(a), shared.apply(b)] as tfl.SymbolicTensor[]);
    const p = profile(tfl.model({ inputs: [a, b], outputs: sum as tfl.SymbolicTensor }));
    const row = p.layers.find((l) => l.name === 'shared');
    // 4 x 3 = 12 weights, counted once as parameters, used in 2 calls: 24 MACs.
    expect(row).toMatchObject({ calls: 2, params: 12, macs: 24 });
  });

  it('a convolution shared between inputs of different sizes counts each call at its own size', () => {
    const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, useBias: false, name: 'conv' });
    const small = tfl.input({ shape: [4, 4, 1] });
    const large = tfl.input({ shape: [6, 6, 1] });
    const pooled = [conv.apply(small), conv.apply(large)].map((t) =>
      tfl.layers.globalAveragePooling2d({}).apply(t as tfl.SymbolicTensor),
    );
    const out = tfl.layers.concatenate().apply(pooled as tfl.SymbolicTensor[]);
    const p = profile(tfl.model({ inputs: [small, large], outputs: out as tfl.SymbolicTensor }));
    const row = p.layers.find((l) => l.name === 'conv');
    // kernel 3 x 3 x 1 x 2 = 18; outputs 2 x 2 = 4 and 4 x 4 = 16 positions: 18 x 20 = 360.
    expect(row).toMatchObject({ calls: 2, params: 18, macs: 360, outputShapeText: 'multiple' });
  });

  it('layers reused in another model are counted once per call in this one', () => {
    const dense = tfl.layers.dense({ units: 2, inputShape: [3], name: 'reused' });
    tfl.sequential({ layers: [dense] });
    const again = tfl.input({ shape: [3] });
    const model = tfl.model({ inputs: again, outputs: dense.apply(again) as tfl.SymbolicTensor });
    expect(dense.inboundNodes.length).toBe(2);
    expect(profile(model).layers[1]).toMatchObject({ calls: 1, macs: 6 });
  });
});

/** A layer tfjs and lowbit know nothing about, with one weight. */
class MysteryScale extends tfl.layers.Layer {
  static readonly className = 'MysteryScale';
  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = inputShape as number[];
    this.addWeight('scale', [shape[shape.length - 1]], 'float32', tfl.initializers.ones());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return Array.isArray(inputs) ? inputs[0] : inputs;
  }
}

describe('layers without MAC rules', () => {
  it('layers without weights count 0 MACs, not "?"', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.maxPooling2d({ poolSize: 2, inputShape: [4, 4, 2] }),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.activation({ activation: 'relu' }),
      ],
    });
    const p = profile(model);
    expect(p.layers.map((l) => l.macs)).toEqual([0, 0, 0]);
    expect(p.notes).toEqual([]);
  });

  it('an unknown custom layer is listed with its params at 32 bits, 0 MACs and a note; no crash', () => {
    const model = tfl.sequential({
      name: 'with_custom',
      layers: [new MysteryScale({ name: 'mystery', inputShape: [6] }), tfl.layers.dense({ units: 2 })],
    });
    const p = profile(model);
    // 6 scale values at 32 bits; the dense layer still counts 6 x 2 = 12 MACs.
    expect(p.layers[0]).toMatchObject({ name: 'mystery', params: 6, memoryBits: 6 * 32, macs: 0 });
    expect(p.macs).toBe(12);
    expect(p.notes).toEqual([
      'mystery: unknown layer type MysteryScale; its 6 params are counted at their tagged precision (32 bits unless quantized) and its MACs as 0',
    ]);
    const out: string[] = [];
    summary(model, { printFn: (s) => out.push(s) });
    expect(out[0]).toMatch(/\| mystery\s+-\s+\(-1, 6\)\s+6\s+0\.02\s+0 \|/);
    expect(out[2]).toBe(`Note: ${p.notes[0]}`);
  });

  it('a known layer with weights but no MAC rule (PReLU) gets a note; batch norm does not', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.prelu({ inputShape: [3], name: 'prelu' }),
        tfl.layers.batchNormalization({ name: 'bn' }),
      ],
    });
    const p = profile(model);
    expect(p.notes).toEqual(['prelu: no MAC rule for PReLU; its MACs are counted as 0']);
    // Batch norm: gamma and beta fold into the moving statistics: 3 + 3 counted, non-trainable.
    expect(p.layers[1]).toMatchObject({ params: 6, trainableParams: 0, macs: 0 });
  });
});

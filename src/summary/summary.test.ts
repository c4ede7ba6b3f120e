/**
 * Larq parity: the worked numbers of larq-semantics.md and benchmarks.md, and the text of Larq's
 * snapshot tests (larq/snapshots/snap_models_test.py) for the same models built from lowbit layers.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { quantConv1d, quantConv2d, quantSeparableConv1d } from '../layers/index.js';
import { setWarningHandler } from '../util/log.js';
import { profile, summary } from './index.js';
import { larqIntroCnn, larqProfileLayers } from './testing.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  setWarningHandler(() => {});
});

/** Runs summary() and returns what it printed, one string per print call. */
function printed(model: tfl.LayersModel, options: Parameters<typeof summary>[1] = {}): string[] {
  const out: string[] = [];
  summary(model, { ...options, printFn: (s) => out.push(s) });
  return out;
}

const bits = (list: { bits: number; count: number }[]) =>
  Object.fromEntries(list.map((c) => [c.bits, c.count]));

describe("Larq's worked example: QuantConv2D(32, 3x3, 'same', ste_sign kernel) on 32x32x3", () => {
  // Larq's get_functional_model() without its tf.split / tf.concat pair, which tfjs layers cannot express.
  const build = () => {
    const input = tfl.input({ shape: [32, 32, 3], name: 'input_1' });
    const conv = quantConv2d({
      name: 'quant_conv2d',
      filters: 32,
      kernelSize: [3, 3],
      kernelQuantizer: 'ste_sign',
      kernelConstraint: 'weight_clip',
      padding: 'same',
    });
    return tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor, name: 'toy_model' });
  };

  it('has the reference figures', () => {
    const p = profile(build());
    const conv = p.layers[1];
    // kernel 3 x 3 x 3 x 32 = 864 at 1 bit, bias 32 at 32 bits.
    expect(bits(p.paramsByBits)).toEqual({ 1: 864, 32: 32 });
    expect(p.memoryBits).toBe(864 + 32 * 32); // 1888 bits = 236 B
    expect(p.int8FpWeightsMemoryBits).toBe(864 + 8 * 32); // 1120 bits = 140 B
    expect(p.float32EquivalentBits).toBe(32 * 896); // 3.5 KiB
    // 864 weights x 32 x 32 output positions, at max(32 (no input quantizer), 1) = 32 bits.
    expect(bits(p.macsByPrecision)).toEqual({ 32: 884736 });
    expect(conv.inputPrecision).toBeNull();
    expect(p.binarizedRatio).toBe(0);
  });

  it("prints Larq's functional-model summary table (the snapshot is lower-cased)", () => {
    const [stats, table] = printed(build());
    expect(table.toLowerCase()).toBe(
      [
        '+toy_model summary------------------------+',
        '| total params                   896      |',
        '| trainable params               896      |',
        '| non-trainable params           0        |',
        '| model size                     236.00 b |',
        '| model size (8-bit fp weights)  140.00 b |',
        '| float-32 equivalent            3.50 kib |',
        '| compression ratio of memory    0.07     |',
        '| number of macs                 885 k    |',
        '+-----------------------------------------+',
      ].join('\n'),
    );
    // The stats rows Larq prints for input_1 and quant_conv2d; the input layer's MACs are 0, not '?'.
    const rows = stats.split('\n').map((line) =>
      line
        .slice(1, -1)
        .trim()
        .split(/\s{2,}/),
    );
    expect(rows.find((r) => r[0] === 'input_1')).toEqual([
      'input_1',
      '-',
      '(-1, 32, 32, 3)',
      '0',
      '0',
      '0',
      '0',
    ]);
    expect(rows.find((r) => r[0] === 'quant_conv2d')).toEqual([
      'quant_conv2d',
      '-',
      '(-1, 32, 32, 32)',
      '864',
      '32',
      '0.23',
      '884736',
    ]);
  });
});

describe('larq-intro-cnn (benchmarks.md)', () => {
  it('has 93,088 1-bit and 468 32-bit params, 13.19 KiB, 2,599,552 1-bit and 194,688 32-bit MACs', () => {
    const p = profile(larqIntroCnn());
    expect(bits(p.paramsByBits)).toEqual({ 1: 93088, 32: 468 });
    // 468 = 2 x (32 + 64 + 64 + 64 + 10): the batch norms' moving means and variances only.
    expect(p.nonTrainableParams).toBe(468);
    expect(p.trainableParams).toBe(93088);
    expect(bits(p.macsByPrecision)).toEqual({ 1: 2599552, 32: 194688 });
    expect(p.memoryBits).toBe(93088 + 32 * 468);
    expect(p.float32EquivalentBits).toBe(32 * (93088 + 468));
    const [, table] = printed(larqIntroCnn());
    expect(table).toContain('| Model size                        13.19 KiB  |');
    expect(table).toContain('| Float-32 Equivalent               365.45 KiB |');
    expect(table).toContain('| Ratio of MACs that are binarized  0.9303     |');
    expect(table).not.toContain('ternarized');
  });

  it('counts the float twin all at 32 bits, with the same MAC total', () => {
    const p = profile(larqIntroCnn(false));
    expect(bits(p.paramsByBits)).toEqual({ 32: 93088 + 468 });
    expect(bits(p.macsByPrecision)).toEqual({ 32: 2599552 + 194688 });
    expect(p.compressionRatio).toBe(1);
  });
});

// Larq's snapshot 'test_summary 1' (get_profile_model()), verbatim.
const LARQ_SUMMARY_1 = `+sequential stats----------------------------------------------------------------------------------------------------------------+
| Layer                   Input prec.           Outputs  # 1-bit  # 2-bit  # 32-bit  Memory  1-bit MACs  2-bit MACs  32-bit MACs |
|                               (bit)                        x 1      x 1       x 1    (kB)                                      |
+--------------------------------------------------------------------------------------------------------------------------------+
| quant_conv2d                      -  (-1, 64, 64, 32)      288        0        32    0.16           0           0      1179648 |
| max_pooling2d                     -  (-1, 32, 32, 32)        0        0         0       0           0           0            0 |
| quant_depthwise_conv2d            2  (-1, 11, 11, 32)        0      288         0    0.07           0       34848            0 |
| batch_normalization               -  (-1, 11, 11, 32)        0        0        64    0.25           0           0            0 |
| quant_separable_conv2d            1  (-1, 11, 11, 32)     1312        0        32    0.29      158752           0            0 |
| flatten                           -        (-1, 3872)        0        0         0       0           0           0            0 |
| dense                             -          (-1, 10)        0        0     38730  151.29           0           0        38720 |
+--------------------------------------------------------------------------------------------------------------------------------+
| Total                                                     1600      288     38858  152.05      158752       34848      1218368 |
+--------------------------------------------------------------------------------------------------------------------------------+
+sequential summary-----------------------------+
| Total params                       40.7 k     |
| Trainable params                   1.95 k     |
| Non-trainable params               38.8 k     |
| Model size                         152.05 KiB |
| Model size (8-bit FP weights)      38.21 KiB  |
| Float-32 Equivalent                159.16 KiB |
| Compression Ratio of Memory        0.96       |
| Number of MACs                     1.41 M     |
| Ratio of MACs that are binarized   0.1124     |
| Ratio of MACs that are ternarized  0.0247     |
+-----------------------------------------------+`;

// Larq's snapshot 'test_submodel_summary 1': layers 2..4 of the same model in a nested Sequential.
const LARQ_SUBMODEL_1 = `+sequential_6 stats-------------------------------------------------------------------------------------------------------+
| Layer            Input prec.           Outputs  # 1-bit  # 2-bit  # 32-bit  Memory  1-bit MACs  2-bit MACs  32-bit MACs |
|                        (bit)                        x 1      x 1       x 1    (kB)                                      |
+-------------------------------------------------------------------------------------------------------------------------+
| quant_conv2d_2             -  (-1, 64, 64, 32)      288        0        32    0.16           0           0      1179648 |
| max_pooling2d_2            -  (-1, 32, 32, 32)        0        0         0       0           0           0            0 |
| sequential_5               2  (-1, 11, 11, 32)     1312      288        96    0.61      158752       34848            0 |
| flatten_2                  -        (-1, 3872)        0        0         0       0           0           0            0 |
| dense_2                    -          (-1, 10)        0        0     38730  151.29           0           0        38720 |
+-------------------------------------------------------------------------------------------------------------------------+
| Total                                              1600      288     38858  152.05      158752       34848      1218368 |
+-------------------------------------------------------------------------------------------------------------------------+
+sequential_6 summary---------------------------+
| Total params                       40.7 k     |
| Trainable params                   1.95 k     |
| Non-trainable params               38.8 k     |
| Model size                         152.05 KiB |
| Model size (8-bit FP weights)      38.21 KiB  |
| Float-32 Equivalent                159.16 KiB |
| Compression Ratio of Memory        0.96       |
| Number of MACs                     1.41 M     |
| Ratio of MACs that are binarized   0.1124     |
| Ratio of MACs that are ternarized  0.0247     |
+-----------------------------------------------+`;

function nestedProfileModel(): tfl.Sequential {
  const layers = larqProfileLayers('_2');
  // Keras infers a nested Sequential's input; tfjs needs the first nested layer's input shape.
  (layers[2] as unknown as { batchInputShape: (number | null)[] }).batchInputShape = [null, 32, 32, 32];
  const sub = tfl.sequential({ name: 'sequential_5', layers: layers.slice(2, 5) });
  return tfl.sequential({ name: 'sequential_6', layers: [layers[0], layers[1], sub, layers[5], layers[6]] });
}

describe("Larq's snapshot tests", () => {
  it("test_summary 1: the profile model's two tables, character for character", () => {
    const model = tfl.sequential({ name: 'sequential', layers: larqProfileLayers() });
    expect(printed(model).join('\n')).toBe(LARQ_SUMMARY_1);
  });

  it('test_submodel_summary 1: a nested model is one row holding the sums of its layers', () => {
    expect(printed(nestedProfileModel()).join('\n')).toBe(LARQ_SUBMODEL_1);
  });

  it('test_summary 2: a model without weights (Larq uses a Lambda; tfjs has none, so a linear Activation)', () => {
    const model = tfl.sequential({
      name: 'sequential_1',
      layers: [tfl.layers.activation({ name: 'lambda', activation: 'linear', inputShape: [2] })],
    });
    // Larq's output shape is (2,) because its Lambda drops the batch; here the batch stays: (-1, 2).
    expect(printed(model).join('\n')).toBe(
      [
        '+sequential_1 stats--------------------+',
        '| Layer   Input prec.  Outputs  Memory |',
        '|               (bit)             (kB) |',
        '+--------------------------------------+',
        '| lambda            -  (-1, 2)       0 |',
        '+--------------------------------------+',
        '| Total                              0 |',
        '+--------------------------------------+',
        '+sequential_1 summary-------------------+',
        '| Total params                   0      |',
        '| Trainable params               0      |',
        '| Non-trainable params           0      |',
        '| Model size                     0.00 B |',
        '| Model size (8-bit FP weights)  0.00 B |',
        '| Float-32 Equivalent            0.00 B |',
        '| Compression Ratio of Memory    0.00   |',
        '| Number of MACs                 0      |',
        '+---------------------------------------+',
      ].join('\n'),
    );
  });

  it("test_subclass_model_summary: ToyModel's sizes (built as a Sequential, so its MACs are known)", () => {
    const model = tfl.sequential({
      name: 'toy_model',
      layers: [
        quantConv2d({
          filters: 32,
          kernelSize: [3, 3],
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
          inputShape: [32, 32, 3],
          padding: 'same',
        }),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const [, table] = printed(model);
    const lines = table.split('\n');
    // Larq's snapshot rows; its Number of MACs is 0 because a subclassed Keras model has no output shapes.
    expect(lines.slice(0, 8)).toEqual([
      '+toy_model summary------------------------+',
      '| Total params                   1.23 k   |',
      '| Trainable params               1.23 k   |',
      '| Non-trainable params           0        |',
      '| Model size                     1.52 KiB |',
      '| Model size (8-bit FP weights)  470.00 B |',
      '| Float-32 Equivalent            4.79 KiB |',
      '| Compression Ratio of Memory    0.32     |',
    ]);
    // Here: 864 x 32 x 32 (conv, 32-bit MACs) + 32 x 10 (dense) = 884,736 + 320 = 885,056.
    expect(profile(model).macs).toBe(885056);
  });
});

describe("Larq's test_layer_profile, ported", () => {
  it('gives every layer the counts written out in larq/models_test.py', () => {
    const p = profile(tfl.sequential({ layers: larqProfileLayers() }));
    const kernelCount = [
      32 * 3 * 3 * 1,
      0,
      32 * 3 * 3,
      0,
      32 * 3 * 3 * 1 + 32 * 1 * 1 * 32,
      0,
      32 * 11 * 11 * 10,
    ];
    const biasCount = [32, 0, 0, 64, 32, 0, 10];
    const memory = [
      1 * (32 * 3 * 3 * 1) + 32 * 32,
      0,
      2 * (32 * 3 * 3),
      32 * (2 * 32),
      1 * (32 * 3 * 3 * 1 + 32 * 1 * 1 * 32) + 32 * 32,
      0,
      32 * (32 * 11 * 11 * 10 + 10),
    ];
    const int8Memory = [
      1 * (32 * 3 * 3 * 1) + 8 * 32,
      0,
      2 * (32 * 3 * 3),
      8 * (32 * 2),
      1 * (32 * 3 * 3 * 1 + 32 * 1 * 1 * 32) + 8 * 32,
      0,
      8 * (32 * 11 * 11 * 10 + 10),
    ];
    const inputPrecision = [null, null, 2, null, 1, null, null];
    const outputShape = [
      [null, 64, 64, 32],
      [null, 32, 32, 32],
      [null, 11, 11, 32],
      [null, 11, 11, 32],
      [null, 11, 11, 32],
      [null, 11 * 11 * 32],
      [null, 10],
    ];
    const pixels = outputShape.map((s) => (s.slice(1, -1) as number[]).reduce((a, b) => a * b, 1));
    const uniqueBits = [[1, 32], [], [2], [32], [1, 32], [], [32]];
    const uniqueMacPrecisions = [[32], [], [2], [], [1], [], [32]];
    p.layers.forEach((l, i) => {
      expect(l.inputPrecision).toBe(inputPrecision[i]);
      expect(l.outputShape).toEqual(outputShape[i]);
      expect(l.params).toBe(kernelCount[i] + biasCount[i]);
      expect(l.paramsByBits.map((c) => c.bits)).toEqual(uniqueBits[i]);
      expect(l.macsByPrecision.map((c) => c.bits)).toEqual(uniqueMacPrecisions[i]);
      expect(l.memoryBits).toBe(memory[i]);
      expect(l.float32EquivalentBits).toBe(32 * (kernelCount[i] + biasCount[i]));
      expect(l.int8FpWeightsMemoryBits).toBe(int8Memory[i]);
      expect(l.macs).toBe(kernelCount[i] * pixels[i]);
      const binary = uniqueBits[i].includes(1) && inputPrecision[i] === 1 ? kernelCount[i] * pixels[i] : 0;
      expect(bits(l.macsByPrecision)[1] ?? 0).toBe(binary);
    });
  });

  it('test_layer_profile_1d: Conv1D, MaxPooling1D, SeparableConv1D, Flatten, Dense', () => {
    const model = tfl.sequential({
      layers: [
        quantConv1d({
          filters: 32,
          kernelSize: 3,
          inputShape: [64, 6],
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
          padding: 'same',
        }),
        tfl.layers.maxPooling1d({ poolSize: 2 }),
        quantSeparableConv1d({
          filters: 16,
          kernelSize: 3,
          inputQuantizer: 'ste_sign',
          depthwiseQuantizer: 'ste_sign',
          pointwiseQuantizer: 'ste_sign',
          depthwiseConstraint: 'weight_clip',
          pointwiseConstraint: 'weight_clip',
          padding: 'same',
        }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 10, trainable: false }),
      ],
    });
    const p = profile(model);
    const kernelCount = [32 * 3 * 6, 0, 32 * 3 + 16 * 32, 0, 16 * 32 * 10];
    const biasCount = [32, 0, 16, 0, 10];
    const memory = [
      1 * (32 * 3 * 6) + 32 * 32,
      0,
      1 * (32 * 3 + 16 * 32) + 32 * 16,
      0,
      32 * (32 * 16 * 10 + 10),
    ];
    const pixels = [64, 32, 32, 1, 1];
    const macPrecisions = [[32], [], [1], [], [32]];
    p.layers.forEach((l, i) => {
      expect(l.params).toBe(kernelCount[i] + biasCount[i]);
      expect(l.memoryBits).toBe(memory[i]);
      expect(l.macs).toBe(kernelCount[i] * pixels[i]);
      expect(l.macsByPrecision.map((c) => c.bits)).toEqual(macPrecisions[i]);
    });
    expect(p.nonTrainableParams).toBe(16 * 32 * 10 + 10);
  });
});

describe('nested models', () => {
  it('a nested row equals the sums of the layers it replaces (test_submodel_summary)', () => {
    const flat = profile(tfl.sequential({ layers: larqProfileLayers() }));
    const nested = profile(nestedProfileModel());
    const row = nested.layers[2];
    const parts = flat.layers.slice(2, 5);
    expect(row.layers?.map((l) => l.className)).toEqual(parts.map((l) => l.className));
    expect(row.inputPrecision).toBe(parts[0].inputPrecision);
    expect(row.outputShape).toEqual(parts[2].outputShape);
    for (const key of [
      'params',
      'memoryBits',
      'int8FpWeightsMemoryBits',
      'float32EquivalentBits',
      'macs',
    ] as const) {
      expect(row[key]).toBe(parts.reduce((s, l) => s + l[key], 0));
    }
    expect(nested.macsByPrecision).toEqual(flat.macsByPrecision);
    expect(nested.paramsByBits).toEqual(flat.paramsByBits);
  });

  it('recurses through two levels', () => {
    const inner = tfl.sequential({
      name: 'inner',
      layers: [
        quantConv2d({
          filters: 2,
          kernelSize: 1,
          inputShape: [4, 4, 3],
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
          inputQuantizer: 'ste_sign',
        }),
      ],
    });
    const middle = tfl.sequential({ name: 'middle', layers: [inner, tfl.layers.flatten()] });
    const outer = tfl.sequential({ name: 'outer', layers: [middle, tfl.layers.dense({ units: 3 })] });
    const p = profile(outer);
    // inner conv: 1 x 1 x 3 x 2 = 6 kernel weights x 16 positions = 96 1-bit MACs; dense 32 x 3 = 96 32-bit MACs.
    expect(bits(p.macsByPrecision)).toEqual({ 1: 96, 32: 96 });
    expect(p.layers[0].layers?.[0].layers?.[0].macs).toBe(96);
    expect(p.layers[0].inputPrecision).toBe(1);
  });
});

describe('a nested model called twice', () => {
  it('counts its MACs once per call, its parameters once', () => {
    const x = tfl.input({ shape: [4] });
    const inner = tfl.model({
      name: 'inner',
      inputs: x,
      outputs: tfl.layers.dense({ units: 3, useBias: false }).apply(x) as tfl.SymbolicTensor,
    });
    const a = tfl.input({ shape: [4] });
    const b = tfl.input({ shape: [4] });
    const sum = tfl.layers.add().apply([inner.apply(a), inner.apply(b)] as tfl.SymbolicTensor[]);
    const p = profile(tfl.model({ inputs: [a, b], outputs: sum as tfl.SymbolicTensor }));
    const row = p.layers.find((l) => l.name === 'inner');
    // 4 x 3 = 12 weights; 12 MACs per call, 2 calls.
    expect(row).toMatchObject({ calls: 2, params: 12, macs: 24 });
    expect(p.macs).toBe(24);
    expect(p.notes).toEqual([]);
  });
});

describe('bad input', () => {
  it('an unbuilt model gets a ConfigError saying how to build it', () => {
    expect(() => summary(tfl.sequential({ name: 'empty' }), { printFn: () => {} })).toThrow(ConfigError);
    expect(() => profile(tfl.sequential({ name: 'empty' }))).toThrow(/model 'empty'.*no layers.*inputShape/);
    const unbuilt = tfl.sequential({ name: 'half' });
    // A model whose layer was never built (as after layers are constructed but not applied).
    (unbuilt as unknown as { layers: tfl.layers.Layer[] }).layers.push(
      tfl.layers.dense({ units: 2, name: 'd' }),
    );
    expect(() => profile(unbuilt)).toThrow(/layer 'd' \(Dense\) is not built/);
  });

  it('something that is not a model gets a ConfigError', () => {
    expect(() => profile({} as tfl.LayersModel)).toThrow(ConfigError);
    expect(() => profile(tfl.layers.dense({ units: 1 }) as unknown as tfl.LayersModel)).toThrow(
      /profile\(\): received an instance of Dense; expected a tfjs LayersModel/,
    );
  });

  it('an unknown metric or latency without a benchmark gets a ConfigError', () => {
    const model = larqIntroCnn();
    expect(() => summary(model, { metrics: ['watts' as 'flops'], printFn: () => {} })).toThrow(
      /received "watts"; expected one of flops, energy, latency/,
    );
    expect(() => summary(model, { metrics: ['latency'], printFn: () => {} })).toThrow(/benchmark/);
  });
});

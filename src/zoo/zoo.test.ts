/** The zoo: exact topologies, parameter counts per precision, float twins, seeds, save/load, errors. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeightClip } from '../constraints/index.js';
import { ConfigError } from '../errors.js';
import { loadModel, saveModel } from '../io/index.js';
import type { QuantizedLayerMembers } from '../layers/index.js';
import { DoReFa, type FunctionQuantizer, Quantizer, SteSign } from '../quantizers/index.js';
import { Random } from '../util/random.js';
import { get, list, names } from './index.js';

let dir = '';
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'lowbit-zoo-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Layer = tfl.layers.Layer & Partial<QuantizedLayerMembers> & Record<string, unknown>;

/** Parameters by bits (1 for a kernel whose quantizer has precision 1, else 32) and trainability. */
function countParams(model: tfl.LayersModel): {
  oneBit: number;
  trainable32: number;
  nonTrainable32: number;
} {
  const out = { oneBit: 0, trainable32: 0, nonTrainable32: 0 };
  for (const layer of model.layers as Layer[]) {
    const binary = new Set<unknown>();
    for (const slot of layer.kernelSlots ?? []) {
      if (layer.kernelQuantizers?.[slot.quantizerOption]?.precision === 1) binary.add(layer[slot.attribute]);
    }
    for (const w of layer.weights) {
      const n = w.shape.reduce<number>((a, b) => a * (b as number), 1);
      if (binary.has(w)) out.oneBit += n;
      else if (w.trainable) out.trainable32 += n;
      else out.nonTrainable32 += n;
    }
  }
  return out;
}

const quantizedLayers = (model: tfl.LayersModel) =>
  (model.layers as Layer[]).filter((l) => l.kernelSlots !== undefined);
const constraintOf = (l: Layer) => l.kernelConstraint as { getClassName(): string } | null | undefined;

describe('parameter counts per precision (hand-computed)', () => {
  it('larq-intro-cnn: 93,088 1-bit, 234 BN offsets, 468 BN moving statistics', () => {
    // Kernels: 3*3*1*32 = 288 (float input, binary kernel) + 3*3*32*64 = 18,432 + 3*3*64*64 = 36,864
    // + dense (3*3*64 = 576 inputs after 28->26->13->11->5->3) 576*64 = 36,864 + 64*10 = 640 = 93,088.
    // BN (scale=false): beta per channel (32 + 64 + 64 + 64 + 10 = 234), moving mean + variance 2 * 234 = 468.
    expect(countParams(get('larq-intro-cnn'))).toEqual({
      oneBit: 93088,
      trainable32: 234,
      nonTrainable32: 468,
    });
    expect(countParams(get('larq-intro-cnn', { float: true }))).toEqual({
      oneBit: 0,
      trainable32: 93088 + 234,
      nonTrainable32: 468,
    });
  });

  it('binary-mlp: 1,861,632 1-bit', () => {
    // 784*1024 = 802,816 + 1024*1024 = 1,048,576 + 1024*10 = 10,240; BN betas 1024 + 1024 + 10 = 2,058.
    expect(countParams(get('binary-mlp'))).toEqual({
      oneBit: 1861632,
      trainable32: 2058,
      nonTrainable32: 4116,
    });
    expect(countParams(get('binary-mlp', { float: true })).oneBit).toBe(0);
  });

  it('lenet5: 61,706 float parameters without BN; biases replaced by BN moving statistics with BN', () => {
    // conv1 5*5*1*6 + 6 = 156; conv2 5*5*6*16 + 16 = 2,416; dense 400*120 + 120 = 48,120 (28 'same' -> pool 14
    // -> 'valid' 10 -> pool 5, 5*5*16 = 400); 120*84 + 84 = 10,164; 84*10 + 10 = 850. Sum 61,706.
    expect(countParams(get('lenet5', { batchNorm: false }))).toEqual({
      oneBit: 0,
      trainable32: 61706,
      nonTrainable32: 0,
    });
    // With BN (no scale, no center): hidden biases go (6 + 16 + 120 + 84 = 226), moving stats 2 * 226 = 452.
    expect(countParams(get('lenet5'))).toEqual({ oneBit: 0, trainable32: 61706 - 226, nonTrainable32: 452 });
  });

  it('quicknet-tiny: 248,832 1-bit', () => {
    // Binary: stage 1 2 * 3*3*48*48 = 41,472; transition 3*3*48*96 = 41,472; stage 2 2 * 3*3*96*96 = 165,888.
    // Float: stem 5*5*1*48 = 1,200; BN gamma + beta 2 * (48 + 2*48 + 3*96) = 864; head 96*10 + 10 = 970.
    // Moving statistics 2 * 432 = 864.
    expect(countParams(get('quicknet-tiny'))).toEqual({
      oneBit: 248832,
      trainable32: 1200 + 864 + 970,
      nonTrainable32: 864,
    });
    // The narrower variant of the first accuracy runs: filters [32, 64].
    expect(countParams(get('quicknet-tiny', { filters: [32, 64] }))).toEqual({
      oneBit: 110592,
      trainable32: 800 + 576 + 650,
      nonTrainable32: 576,
    });
  });
});

describe('topologies as specified', () => {
  const summary = (model: tfl.LayersModel) =>
    (model.layers as Layer[]).map((l) => {
      const c = l.getConfig();
      switch (l.getClassName()) {
        case 'QuantConv2D':
          return `conv${c.filters}/${(c.kernelSize as number[])[0]}/${c.padding}/bias:${c.useBias}/in:${l.inputQuantizer?.getClassName() ?? '-'}/k:${l.kernelQuantizers?.kernelQuantizer?.getClassName() ?? '-'}/${constraintOf(l)?.getClassName() ?? '-'}`;
        case 'QuantDense':
          return `dense${c.units}/bias:${c.useBias}/in:${l.inputQuantizer?.getClassName() ?? '-'}/k:${l.kernelQuantizers?.kernelQuantizer?.getClassName() ?? '-'}/${constraintOf(l)?.getClassName() ?? '-'}`;
        case 'BatchNormalization':
          return `bn/scale:${c.scale}/center:${c.center}/m:${c.momentum}/e:${c.epsilon}`;
        case 'MaxPooling2D':
          return `maxpool${(c.poolSize as number[])[0]}`;
        case 'Activation':
          return `${c.activation}`;
        default:
          return l.getClassName();
      }
    });

  it('larq-intro-cnn is exactly benchmarks.md', () => {
    const bn = 'bn/scale:false/center:true/m:0.99/e:0.001';
    expect(summary(get('larq-intro-cnn'))).toEqual([
      'conv32/3/valid/bias:false/in:-/k:SteSign/WeightClip',
      'maxpool2',
      bn,
      'conv64/3/valid/bias:false/in:SteSign/k:SteSign/WeightClip',
      'maxpool2',
      bn,
      'conv64/3/valid/bias:false/in:SteSign/k:SteSign/WeightClip',
      bn,
      'Flatten',
      'dense64/bias:false/in:SteSign/k:SteSign/WeightClip',
      bn,
      'dense10/bias:false/in:SteSign/k:SteSign/WeightClip',
      bn,
      'softmax',
    ]);
  });

  it('binary-mlp is exactly benchmarks.md', () => {
    const bn = 'bn/scale:false/center:true/m:0.99/e:0.001';
    expect(summary(get('binary-mlp'))).toEqual([
      'Flatten',
      'dense1024/bias:false/in:-/k:SteSign/WeightClip',
      bn,
      'dense1024/bias:false/in:SteSign/k:SteSign/WeightClip',
      bn,
      'dense10/bias:false/in:SteSign/k:SteSign/WeightClip',
      bn,
      'softmax',
    ]);
  });

  it('lenet5 is conv 6@5x5 same, pool, conv 16@5x5, pool, dense 120, 84, 10, with BN before each activation', () => {
    const bn = 'bn/scale:false/center:false/m:0.99/e:0.001';
    expect(summary(get('lenet5'))).toEqual([
      'conv6/5/same/bias:false/in:-/k:-/-',
      bn,
      'ReLU',
      'maxpool2',
      'conv16/5/valid/bias:false/in:-/k:-/-',
      bn,
      'ReLU',
      'maxpool2',
      'Flatten',
      'dense120/bias:false/in:-/k:-/-',
      bn,
      'ReLU',
      'dense84/bias:false/in:-/k:-/-',
      bn,
      'ReLU',
      'dense10/bias:true/in:-/k:-/-',
      'softmax',
    ]);
  });

  it('quicknet-tiny: float stem and head, every hidden conv binary in input and kernel with padValues 1', () => {
    const model = get('quicknet-tiny');
    const quantized = quantizedLayers(model);
    expect(quantized.length).toBe(1 + 5 + 1);
    const [stem, ...rest] = quantized;
    const head = rest.pop() as Layer;
    expect(stem.getClassName()).toBe('QuantConv2D');
    expect(stem.inputQuantizer).toBeNull();
    expect(stem.kernelQuantizers?.kernelQuantizer).toBeNull();
    expect(stem.getConfig().strides).toEqual([2, 2]);
    expect(stem.getConfig().kernelSize).toEqual([5, 5]);
    expect(head.getClassName()).toBe('QuantDense');
    expect(head.inputQuantizer).toBeNull();
    for (const l of rest) {
      expect(l.getClassName()).toBe('QuantConv2D');
      expect(l.inputQuantizer).toBeInstanceOf(SteSign);
      expect(l.kernelQuantizers?.kernelQuantizer).toBeInstanceOf(SteSign);
      expect(l.padValues).toBe(1);
      expect(l.getConfig().padding).toBe('same');
      expect(constraintOf(l)?.getClassName()).toBe('WeightClip');
    }
    // 2 residual adds in stage 1, 3 in stage 2.
    expect(model.layers.filter((l) => l.getClassName() === 'Add').length).toBe(5);
  });
});

describe('float twins', () => {
  it.each(names())('%s float twin has no quantizer and no constraint; the binary one has both', (name) => {
    for (const layer of quantizedLayers(get(name, { float: true }))) {
      expect(layer.inputQuantizer).toBeNull();
      for (const q of Object.values(layer.kernelQuantizers ?? {})) expect(q).toBeNull();
      expect(constraintOf(layer) ?? null).toBeNull();
    }
    if (name === 'lenet5') return; // float weights by design
    const binary = quantizedLayers(get(name)).filter((l) => l.kernelQuantizers?.kernelQuantizer);
    expect(binary.length).toBeGreaterThan(0);
    for (const layer of binary) expect(constraintOf(layer)).toBeInstanceOf(WeightClip);
  });

  it('the float twin has the same topology and weight shapes', () => {
    for (const name of names()) {
      const shapes = (m: tfl.LayersModel) => m.weights.map((w) => w.shape.join('x'));
      expect(shapes(get(name, { float: true }))).toEqual(shapes(get(name)));
    }
  });
});

describe('shapes, seeds, save and load', () => {
  it.each(names())('%s maps [2, 28, 28, 1] to class probabilities [2, 10]', (name) => {
    const model = get(name, { seed: 3 });
    const y = tf.tidy(
      () => model.predict(tf.randomUniform([2, 28, 28, 1], -1, 1, 'float32', 1)) as tf.Tensor,
    );
    expect(y.shape).toEqual([2, 10]);
    const rows = y.arraySync() as number[][];
    for (const row of rows) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    y.dispose();
  });

  it('numClasses and inputShape options', () => {
    const model = get('larq-intro-cnn', { numClasses: 5, inputShape: [32, 32, 3] });
    expect(model.outputs[0].shape).toEqual([null, 5]);
    expect(model.inputs[0].shape).toEqual([null, 32, 32, 3]);
  });

  it('the same seed gives the same initial weights, another seed others', () => {
    const values = (m: tfl.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
    const a = values(get('larq-intro-cnn', { seed: 7 }));
    expect(values(get('larq-intro-cnn', { seed: 7 }))).toEqual(a);
    expect(values(get('larq-intro-cnn', { seed: 8 }))[0]).not.toEqual(a[0]);
    // glorot-uniform bound for the first kernel: sqrt(6 / (9 + 288)) = 0.1421
    const bound = Math.sqrt(6 / (3 * 3 * 1 + 3 * 3 * 32));
    expect(Math.max(...a[0].map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...a[0].map(Math.abs))).toBeGreaterThan(0.9 * bound);
  });

  it.each(names())('%s saves and loads with identical predictions', async (name) => {
    const model = get(name, { seed: 5 });
    // Non-trivial weights everywhere, BN statistics included (variances positive).
    const rng = new Random(11);
    model.setWeights(
      model.weights.map((w) =>
        tf.tensor(
          Float32Array.from({ length: w.shape.reduce<number>((a, b) => a * (b as number), 1) }, () =>
            w.name.includes('variance') ? 0.5 + rng.next() : rng.normal() * 0.5,
          ),
          w.shape as number[],
        ),
      ),
    );
    const x = tf.randomUniform([3, 28, 28, 1], -1, 1, 'float32', 2);
    const before = (model.predict(x) as tf.Tensor).dataSync();
    await saveModel(model, join(dir, name));
    const loaded = await loadModel(join(dir, name));
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
    const after = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(countParams(loaded)).toEqual(countParams(model));
  });
});

describe('lenet5 activation quantizers', () => {
  const activations = (m: tfl.LayersModel) => m.layers.filter((l) => l instanceof Quantizer) as Quantizer[];

  it('a named quantizer with bits gives four fresh k-bit quantizers', () => {
    const model = get('lenet5', { activationQuantizer: 'dorefa_quantizer', activationBits: 2 });
    const qs = activations(model);
    expect(qs.length).toBe(4);
    expect(new Set(qs).size).toBe(4);
    for (const q of qs) {
      expect(q).toBeInstanceOf(DoReFa);
      expect(q.precision).toBe(2);
    }
    // 2-bit DoReFa activations take values in {0, 1/3, 2/3, 1}: read the first activation's output.
    const probe = tfl.model({ inputs: model.inputs, outputs: qs[0].output as tfl.SymbolicTensor });
    const out = (
      probe.predict(tf.randomUniform([2, 28, 28, 1], -1, 1, 'float32', 4)) as tf.Tensor
    ).dataSync();
    const levels = new Set(Array.from(out, (v) => Math.round(v * 3)));
    for (const l of levels) expect([0, 1, 2, 3]).toContain(l);
    for (const v of out) expect(Math.abs(v * 3 - Math.round(v * 3))).toBeLessThan(1e-5);
  });

  it('an instance is cloned per position with its config; a function is wrapped', () => {
    const model = get('lenet5', { activationQuantizer: new DoReFa({ kBit: 4 }) });
    const qs = activations(model);
    expect(qs.map((q) => q.precision)).toEqual([4, 4, 4, 4]);
    expect(new Set(qs.map((q) => q.name)).size).toBe(4);
    const fn = (x: tf.Tensor) => tf.relu(x);
    const wrapped = activations(get('lenet5', { activationQuantizer: fn }));
    expect(wrapped.length).toBe(4);
    for (const q of wrapped) expect((q as FunctionQuantizer).fn).toBe(fn);
  });

  it('the float twin uses ReLU whatever the quantizer', () => {
    const model = get('lenet5', { float: true, activationQuantizer: 'dorefa_quantizer', activationBits: 2 });
    expect(activations(model).length).toBe(0);
    expect(model.layers.filter((l) => l.getClassName() === 'ReLU').length).toBe(4);
  });
});

describe('registry and errors', () => {
  it('list() names every network with a description', () => {
    expect(list().map((e) => e.name)).toEqual(['larq-intro-cnn', 'binary-mlp', 'lenet5', 'quicknet-tiny']);
    for (const e of list()) expect(e.description.length).toBeGreaterThan(20);
  });

  it('typed errors name what was received and what is valid', () => {
    expect(() => get('resnet-9000')).toThrow(ConfigError);
    expect(() => get('resnet-9000')).toThrow(
      /resnet-9000.*larq-intro-cnn, binary-mlp, lenet5, quicknet-tiny/,
    );
    expect(() => get('binary-mlp', { widht: 3 })).toThrow(/unknown option.*widht/);
    expect(() => get('binary-mlp', { float: 'yes' as unknown as boolean })).toThrow(/float.*true or false/);
    expect(() => get('larq-intro-cnn', { inputShape: [8, 8, 1] })).toThrow(/at least 18/);
    expect(() => get('quicknet-tiny', { filters: [32, 48] })).toThrow(/c2 = 2 c1/);
    expect(() => get('lenet5', { activationBits: 2 })).toThrow(/activationBits/);
    expect(() => get('lenet5', { activationQuantizer: 'ste_sign', activationBits: 2 })).toThrow(ConfigError);
    expect(() => get('lenet5', { activationQuantizer: 'no_such_quantizer' })).toThrow(/no_such_quantizer/);
  });
});

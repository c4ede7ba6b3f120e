/** Behaviour of the quantized layers beyond conformance: worked numbers, scopes, tags, warnings, errors, files. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weightClip } from '../constraints/index.js';
import { getVariablePrecision } from '../context/precision.js';
import { quantizedScope } from '../context/scopes.js';
import { ConfigError } from '../errors.js';
import { loadModel, saveModel } from '../io/index.js';
import { SteSign, setPrecision } from '../quantizers/index.js';
import { setWarningHandler } from '../util/log.js';
import { QuantConv1D, QuantConv2D, QuantDense, quantConv2d, quantDense } from './index.js';

const warnings: string[] = [];
let dir = '';
beforeAll(async () => {
  await tf.setBackend('cpu');
  setWarningHandler((m) => warnings.push(m));
  dir = await mkdtemp(join(tmpdir(), 'lowbit-layers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const values = (t: tf.Tensor | tf.Tensor[]) => Array.from((Array.isArray(t) ? t[0] : t).dataSync());

describe('worked numbers', () => {
  it('QuantDense with ste_sign: sign(x) . sign(W) + b', () => {
    const layer = quantDense({
      units: 1,
      inputQuantizer: 'ste_sign',
      kernelQuantizer: 'ste_sign',
      kernelConstraint: 'weight_clip',
    });
    layer.build([null, 2]);
    layer.setWeights([tf.tensor([[0.5], [-0.3]]), tf.tensor([0.5])]);
    // sign([0.2, -0.7]) . sign([0.5, -0.3]) = 1 + 1 = 2; plus bias 0.5
    expect(values(layer.apply(tf.tensor([[0.2, -0.7]])) as tf.Tensor)).toEqual([2.5]);
  });

  it('QuantConv2D same padding: padValues 1 pads with +1, padValues 0 with 0', () => {
    const make = (padValues: number) => {
      const layer = quantConv2d({
        filters: 1,
        kernelSize: 3,
        padding: 'same',
        padValues,
        inputQuantizer: 'ste_sign',
        kernelQuantizer: 'ste_sign',
        kernelConstraint: 'weight_clip',
        useBias: false,
      });
      layer.build([null, 3, 3, 1]);
      layer.setWeights([tf.fill([3, 3, 1, 1], 0.2)]);
      return layer;
    };
    const x = tf.fill([1, 3, 3, 1], -0.5); // sign: all -1
    // corner: 4 real taps (-1) and 5 padded; edge: 6 real, 3 padded; centre: 9 real
    expect(values(make(0).apply(x) as tf.Tensor)).toEqual([-4, -6, -4, -6, -9, -6, -4, -6, -4]);
    expect(values(make(1).apply(x) as tf.Tensor)).toEqual([1, -3, 1, -3, -9, -3, 1, -3, 1]);
  });
});

describe('latent weights, quantized scope and precision tags', () => {
  it('stores latent weights; getWeights in the quantized scope gives the quantized kernel and the same bias', () => {
    const layer = new QuantDense({ units: 2, kernelQuantizer: 'ste_tern', kernelConstraint: 'weight_clip' });
    layer.build([null, 2]);
    layer.setWeights([
      tf.tensor([
        [0.5, -0.01],
        [-0.3, 0.02],
      ]),
      tf.tensor([0.1, 0.2]),
    ]);
    expect(values(layer.getWeights()[0])).toEqual([0.5, -0.01, -0.3, 0.02].map(Math.fround));
    const [kernel, bias] = quantizedScope(true, () => layer.getWeights());
    expect(values(kernel)).toEqual([1, 0, -1, 0]);
    expect(values(bias)).toEqual([0.1, 0.2].map(Math.fround));
    // Outside the scope again: latent values.
    expect(values(layer.getWeights()[0])[0]).toBe(0.5);
  });

  it('tags every kernel variable with its quantizer precision (by LayerVariable and by tf.Variable name)', () => {
    const cases: Array<[unknown, number]> = [
      ['ste_sign', 1],
      ['ste_tern', 2],
      [{ className: 'DoReFa', config: { kBit: 4, mode: 'weights' } }, 4],
      [null, 32],
    ];
    for (const [kernelQuantizer, precision] of cases) {
      const layer = new QuantDense({
        units: 3,
        kernelQuantizer: kernelQuantizer as never,
        kernelConstraint: 'weight_clip',
      });
      layer.build([null, 4]);
      const [kernel, bias] = layer.trainableWeights;
      expect(getVariablePrecision(kernel)).toBe(precision);
      expect(getVariablePrecision((kernel.read() as tf.Variable).name)).toBe(precision);
      expect(getVariablePrecision(bias)).toBe(32);
    }
  });

  it('saves quantized kernels from the quantized scope, latent ones otherwise', async () => {
    const model = tfl.sequential({
      layers: [
        quantDense({
          units: 2,
          inputShape: [3],
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
        }),
      ],
    });
    model.setWeights([
      tf.tensor([
        [0.5, -0.25],
        [-0.75, 0.125],
        [0, -1],
      ]),
      tf.tensor([0, 0]),
    ]);
    await quantizedScope(true, () => saveModel(model, join(dir, 'binary')));
    await saveModel(model, join(dir, 'latent'));
    expect(values((await loadModel(join(dir, 'binary'))).getWeights()[0])).toEqual([1, -1, -1, 1, 1, -1]);
    expect(values((await loadModel(join(dir, 'latent'))).getWeights()[0])).toEqual([
      0.5, -0.25, -0.75, 0.125, 0, -1,
    ]);
  });
});

describe('inference kernel cache', () => {
  it('quantizes a kernel once across inference calls, again after the latent weights change', () => {
    const kernelQuantizer = new SteSign();
    let calls = 0;
    const quantize = kernelQuantizer.quantize.bind(kernelQuantizer);
    kernelQuantizer.quantize = (x: tf.Tensor) => {
      calls++;
      return quantize(x);
    };
    const layer = quantDense({ units: 1, useBias: false, kernelQuantizer, kernelConstraint: 'weight_clip' });
    layer.build([null, 2]);
    layer.setWeights([tf.tensor([[0.5], [0.5]])]);
    const x = tf.tensor([[1, 2]]);
    expect(values(layer.apply(x) as tf.Tensor)).toEqual([3]);
    expect(values(layer.apply(x) as tf.Tensor)).toEqual([3]);
    expect(calls).toBe(1);
    layer.setWeights([tf.tensor([[0.5], [-0.5]])]);
    expect(values(layer.apply(x) as tf.Tensor)).toEqual([-1]);
    expect(calls).toBe(2);
    // Under a gradient tape the kernel is quantized on the tape, so the latent weights get gradients.
    const kernel = layer.trainableWeights[0].read() as tf.Variable;
    const { grads } = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, [kernel]);
    expect(values(grads[kernel.name])).toEqual([1, 2]);
    // The cache holds one tensor per kernel, not one per call.
    (layer.apply(x) as tf.Tensor).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) (layer.apply(x) as tf.Tensor).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('warnings and errors', () => {
  it('warns about starved weights for a binary kernel without a constraint, and only then', () => {
    warnings.length = 0;
    new QuantDense({ units: 1, kernelQuantizer: 'ste_sign', name: 'no_clip' });
    new QuantDense({ units: 1, kernelQuantizer: 'ste_sign', kernelConstraint: 'weight_clip' });
    new QuantDense({ units: 1, kernelQuantizer: 'ste_tern' });
    new QuantDense({ units: 1, inputQuantizer: 'ste_sign' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /QuantDense 'no_clip': a binary kernelQuantizer without kernelConstraint may give starved weights/,
    );
  });

  it('rejects unknown options, wrong types, unknown quantizers and padValues with causal padding', () => {
    expect(() => new QuantDense({ units: 2, kernelQuantiser: 'ste_sign' } as never)).toThrow(ConfigError);
    expect(() => new QuantDense({ units: 2, kernelQuantiser: 'ste_sign' } as never)).toThrow(
      /QuantDense: unknown option: received "kernelQuantiser"; expected one of .*kernelQuantizer/,
    );
    expect(() => new QuantDense({ units: '2' } as never)).toThrow(
      /QuantDense option units: received "2"; expected a positive integer/,
    );
    expect(() => new QuantDense({ units: 2, kernelQuantizer: 'sign', name: 'd' })).toThrow(
      /QuantDense 'd' option kernelQuantizer: received "sign"; expected one of/,
    );
    expect(
      () => new QuantConv1D({ filters: 2, kernelSize: 3, padding: 'causal', padValues: 1, name: 'c' }),
    ).toThrow(/QuantConv1D 'c' option padValues: received 1; expected 0 with padding 'causal'/);
    expect(() => new QuantConv2D({ filters: 2, kernelSize: 3, groups: 2 } as never)).toThrow(
      /groups: received 2/,
    );
  });
});

describe('constraints', () => {
  it("weight_clip clips to [-c, c], resolves by name and serializes as Larq's WeightClip", () => {
    expect(values(weightClip({ clipValue: 0.5 }).apply(tf.tensor([-2, -0.5, 0.1, 0.7])))).toEqual(
      [-0.5, -0.5, 0.1, 0.5].map(Math.fround),
    );
    const layer = new QuantDense({ units: 1, kernelQuantizer: 'ste_sign', kernelConstraint: 'weight_clip' });
    expect(layer.getConfig().kernelConstraint).toEqual({ className: 'WeightClip', config: { clipValue: 1 } });
    expect(() => weightClip({ clipValue: -1 })).toThrow(
      /WeightClip option clipValue: received -1; expected a positive number/,
    );
  });

  it('holds during model.fit (tfjs alone does not apply constraints)', async () => {
    const model = tfl.sequential({
      layers: [
        quantDense({
          units: 4,
          inputShape: [6],
          inputQuantizer: 'ste_sign',
          kernelQuantizer: 'ste_sign',
          kernelConstraint: weightClip({ clipValue: 0.05 }),
        }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(5), loss: 'meanSquaredError' });
    const x = tf.randomUniform([32, 6], -1, 1, 'float32', 1);
    const y = tf.randomUniform([32, 4], -10, 10, 'float32', 2);
    await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
    const maxAbs = Math.max(...values(model.getWeights()[0]).map(Math.abs));
    expect(maxAbs).toBeLessThanOrEqual(0.05 + 1e-7);
    expect(maxAbs).toBeGreaterThan(0.04); // it did train up to the clip
  });
});

describe('custom quantizers', () => {
  // Larq's documentation example: tf.sign with an identity gradient (no clipping).
  const identitySign = setPrecision(
    1,
    tf.customGrad(((x: tf.Tensor) => ({ value: tf.sign(x), gradFunc: (dy: tf.Tensor) => dy })) as Parameters<
      typeof tf.customGrad
    >[0]) as (x: tf.Tensor) => tf.Tensor,
  );

  it('work as input and kernel quantizers, with their own pseudo-gradient', () => {
    const layer = quantDense({
      units: 1,
      useBias: false,
      inputQuantizer: identitySign,
      kernelQuantizer: identitySign,
      kernelConstraint: 'weight_clip',
    });
    layer.build([null, 3]);
    layer.setWeights([tf.tensor([[2], [-0.5], [0.25]])]);
    const x = tf.tensor([[-3, 0.5, 0]]);
    // tf.sign: [-1, 1, 0] . [1, -1, 1] = -2
    expect(values(layer.apply(x) as tf.Tensor)).toEqual([-2]);
    const kernel = layer.trainableWeights[0].read() as tf.Variable;
    const { grads } = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, [kernel]);
    // identity gradient: dL/dW = sign(x), even where |W| = 2 > 1 (ste_sign would give 0 there)
    expect(values(grads[kernel.name])).toEqual([-1, 1, 0]);
    expect(getVariablePrecision(layer.trainableWeights[0])).toBe(1);
  });
});

describe("Larq's model.json", () => {
  it('loads a topology written by Larq via tensorflowjs_converter and computes the hand-worked output', async () => {
    const model = await loadModel(new URL('./fixtures/larq-binary-net/model.json', import.meta.url).pathname);
    const conv = model.layers.find((l) => l instanceof QuantConv2D) as QuantConv2D;
    expect(conv.padValues).toBe(1);
    expect(conv.inputQuantizer?.getClassName()).toBe('SteSign');
    // Input sign -1 everywhere, one-padded: channel 0 (kernel +) is +1 only at the 4 corners, channel 1 (kernel -)
    // is -1 only there; the dense kernel is +1 on channel 0 and -1 on channel 1: (4 - 12) - (-4 + 12) + 0.25.
    expect(values(model.predict(tf.fill([1, 4, 4, 1], -0.5)) as tf.Tensor)).toEqual([-15.75]);
    // Input sign +1: every conv output is +9 (channel 0) or -9 (channel 1): 16 + 16 + 0.25.
    expect(values(model.predict(tf.fill([1, 4, 4, 1], 0.5)) as tf.Tensor)).toEqual([32.25]);
    // And lowbit writes it back with Larq's class names and snake_case keys.
    await saveModel(model, join(dir, 'larq-again'));
    const json = JSON.stringify(model.toJSON(null, false));
    for (const key of [
      '"class_name":"QuantConv2D"',
      '"pad_values":1',
      '"input_quantizer":{"class_name":"SteSign"',
      '"kernel_constraint":{"class_name":"WeightClip","config":{"clip_value":1}}',
    ]) {
      expect(json).toContain(key);
    }
    const again = await loadModel(join(dir, 'larq-again'));
    expect(values(again.predict(tf.fill([1, 4, 4, 1], -0.5)) as tf.Tensor)).toEqual([-15.75]);
  });
});

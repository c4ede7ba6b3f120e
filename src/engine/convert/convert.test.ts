/**
 * convert -> engine equals tfjs: the zoo networks and small randomized models covering every
 * supported layer and option, on tfjs's cpu backend (whose quantized layers compute with the
 * quantized kernels in call()); plus hand-worked packing and the typed errors.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../constraints/index.js';
import { ConfigError, UnsupportedError } from '../../errors.js';
import { quantConv2d, quantConv3d, quantDense } from '../../layers/index.js';
import '../../quantizers/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveModel } from '../../io/index.js';
import { get as zoo } from '../../zoo/index.js';
import { decodeModel } from '../format/lbm.js';
import type { Graph } from '../ir.js';
import { load } from '../runtime/net.js';
import { convert } from './convert.js';
import { argmaxRows, logitsModel, maxRelativeError, randomInput, randomizeBatchNorm } from './testing.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Converts `model`, runs engine and tfjs on the same seeded inputs, returns both outputs. */
async function compare(model: tfl.LayersModel, n: number, seed: number) {
  const shape = [n, ...(model.inputs[0].shape.slice(1) as number[])];
  const x = randomInput(shape, seed);
  const { bytes, graph, log } = convert(model);
  const net = await load(bytes);
  try {
    const got = net.predict(x, shape);
    const want = tf.tidy(() => (model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
    const cols = got.shape[got.shape.length - 1];
    expect(got.shape).toEqual([n, ...(model.outputs[0].shape.slice(1) as number[])]);
    return { got: got.data, want, cols, graph, log, bytes };
  } finally {
    net.dispose();
  }
}

/** Number of uint32 words a packed kernel [Cout, kh, kw, Cin] or [units, ..., C] takes. */
const words = (outer: number, inner: number, c: number) => outer * inner * Math.ceil(c / 32);

function ops(graph: Graph): string[] {
  return graph.nodes.map((n) => ('transform' in n ? `${n.op}:${n.transform.kind}` : n.op));
}

describe('zoo networks: engine equals tfjs (seeded latent weights, non-trivial BatchNorm statistics)', () => {
  const cases: Array<{ name: string; binaryWords: number; bitOps: number; affine: number }> = [
    // Binary kernels, packed: dense 784->1024 (float input), 1024->1024, 1024->10.
    {
      name: 'binary-mlp',
      binaryWords: words(1024, 1, 784) + words(1024, 1, 1024) + words(10, 1, 1024),
      bitOps: 1,
      // The BN after the float first layer feeds a sign: kept in tfjs-backend-wasm's BatchNorm form.
      affine: 1,
    },
    // conv 3x3x1->32 (float input), 3x3x32->64, 3x3x64->64, dense 3x3x64->64, 64->10.
    {
      name: 'larq-intro-cnn',
      binaryWords:
        words(32, 9, 1) + words(64, 9, 32) + words(64, 9, 64) + words(64, 9, 64) + words(10, 1, 64),
      bitOps: 3,
      // The BN after the float first layer and its float max-pool feeds a sign: kept in the BatchNorm form.
      affine: 1,
    },
    // Five binary 3x3 convs: 48->48 twice, 48->96, 96->96 twice (the stem and head are float).
    {
      name: 'quicknet-tiny',
      binaryWords: 2 * words(48, 9, 48) + words(96, 9, 48) + 2 * words(96, 9, 96),
      bitOps: 0,
      // Each of its 6 BatchNorms feeds a residual add: kept in tfjs-backend-wasm's BatchNorm form.
      affine: 6,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: identical argmax, logits within 1e-4 relative, softmax within 1e-5; kernels bitpacked`, async () => {
      const model = zoo(c.name, { seed: 11 });
      const calib = tf.tensor(randomInput([16, 28, 28, 1], 1), [16, 28, 28, 1]);
      randomizeBatchNorm(model, calib, 2);
      calib.dispose();
      const logits = await compare(logitsModel(model), 16, 3);
      expect(maxRelativeError(logits.got, logits.want, 10)).toBeLessThanOrEqual(1e-4);
      expect(Array.from(argmaxRows(logits.got, 10))).toEqual(Array.from(argmaxRows(logits.want, 10)));
      // The predictions are not all one class (the statistics are not trivial).
      expect(new Set(argmaxRows(logits.want, 10)).size).toBeGreaterThan(1);
      const probs = await compare(model, 8, 4);
      expect(maxRelativeError(probs.got, probs.want, 10)).toBeLessThanOrEqual(1e-5);
      expect(Array.from(argmaxRows(probs.got, 10))).toEqual(Array.from(argmaxRows(probs.want, 10)));
      expect(ops(probs.graph).at(-1)).toBe('softmax');
      // Every binary kernel is stored packed, 1 bit per weight; BN and sign fused into bit outputs.
      const packedWords = Object.entries(probs.graph.constants)
        .filter(([name, k]) => k.dtype === 'uint32' && name.endsWith('/kernel'))
        .reduce((a, [, k]) => a + k.data.length, 0);
      expect(packedWords).toBe(c.binaryWords);
      expect(ops(probs.graph).filter((o) => o.endsWith(':bits')).length).toBe(c.bitOps);
      expect(ops(probs.graph).filter((o) => o === 'affine').length).toBe(c.affine);
      const meta = decodeModel(probs.bytes).graph.metadata;
      expect(meta).toMatchObject({ source: c.name, converterVersion: '1' });
      model.dispose();
    });
  }

  it('lenet5 with float ReLU activations converts to float ops; with quantizer layers as activations it is refused', async () => {
    const model = zoo('lenet5', { seed: 1 });
    const calib = tf.tensor(randomInput([8, 28, 28, 1], 1), [8, 28, 28, 1]);
    randomizeBatchNorm(model, calib, 2);
    calib.dispose();
    const r = await compare(logitsModel(model), 8, 2);
    expect(maxRelativeError(r.got, r.want, 10)).toBeLessThanOrEqual(1e-4);
    expect(ops(r.graph).every((o) => !o.startsWith('b') && o !== 'binarize')).toBe(true);
    model.dispose();
    const signs = zoo('lenet5', { seed: 1, activationQuantizer: 'ste_sign' });
    expect(() => convert(signs)).toThrow(/\(SteSign\): a quantizer used as a layer is not supported/);
    signs.dispose();
  });

  it('larq-intro-cnn: the max-pool after the second binary conv runs on packed bits', () => {
    const model = zoo('larq-intro-cnn', { seed: 4 });
    const { graph } = convert(model);
    const pools = graph.nodes.filter((n) => n.op === 'maxpool2d');
    const producers = pools.map((p) => graph.nodes.find((n) => n.name === p.inputs[0])!);
    // The first pool follows the float first layer; the second a binary conv writing bits.
    expect(producers.map((p) => ('transform' in p ? `${p.op}:${p.transform.kind}` : p.op))).toEqual([
      'conv2d:float',
      'bconv2d:bits',
    ]);
    model.dispose();
  });
});

describe('8-bit input (uint8Input)', () => {
  it('binary-mlp on bytes: the scaling is recorded, predict(Uint8Array) equals tfjs on the scaled floats', async () => {
    const model = zoo('binary-mlp', { seed: 12 });
    const calib = tf.tensor(randomInput([16, 28, 28, 1], 5), [16, 28, 28, 1]);
    randomizeBatchNorm(model, calib, 2);
    calib.dispose();
    const logits = logitsModel(model);
    const uint8Input = { scale: 1 / 127.5, offset: -1 };
    const { bytes, graph } = convert(logits, { uint8Input });
    expect(graph.inputs[0].uint8).toEqual(uint8Input);
    expect(decodeModel(bytes).graph.inputs[0].uint8).toEqual(uint8Input);
    const n = 12;
    const q = Uint8Array.from({ length: n * 784 }, (_, i) => (i * 7919 + (i >> 5)) % 256);
    const x = Float32Array.from(q, (v) => v / 127.5 - 1);
    const want = tf.tidy(() => (logits.predict(tf.tensor4d(x, [n, 28, 28, 1])) as tf.Tensor).dataSync());
    const net = await load(bytes);
    const got = net.predict(q, [n, 28, 28, 1]).data;
    expect(maxRelativeError(got, Float32Array.from(want), 10)).toBeLessThanOrEqual(1e-4);
    expect(Array.from(argmaxRows(got, 10))).toEqual(Array.from(argmaxRows(Float32Array.from(want), 10)));
    for (const bad of [
      { scale: 0, offset: 0 },
      { scale: 1 },
      { scale: Number.POSITIVE_INFINITY, offset: 0 },
      'x',
    ])
      expect(() => convert(logits, { uint8Input: bad as never })).toThrow(
        /engine.convert options.uint8Input: received .*; expected \{ scale: a positive finite number/,
      );
    model.dispose();
  });
});

describe('saved and loaded models', () => {
  it('saveModel -> loadModel -> convert writes the same .lbm bytes as converting the trained model', async () => {
    const model = zoo('larq-intro-cnn', { seed: 8 });
    const calib = tf.tensor(randomInput([8, 28, 28, 1], 1), [8, 28, 28, 1]);
    randomizeBatchNorm(model, calib, 2);
    calib.dispose();
    const dir = mkdtempSync(join(tmpdir(), 'lowbit-convert-'));
    try {
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      const a = convert(model).bytes;
      const b = convert(loaded).bytes;
      expect(b.length).toBe(a.length);
      expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });
});

describe('several outputs', () => {
  it('a functional model with two outputs (a pooled feature map and the logits): both equal tfjs', async () => {
    const k = inits(500);
    const input = tfl.input({ shape: [8, 8, 3] });
    let x = quantConv2d({ filters: 10, kernelSize: 3, kernelInitializer: k(), ...bin }).apply(
      input,
    ) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({}).apply(x) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
    const y = quantConv2d({
      filters: 6,
      kernelSize: 3,
      strides: 2,
      inputQuantizer: 'ste_sign',
      kernelInitializer: k(),
      ...bin,
    }).apply(x) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten().apply(y) as tfl.SymbolicTensor;
    const logits = quantDense({ units: 4, inputQuantizer: 'ste_sign', kernelInitializer: k(), ...bin }).apply(
      flat,
    ) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: [pooled, logits] });
    const xs = randomInput([6, 8, 8, 3], 9);
    const xt = tf.tensor(xs, [6, 8, 8, 3]);
    randomizeBatchNorm(model, xt, 3);
    const { bytes, graph } = convert(model);
    expect(graph.outputs.length).toBe(2);
    const net = await load(bytes);
    const got = net.predictAll(xs, [6, 8, 8, 3]);
    net.dispose();
    const want = (model.predict(xt) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
    for (const [i, cols] of [10, 4].entries()) {
      const out = got[graph.outputs[i]];
      expect(out.shape).toEqual([6, cols]);
      expect(maxRelativeError(out.data, want[i], cols)).toBeLessThanOrEqual(1e-4);
    }
    xt.dispose();
    model.dispose();
  });
});

describe('clamps', () => {
  it('relu6 on a binary dense is fused into the transform as outClamp [0, 6], and both clamp edges are hit', async () => {
    const input = tfl.input({ shape: [40] });
    const layer = quantDense({
      units: 7,
      activation: 'relu6',
      inputQuantizer: 'ste_sign',
      kernelInitializer: inits(600)(),
      biasInitializer: 'zeros',
      ...bin,
    });
    const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
    const r = await compare(model, 12, 4);
    const node = r.graph.nodes.find((n) => n.op === 'bdense');
    expect(node && 'transform' in node && node.transform.kind === 'float' && node.transform.outClamp).toEqual(
      [0, 6],
    );
    expect(r.graph.nodes.length).toBe(2);
    // Dots of 40 signs range over even numbers in [-40, 40]: both clamps are active on these inputs.
    expect(Array.from(r.want)).toContain(6);
    expect(Array.from(r.want)).toContain(0);
    expect(Array.from(r.got)).toEqual(Array.from(r.want));
    model.dispose();
  });
});

describe('packing, by hand', () => {
  it('a 3x2 binary dense kernel packs bit i of unit u to the sign of w[i, u]; a magnitude-aware scale goes into the multiplier', () => {
    const input = tfl.input({ shape: [3] });
    const layer = quantDense({
      units: 2,
      useBias: false,
      kernelQuantizer: 'magnitude_aware_sign',
      kernelConstraint: 'weight_clip',
      inputQuantizer: 'ste_sign',
    });
    const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
    // w[i, u] row-major [K=3, units=2]: unit 0 gets (-0.5, 0.25, 0) -> bits 1,0,0 = 0b001 = 1 and
    // s = (0.5 + 0.25 + 0) / 3 = 0.25; unit 1 gets (0.5, -1, -0.5) -> bits 0,1,1 = 0b110 = 6, s = 2/3.
    layer.setWeights([tf.tensor2d([-0.5, 0.5, 0.25, -1, 0, -0.5], [3, 2])]);
    const { graph } = convert(model, { optimize: false });
    const node = graph.nodes.find((n) => n.op === 'bdense')!;
    expect(node.op === 'bdense' && Array.from(graph.constants[node.weights].data)).toEqual([1, 6]);
    const m = node.op === 'bdense' && node.transform.kind === 'float' ? node.transform.multiplier : undefined;
    expect(Array.from(graph.constants[m!].data)).toEqual([Math.fround(0.25), Math.fround(2 / 3)]);
    // x = (1, -1, 0) has signs (+, -, +); unit 0's signs (-, +, +) give dot = -1 - 1 + 1 = -1, times 0.25;
    // unit 1's signs (+, -, -) give dot = 1 + 1 - 1 = 1, times 2/3.
    const y = (model.predict(tf.tensor2d([[1, -1, 0]])) as tf.Tensor).dataSync();
    expect(y[0]).toBeCloseTo(-0.25, 6);
    expect(y[1]).toBeCloseTo(2 / 3, 6);
    model.dispose();
  });
});

/** glorot-uniform initializers with a fresh seed each. */
function inits(seed: number) {
  let s = seed;
  return () => tfl.initializers.glorotUniform({ seed: s++ });
}

const bin = { kernelQuantizer: 'ste_sign', kernelConstraint: 'weight_clip' } as const;

describe('randomized small models: every supported layer and option', () => {
  const models: Array<{ name: string; build: () => tfl.LayersModel }> = [
    {
      name: 'conv chain: strides, dilation, both padValues, channels 5/33/40, every sign quantizer, magnitude-aware sign, BN without scale or center, pools',
      build: () => {
        const k = inits(100);
        return tfl.sequential({
          layers: [
            // Float input, binary kernel, 'same' with zero padding, bias, relu.
            quantConv2d({
              inputShape: [11, 10, 3],
              filters: 5,
              kernelSize: 3,
              padding: 'same',
              kernelInitializer: k(),
              biasInitializer: 'glorotUniform',
              activation: 'relu',
              ...bin,
            }),
            tfl.layers.batchNormalization({ scale: false }),
            quantConv2d({
              filters: 33,
              kernelSize: 3,
              strides: 2,
              padding: 'same',
              padValues: 1,
              useBias: false,
              inputQuantizer: 'ste_sign',
              kernelInitializer: k(),
              ...bin,
            }),
            tfl.layers.batchNormalization({}),
            quantConv2d({
              filters: 40,
              kernelSize: 3,
              dilationRate: 2,
              padding: 'same',
              padValues: 0,
              useBias: false,
              inputQuantizer: 'approx_sign',
              kernelInitializer: k(),
              ...bin,
            }),
            tfl.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
            tfl.layers.batchNormalization({ center: false }),
            quantConv2d({
              filters: 7,
              kernelSize: 2,
              strides: [1, 2],
              padding: 'same',
              padValues: 0,
              inputQuantizer: 'swish_sign',
              kernelQuantizer: 'magnitude_aware_sign',
              kernelConstraint: 'weight_clip',
              kernelInitializer: k(),
              biasInitializer: 'glorotUniform',
            }),
            tfl.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'valid' }),
            tfl.layers.batchNormalization({ scale: false, center: false }),
            tfl.layers.flatten(),
            quantDense({ units: 6, inputQuantizer: 'ste_sign', kernelInitializer: k(), ...bin }),
          ],
        });
      },
    },
    {
      name: 'residual: float conv stem, binary convs with one-padding and zero padding, add, ReLU layer, concatenate, global average pool, float dense, softmax',
      build: () => {
        const k = inits(200);
        const input = tfl.input({ shape: [9, 9, 2] });
        let x = tfl.layers
          .conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: k() })
          .apply(input) as tfl.SymbolicTensor;
        x = tfl.layers.batchNormalization({}).apply(x) as tfl.SymbolicTensor;
        const stem = x;
        const branch = (y: tfl.SymbolicTensor, pad: number, filters: number) =>
          tfl.layers.batchNormalization({}).apply(
            quantConv2d({
              filters,
              kernelSize: 3,
              padding: 'same',
              padValues: pad,
              useBias: false,
              inputQuantizer: 'ste_sign',
              kernelInitializer: k(),
              ...bin,
            }).apply(y) as tfl.SymbolicTensor,
          ) as tfl.SymbolicTensor;
        x = tfl.layers.add().apply([x, branch(x, 1, 6)]) as tfl.SymbolicTensor;
        x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
        x = tfl.layers.add().apply([
          branch(x, 0, 12),
          // (Not [x, x]: tfjs-layers 4.22's predict disposes a tensor listed twice in one call's inputs.)
          tfl.layers.concatenate().apply([x, stem]) as tfl.SymbolicTensor,
        ]) as tfl.SymbolicTensor;
        x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
        x = tfl.layers.dropout({ rate: 0.5 }).apply(x) as tfl.SymbolicTensor;
        const out = tfl.layers
          .dense({ units: 4, activation: 'softmax', kernelInitializer: k() })
          .apply(x) as tfl.SymbolicTensor;
        return tfl.model({ inputs: input, outputs: out });
      },
    },
    {
      name: 'mlp: flatten, float-input binary dense with magnitude-aware sign, binary dense with bias (37 units), dropout, dense concatenate',
      build: () => {
        const k = inits(300);
        const input = tfl.input({ shape: [5, 7, 1] });
        let x = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
        x = quantDense({
          units: 45,
          useBias: false,
          kernelQuantizer: 'magnitude_aware_sign',
          kernelConstraint: 'weight_clip',
          kernelInitializer: k(),
        }).apply(x) as tfl.SymbolicTensor;
        x = tfl.layers.batchNormalization({}).apply(x) as tfl.SymbolicTensor;
        const a = quantDense({
          units: 37,
          inputQuantizer: 'ste_sign',
          kernelInitializer: k(),
          biasInitializer: 'glorotUniform',
          ...bin,
        }).apply(x) as tfl.SymbolicTensor;
        const b = tfl.layers.dense({ units: 3, kernelInitializer: k() }).apply(x) as tfl.SymbolicTensor;
        x = tfl.layers.concatenate().apply([a, b]) as tfl.SymbolicTensor;
        x = tfl.layers.dropout({ rate: 0.3 }).apply(x) as tfl.SymbolicTensor;
        x = tfl.layers.batchNormalization({}).apply(x) as tfl.SymbolicTensor;
        x = quantDense({ units: 5, inputQuantizer: 'ste_sign', kernelInitializer: k(), ...bin }).apply(
          x,
        ) as tfl.SymbolicTensor;
        return tfl.model({ inputs: input, outputs: x });
      },
    },
    {
      name: 'float-input binary convs: same with padValues 1 and stride 2, valid with dilation 2 and magnitude-aware sign, relu6, float dense head',
      build: () => {
        const k = inits(400);
        return tfl.sequential({
          layers: [
            quantConv2d({
              inputShape: [10, 9, 2],
              filters: 9,
              kernelSize: 3,
              strides: 2,
              padding: 'same',
              padValues: 1,
              kernelInitializer: k(),
              ...bin,
            }),
            quantConv2d({
              filters: 4,
              kernelSize: 2,
              dilationRate: 2,
              padding: 'valid',
              activation: 'relu6',
              kernelQuantizer: 'magnitude_aware_sign',
              kernelConstraint: 'weight_clip',
              kernelInitializer: k(),
            }),
            tfl.layers.flatten(),
            tfl.layers.dense({ units: 3, kernelInitializer: k() }),
          ],
        });
      },
    },
  ];
  for (const [i, m] of models.entries()) {
    it(m.name, async () => {
      const model = m.build();
      const shape = [16, ...(model.inputs[0].shape.slice(1) as number[])];
      const calib = tf.tensor(randomInput(shape, 10 + i), shape);
      randomizeBatchNorm(model, calib, 20 + i);
      calib.dispose();
      const r = await compare(model, 20, 30 + i);
      expect(maxRelativeError(r.got, r.want, r.cols)).toBeLessThanOrEqual(1e-4);
      expect(Array.from(argmaxRows(r.got, r.cols))).toEqual(Array.from(argmaxRows(r.want, r.cols)));
      expect(r.log.length).toBeGreaterThan(0);
      model.dispose();
    });
  }

  it('without optimization the same graph gives the same outputs (fusion is exact)', async () => {
    const model = models[0].build();
    const calib = tf.tensor(randomInput([16, 11, 10, 3], 10), [16, 11, 10, 3]);
    randomizeBatchNorm(model, calib, 20);
    const x = randomInput([12, 11, 10, 3], 5);
    const plain = await load(convert(model, { optimize: false }).bytes);
    const fused = await load(convert(model).bytes);
    const a = plain.predict(x, [12, 11, 10, 3]).data;
    const b = fused.predict(x, [12, 11, 10, 3]).data;
    expect(maxRelativeError(a, b, 6)).toBeLessThanOrEqual(1e-5);
    plain.dispose();
    fused.dispose();
    calib.dispose();
    model.dispose();
  });
});

describe('unsupported layers and configurations give an UnsupportedError naming the layer', () => {
  const expectUnsupported = (model: tfl.LayersModel, ...parts: string[]) => {
    let error: unknown;
    try {
      convert(model);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedError);
    for (const p of parts) expect((error as Error).message).toContain(p);
    model.dispose();
  };

  it('not a model: a ConfigError', () => {
    expect(() => convert({} as tfl.LayersModel)).toThrow(ConfigError);
    expect(() => convert(null as unknown as tfl.LayersModel)).toThrow(
      /engine.convert\(model\): received null; expected a built tfjs LayersModel/,
    );
  });

  it('an LSTM', () => {
    const input = tfl.input({ shape: [4, 3] });
    const out = tfl.layers
      .lstm({ units: 2, name: 'rnn', recurrentInitializer: 'glorotUniform' })
      .apply(input) as tfl.SymbolicTensor;
    expectUnsupported(
      tfl.model({ inputs: input, outputs: out }),
      "layer 'rnn' (LSTM)",
      'supported: ',
      'QuantConv2D',
    );
  });

  it('a QuantConv3D', () => {
    const input = tfl.input({ shape: [4, 4, 4, 1] });
    const out = quantConv3d({ filters: 2, kernelSize: 2, name: 'c3', ...bin }).apply(
      input,
    ) as tfl.SymbolicTensor;
    expectUnsupported(
      tfl.model({ inputs: input, outputs: out }),
      "layer 'c3' (QuantConv3D)",
      'kernel of shape [2, 2, 2, 1, 2]',
    );
  });

  it('a ternary kernel', () => {
    const input = tfl.input({ shape: [8] });
    const out = quantDense({
      units: 3,
      name: 'tern',
      kernelQuantizer: 'ste_tern',
      kernelConstraint: 'weight_clip',
    }).apply(input) as tfl.SymbolicTensor;
    expectUnsupported(
      tfl.model({ inputs: input, outputs: out }),
      "layer 'tern' (QuantDense) kernelQuantizer SteTern (precision 2",
      'binary kernels (precision 1',
    );
  });

  it('a heaviside input quantizer (precision 1, but not a sign)', () => {
    const input = tfl.input({ shape: [8] });
    const out = quantDense({ units: 3, name: 'hv', inputQuantizer: 'ste_heaviside', ...bin }).apply(
      input,
    ) as tfl.SymbolicTensor;
    expectUnsupported(
      tfl.model({ inputs: input, outputs: out }),
      "layer 'hv' (QuantDense) inputQuantizer SteHeaviside (precision 1",
      'sign(x) with sign(0) = +1',
    );
  });

  it('a binarized input with a float kernel, a dense layer on an unflattened image, an unsupported activation', () => {
    const input = tfl.input({ shape: [8] });
    const a = quantDense({ units: 3, name: 'fk', inputQuantizer: 'ste_sign' }).apply(
      input,
    ) as tfl.SymbolicTensor;
    expectUnsupported(
      tfl.model({ inputs: input, outputs: a }),
      "layer 'fk' (QuantDense): a binarized input with a float kernel",
    );
    const img = tfl.input({ shape: [3, 3, 2] });
    const d = tfl.layers.dense({ units: 2, name: 'd3' }).apply(img) as tfl.SymbolicTensor;
    expectUnsupported(tfl.model({ inputs: img, outputs: d }), "layer 'd3' (Dense)", 'add Flatten');
    const t = tfl.layers
      .dense({ units: 2, name: 'th', activation: 'tanh' })
      .apply(input) as tfl.SymbolicTensor;
    expectUnsupported(tfl.model({ inputs: input, outputs: t }), "layer 'th' (Dense): activation tanh");
  });
});

afterAll(() => {
  tf.disposeVariables();
});

import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// lowbit's backend module registers the depthwise/conv filter-gradient kernels tfjs-backend-wasm lacks.
import '../../backend/index.js';
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { Random } from '../../util/random.js';
import { SeparableConv1D, separableConv1d } from './separable-conv1d.js';

// ---------------------------------------------------------------------------------------------
// Naive reference: Keras' SeparableConv1D written as plain loops over Float32Arrays, no tfjs ops.
// ---------------------------------------------------------------------------------------------

interface Case {
  b: number;
  l: number;
  c: number;
  f: number;
  k: number;
  s: number;
  d: number;
  dm: number;
  padding: 'valid' | 'same' | 'causal';
  dataFormat: 'channelsLast' | 'channelsFirst';
  useBias: boolean;
}

/** Output length and zeros before the input, from Keras' / TensorFlow's padding rules. */
function geometry(t: Case) {
  const span = (t.k - 1) * t.d + 1;
  if (t.padding === 'valid') return { out: Math.ceil((t.l - span + 1) / t.s), before: 0 };
  const out = Math.ceil(t.l / t.s);
  if (t.padding === 'causal') return { out, before: t.d * (t.k - 1) };
  const total = Math.max((out - 1) * t.s + span - t.l, 0);
  return { out, before: Math.floor(total / 2) };
}

function xIndex(t: Case, b: number, i: number, ch: number): number {
  return t.dataFormat === 'channelsLast' ? (b * t.l + i) * t.c + ch : (b * t.c + ch) * t.l + i;
}

function yIndex(t: Case, out: number, b: number, o: number, f: number): number {
  return t.dataFormat === 'channelsLast' ? (b * out + o) * t.f + f : (b * t.f + f) * out + o;
}

/** Depthwise output z[b, o, c dm + m] (always [B, out, C dm]). */
function depthwise(t: Case, x: Float32Array, dw: Float32Array): Float64Array {
  const { out, before } = geometry(t);
  const z = new Float64Array(t.b * out * t.c * t.dm);
  for (let b = 0; b < t.b; b++)
    for (let o = 0; o < out; o++)
      for (let ch = 0; ch < t.c; ch++)
        for (let m = 0; m < t.dm; m++) {
          let acc = 0;
          for (let j = 0; j < t.k; j++) {
            const i = o * t.s + j * t.d - before;
            if (i >= 0 && i < t.l) acc += x[xIndex(t, b, i, ch)] * dw[(j * t.c + ch) * t.dm + m];
          }
          z[(b * out + o) * t.c * t.dm + ch * t.dm + m] = acc;
        }
  return z;
}

function naiveForward(
  t: Case,
  x: Float32Array,
  dw: Float32Array,
  pw: Float32Array,
  bias: Float32Array | null,
): Float64Array {
  const { out } = geometry(t);
  const z = depthwise(t, x, dw);
  const width = t.c * t.dm;
  const y = new Float64Array(t.b * out * t.f);
  for (let b = 0; b < t.b; b++)
    for (let o = 0; o < out; o++)
      for (let f = 0; f < t.f; f++) {
        let acc = bias ? bias[f] : 0;
        for (let q = 0; q < width; q++) acc += z[(b * out + o) * width + q] * pw[q * t.f + f];
        y[yIndex(t, out, b, o, f)] = acc;
      }
  return y;
}

/** Analytic gradients of sum(y * upstream) with respect to x, both kernels and the bias. */
function naiveBackward(t: Case, x: Float32Array, dw: Float32Array, pw: Float32Array, upstream: Float32Array) {
  const { out, before } = geometry(t);
  const z = depthwise(t, x, dw);
  const width = t.c * t.dm;
  const dz = new Float64Array(z.length);
  const dpw = new Float64Array(pw.length);
  const db = new Float64Array(t.f);
  for (let b = 0; b < t.b; b++)
    for (let o = 0; o < out; o++)
      for (let f = 0; f < t.f; f++) {
        const g = upstream[yIndex(t, out, b, o, f)];
        db[f] += g;
        for (let q = 0; q < width; q++) {
          dz[(b * out + o) * width + q] += g * pw[q * t.f + f];
          dpw[q * t.f + f] += g * z[(b * out + o) * width + q];
        }
      }
  const dx = new Float64Array(x.length);
  const ddw = new Float64Array(dw.length);
  for (let b = 0; b < t.b; b++)
    for (let o = 0; o < out; o++)
      for (let ch = 0; ch < t.c; ch++)
        for (let m = 0; m < t.dm; m++) {
          const g = dz[(b * out + o) * width + ch * t.dm + m];
          for (let j = 0; j < t.k; j++) {
            const i = o * t.s + j * t.d - before;
            if (i < 0 || i >= t.l) continue;
            dx[xIndex(t, b, i, ch)] += g * dw[(j * t.c + ch) * t.dm + m];
            ddw[(j * t.c + ch) * t.dm + m] += g * x[xIndex(t, b, i, ch)];
          }
        }
  return { dx, ddw, dpw, db };
}

function randomArray(rng: Random, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  }
  expect(worst).toBeLessThan(tol);
}

// Lengths and channel counts that are not multiples of 8; stride, dilation and depth multiplier > 1.
const SHAPES = [
  { b: 2, l: 9, c: 3, f: 4, k: 3, s: 1, d: 1, dm: 1 },
  { b: 3, l: 11, c: 2, f: 3, k: 2, s: 2, d: 1, dm: 2 },
  { b: 2, l: 13, c: 5, f: 2, k: 4, s: 1, d: 2, dm: 3 },
  // Odd dilated span (k - 1) d = 3: 'same' puts 1 zero before and 2 after.
  { b: 1, l: 8, c: 3, f: 2, k: 2, s: 1, d: 3, dm: 2 },
];

const CASES: Case[] = [];
for (const shape of SHAPES)
  for (const padding of ['valid', 'same', 'causal'] as const)
    for (const dataFormat of ['channelsLast', 'channelsFirst'] as const)
      for (const useBias of [true, false]) CASES.push({ ...shape, padding, dataFormat, useBias });

function label(t: Case): string {
  return `L${t.l} C${t.c} k${t.k} s${t.s} d${t.d} dm${t.dm} ${t.padding} ${t.dataFormat} bias=${t.useBias}`;
}

describe.each(['cpu', 'wasm'])('SeparableConv1D on %s', (backend) => {
  beforeAll(async () => {
    await tfc.setBackend(backend);
    await tfc.ready();
  });

  it.each(CASES.map((t) => ({ name: label(t), t })))(
    'forward and gradients match the naive reference: $name',
    ({ t }) => {
      const rng = new Random(99 + t.l * 13 + t.k);
      const layer = separableConv1d({
        filters: t.f,
        kernelSize: t.k,
        strides: t.s,
        dilationRate: t.d,
        depthMultiplier: t.dm,
        padding: t.padding,
        dataFormat: t.dataFormat,
        useBias: t.useBias,
        biasInitializer: 'randomNormal',
      });
      const shape = t.dataFormat === 'channelsLast' ? [t.b, t.l, t.c] : [t.b, t.c, t.l];
      const xData = randomArray(rng, t.b * t.l * t.c);
      const x = tfc.tensor(xData, shape);
      const y = layer.apply(x) as tfc.Tensor;
      const { out } = geometry(t);
      expect(layer.depthwiseKernel!.shape).toEqual([t.k, t.c, t.dm]);
      expect(layer.pointwiseKernel!.shape).toEqual([1, t.c * t.dm, t.f]);
      expect(layer.bias?.shape ?? null).toEqual(t.useBias ? [t.f] : null);
      const expectedShape = t.dataFormat === 'channelsLast' ? [t.b, out, t.f] : [t.b, t.f, out];
      expect(y.shape).toEqual(expectedShape);
      expect(layer.computeOutputShape(shape)).toEqual(expectedShape);
      const dw = layer.depthwiseKernel!.read().dataSync() as Float32Array;
      const pw = layer.pointwiseKernel!.read().dataSync() as Float32Array;
      const bias = layer.bias ? (layer.bias.read().dataSync() as Float32Array) : null;
      expectClose(y.dataSync(), naiveForward(t, xData, dw, pw, bias));

      const upstreamData = randomArray(rng, y.size);
      const upstream = tfc.tensor(upstreamData, y.shape);
      const loss = (input: tfc.Tensor) => tfc.sum(tfc.mul(layer.apply(input) as tfc.Tensor, upstream));
      const dx = tfc.grad(loss)(x);
      const vars = [layer.depthwiseKernel!.read(), layer.pointwiseKernel!.read()] as tfc.Variable[];
      if (layer.bias) vars.push(layer.bias.read() as tfc.Variable);
      const { grads } = tfc.variableGrads(() => loss(x) as tfc.Scalar, vars);
      const ref = naiveBackward(t, xData, dw, pw, upstreamData);
      expectClose(dx.dataSync(), ref.dx);
      expectClose(grads[vars[0].name].dataSync(), ref.ddw);
      expectClose(grads[vars[1].name].dataSync(), ref.dpw);
      if (layer.bias) expectClose(grads[vars[2].name].dataSync(), ref.db);
      tfc.dispose([x, y, upstream, dx, ...Object.values(grads)]);
      layer.dispose();
    },
  );

  it('reads each kernel through exactly one read() per call, so a subclass can substitute them', () => {
    const t: Case = {
      b: 2,
      l: 9,
      c: 3,
      f: 2,
      k: 3,
      s: 2,
      d: 1,
      dm: 2,
      padding: 'same',
      dataFormat: 'channelsFirst',
      useBias: false,
    };
    const layer = separableConv1d({
      filters: t.f,
      kernelSize: t.k,
      strides: t.s,
      depthMultiplier: t.dm,
      padding: t.padding,
      dataFormat: t.dataFormat,
      useBias: false,
    });
    const xData = randomArray(new Random(31), t.b * t.c * t.l);
    const x = tfc.tensor3d(xData, [t.b, t.c, t.l]);
    layer.apply(x);
    const counts = { depthwise: 0, pointwise: 0 };
    const dwVar = layer.depthwiseKernel!;
    const pwVar = layer.pointwiseKernel!;
    const dwRead = dwVar.read.bind(dwVar);
    const pwRead = pwVar.read.bind(pwVar);
    dwVar.read = () => {
      counts.depthwise++;
      return tfc.sign(dwRead());
    };
    pwVar.read = () => {
      counts.pointwise++;
      return tfc.sign(pwRead());
    };
    const y = layer.apply(x) as tfc.Tensor;
    dwVar.read = dwRead;
    pwVar.read = pwRead;
    expect(counts).toEqual({ depthwise: 1, pointwise: 1 });
    const sign = (v: tfc.Tensor) => Float32Array.from(v.dataSync(), (e) => Math.sign(e));
    expectClose(y.dataSync(), naiveForward(t, xData, sign(dwRead()), sign(pwRead()), null));
    tfc.dispose([x, y]);
  });

  it('causal padding: output t does not depend on inputs after t', () => {
    const layer = separableConv1d({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'causal' });
    const rng = new Random(4);
    const a = randomArray(rng, 10 * 3);
    const bData = a.slice();
    for (let i = 6 * 3; i < bData.length; i++) bData[i] += 1; // change inputs at t >= 6
    const ya = (layer.apply(tfc.tensor3d(a, [1, 10, 3])) as tfc.Tensor).arraySync() as number[][][];
    const yb = (layer.apply(tfc.tensor3d(bData, [1, 10, 3])) as tfc.Tensor).arraySync() as number[][][];
    expect(yb[0].slice(0, 6)).toEqual(ya[0].slice(0, 6));
    expect(yb[0][6]).not.toEqual(ya[0][6]);
  });

  it('trains: a tiny model.fit lowers the loss', async () => {
    const rng = new Random(21);
    const n = 32;
    const x = tfc.tensor3d(randomArray(rng, n * 12 * 3), [n, 12, 3]);
    const yTrue = tfc.tensor2d(randomArray(rng, n * 2), [n, 2]);
    const model = tfl.sequential({
      layers: [
        separableConv1d({
          filters: 4,
          kernelSize: 3,
          depthMultiplier: 2,
          padding: 'same',
          inputShape: [12, 3],
        }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 2 }),
      ],
    });
    model.compile({ optimizer: tfc.train.adam(0.02), loss: 'meanSquaredError' });
    const history = await model.fit(x, yTrue, { epochs: 25, batchSize: 16, verbose: 0, shuffle: false });
    const losses = history.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    tfc.dispose([x, yTrue]);
    model.dispose();
  });
});

describe('SeparableConv1D config and serialization', () => {
  beforeAll(async () => {
    await tfc.setBackend('cpu');
  });

  it('registers under its Keras name and round-trips getConfig/fromConfig', () => {
    expect(tfc.serialization.SerializationMap.getMap().classNameMap.SeparableConv1D[0]).toBe(SeparableConv1D);
    const layer = separableConv1d({
      filters: 5,
      kernelSize: [4],
      dilationRate: 2,
      depthMultiplier: 3,
      padding: 'causal',
      dataFormat: 'channelsFirst',
      activation: 'relu',
      depthwiseInitializer: 'heUniform',
      pointwiseConstraint: 'maxNorm',
      name: 'sep',
    });
    const config = layer.getConfig();
    expect(config).toMatchObject({
      name: 'sep',
      filters: 5,
      kernelSize: [4],
      strides: [1],
      dilationRate: [2],
      depthMultiplier: 3,
      padding: 'causal',
      dataFormat: 'channelsFirst',
      activation: 'relu',
      useBias: true,
      pointwiseConstraint: { className: 'MaxNorm' },
    });
    const copy = SeparableConv1D.fromConfig(SeparableConv1D, structuredClone(config)) as SeparableConv1D;
    expect(copy.getConfig()).toEqual(config);
  });

  it('survives model.toJSON -> modelFromJSON with setWeights', async () => {
    const model = tfl.sequential({
      layers: [
        separableConv1d({ filters: 3, kernelSize: 3, strides: 2, depthMultiplier: 2, inputShape: [11, 4] }),
        separableConv1d({ filters: 2, kernelSize: 2, padding: 'causal', activation: 'tanh' }),
      ],
    });
    const json = JSON.parse(model.toJSON(null, true) as string);
    expect(json.config.layers[0].class_name).toBe('SeparableConv1D');
    expect(json.config.layers[0].config.depth_multiplier).toBe(2);
    const restored = (await tfl.models.modelFromJSON(json)) as tfl.LayersModel;
    expect(JSON.parse(restored.toJSON(null, true) as string)).toEqual(json);
    restored.setWeights(model.getWeights());
    expect(restored.getWeights().map((w) => w.shape)).toEqual([
      [3, 4, 2],
      [1, 8, 3],
      [3],
      [2, 3, 1],
      [1, 3, 2],
      [2],
    ]);
    const x = tfc.tensor3d(randomArray(new Random(8), 2 * 11 * 4), [2, 11, 4]);
    const a = model.predict(x) as tfc.Tensor;
    const b = restored.predict(x) as tfc.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  });

  it('loads a Keras-written config (Conv keys groups and kernel_* included)', async () => {
    const kerasLayer = {
      class_name: 'SeparableConv1D',
      config: {
        name: 'separable_conv1d',
        trainable: true,
        dtype: 'float32',
        batch_input_shape: [null, 10, 3],
        filters: 4,
        kernel_size: [3],
        strides: [1],
        padding: 'valid',
        data_format: 'channels_last',
        dilation_rate: [1],
        groups: 1,
        activation: 'linear',
        use_bias: true,
        kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
        bias_initializer: { class_name: 'Zeros', config: {} },
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
        depth_multiplier: 1,
        depthwise_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
        pointwise_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
        depthwise_regularizer: null,
        pointwise_regularizer: null,
        depthwise_constraint: null,
        pointwise_constraint: null,
      },
    };
    const model = (await tfl.models.modelFromJSON({
      modelTopology: { class_name: 'Sequential', config: { name: 'keras', layers: [kerasLayer] } },
    })) as tfl.LayersModel;
    expect(model.layers[0]).toBeInstanceOf(SeparableConv1D);
    expect(model.outputs[0].shape).toEqual([null, 8, 4]);
  });

  it('rejects bad options with typed errors naming the option', () => {
    expect(() => separableConv1d({ filters: 2, kernelSize: 3, strides: 2, dilationRate: 2 })).toThrow(
      /strides and dilationRate/,
    );
    expect(() => separableConv1d({ filters: 2, kernelSize: [3, 3] })).toThrow(ConfigError);
    expect(() => separableConv1d({ filters: 2, kernelSize: 3, depthMultiplier: 0 })).toThrow(
      /depthMultiplier/,
    );
    expect(() => separableConv1d({ filters: 2, kernelSize: 3, groups: 2 })).toThrow(/groups/);
    expect(() =>
      separableConv1d({ filters: 2, kernelSize: 3, depthwiseInitialiser: 'zeros' } as unknown as Parameters<
        typeof separableConv1d
      >[0]),
    ).toThrow(/unknown option: received "depthwiseInitialiser"/);
  });
});

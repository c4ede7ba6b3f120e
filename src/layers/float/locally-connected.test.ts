import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// lowbit's backend module (as lowbit users get it): wasm training kernels and matMul overrides.
import '../../backend/index.js';
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ShapeError, UnsupportedError } from '../../errors.js';
// lowbit's quantizers register themselves as activations ('ste_sign').
import '../../quantizers/index.js';
import { Random } from '../../util/random.js';
import {
  LocallyConnected1D,
  LocallyConnected2D,
  type LocallyConnectedBase,
  locallyConnected1d,
  locallyConnected2d,
} from './locally-connected.js';

// ---------------------------------------------------------------------------------------------
// Naive reference: Keras' local_conv written as plain loops over Float32Arrays, no tfjs ops.
// A 1-D case is the 2-D one with H = 1 and kh = sh = 1 (identical memory layouts, see below).
// ---------------------------------------------------------------------------------------------

interface Case {
  b: number;
  h: number;
  w: number;
  c: number;
  f: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padding: 'valid' | 'same';
  dataFormat: 'channelsLast' | 'channelsFirst';
  useBias: boolean;
}

function outLen(n: number, k: number, s: number, padding: 'valid' | 'same'): number {
  return Math.ceil((padding === 'same' ? n : n - k + 1) / s);
}

function geometry(t: Case) {
  const oh = outLen(t.h, t.kh, t.sh, t.padding);
  const ow = outLen(t.w, t.kw, t.sw, t.padding);
  // Keras conv_connected_inputs: 'same' windows start at o s - floor(k / 2).
  const ph = t.padding === 'same' ? Math.floor(t.kh / 2) : 0;
  const pw = t.padding === 'same' ? Math.floor(t.kw / 2) : 0;
  return { oh, ow, ph, pw, p: oh * ow, k: t.kh * t.kw * t.c };
}

function xIndex(t: Case, b: number, i: number, j: number, ch: number): number {
  return t.dataFormat === 'channelsLast'
    ? ((b * t.h + i) * t.w + j) * t.c + ch
    : ((b * t.c + ch) * t.h + i) * t.w + j;
}

/** Visits every (output element, kernel element, input element) product of the layer. */
function visit(
  t: Case,
  fn: (yIdx: number, kIdx: number, xIdx: number, biasIdx: number, isFirstTerm: boolean) => void,
): void {
  const g = geometry(t);
  const cl = t.dataFormat === 'channelsLast';
  for (let b = 0; b < t.b; b++)
    for (let i = 0; i < g.oh; i++)
      for (let j = 0; j < g.ow; j++)
        for (let f = 0; f < t.f; f++) {
          const p = i * g.ow + j;
          const yIdx = cl ? ((b * g.oh + i) * g.ow + j) * t.f + f : ((b * t.f + f) * g.oh + i) * g.ow + j;
          // Keras bias_add: channelsLast bias[i, j, f]; channelsFirst reshapes the raw data to [F, oh, ow].
          const biasIdx = cl ? p * t.f + f : f * g.p + p;
          let first = true;
          for (let di = 0; di < t.kh; di++)
            for (let dj = 0; dj < t.kw; dj++)
              for (let ch = 0; ch < t.c; ch++) {
                const q = cl ? (di * t.kw + dj) * t.c + ch : (ch * t.kh + di) * t.kw + dj;
                const ii = i * t.sh + di - g.ph;
                const jj = j * t.sw + dj - g.pw;
                const inside = ii >= 0 && ii < t.h && jj >= 0 && jj < t.w;
                fn(yIdx, (p * g.k + q) * t.f + f, inside ? xIndex(t, b, ii, jj, ch) : -1, biasIdx, first);
                first = false;
              }
        }
}

function naiveForward(
  t: Case,
  x: Float32Array,
  kernel: Float32Array,
  bias: Float32Array | null,
): Float64Array {
  const g = geometry(t);
  const y = new Float64Array(t.b * g.p * t.f);
  visit(t, (yi, ki, xi, bi, first) => {
    if (first && bias) y[yi] += bias[bi];
    if (xi >= 0) y[yi] += x[xi] * kernel[ki];
  });
  return y;
}

/** Analytic gradients of sum(y * upstream) with respect to x, kernel and bias. */
function naiveBackward(t: Case, x: Float32Array, kernel: Float32Array, upstream: Float32Array) {
  const g = geometry(t);
  const dx = new Float64Array(x.length);
  const dk = new Float64Array(kernel.length);
  const db = new Float64Array(g.p * t.f);
  visit(t, (yi, ki, xi, bi, first) => {
    if (first) db[bi] += upstream[yi];
    if (xi >= 0) {
      dx[xi] += kernel[ki] * upstream[yi];
      dk[ki] += x[xi] * upstream[yi];
    }
  });
  return { dx, dk, db };
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

function inputShape(t: Case, rank: 1 | 2): number[] {
  if (rank === 1) return t.dataFormat === 'channelsLast' ? [t.b, t.w, t.c] : [t.b, t.c, t.w];
  return t.dataFormat === 'channelsLast' ? [t.b, t.h, t.w, t.c] : [t.b, t.c, t.h, t.w];
}

function makeLayer(t: Case, rank: 1 | 2): LocallyConnectedBase {
  const common = {
    filters: t.f,
    padding: t.padding,
    dataFormat: t.dataFormat,
    useBias: t.useBias,
    // Non-zero bias so that its layout is actually tested.
    biasInitializer: 'randomNormal' as const,
  };
  return rank === 1
    ? locallyConnected1d({ ...common, kernelSize: t.kw, strides: t.sw })
    : locallyConnected2d({ ...common, kernelSize: [t.kh, t.kw], strides: [t.sh, t.sw] });
}

// Shapes that are not multiples of 8, odd and even kernels, unit and non-unit strides.
const SHAPES_2D = [
  { b: 2, h: 5, w: 7, c: 3, f: 4, kh: 3, kw: 2, sh: 1, sw: 1 },
  { b: 3, h: 7, w: 6, c: 2, f: 3, kh: 2, kw: 3, sh: 2, sw: 3 },
  { b: 1, h: 6, w: 5, c: 5, f: 2, kh: 3, kw: 3, sh: 2, sw: 2 },
];
const SHAPES_1D = [
  { b: 2, h: 1, w: 9, c: 3, f: 4, kh: 1, kw: 3, sh: 1, sw: 1 },
  { b: 3, h: 1, w: 10, c: 2, f: 3, kh: 1, kw: 4, sh: 1, sw: 3 },
  { b: 2, h: 1, w: 7, c: 5, f: 2, kh: 1, kw: 2, sh: 1, sw: 2 },
];

function allCases(shapes: typeof SHAPES_2D): Case[] {
  const out: Case[] = [];
  for (const s of shapes)
    for (const padding of ['valid', 'same'] as const)
      for (const dataFormat of ['channelsLast', 'channelsFirst'] as const)
        for (const useBias of [true, false]) out.push({ ...s, padding, dataFormat, useBias });
  return out;
}

const CASES = [
  ...allCases(SHAPES_2D).map((t) => ({ t, rank: 2 as const })),
  ...allCases(SHAPES_1D).map((t) => ({ t, rank: 1 as const })),
];

function label(t: Case, rank: number): string {
  const k = rank === 2 ? `${t.kh}x${t.kw}` : `${t.kw}`;
  const s = rank === 2 ? `${t.sh}x${t.sw}` : `${t.sw}`;
  const sp = rank === 2 ? `${t.h}x${t.w}` : `${t.w}`;
  return `${rank}D in ${sp}x${t.c} k${k} s${s} ${t.padding} ${t.dataFormat} bias=${t.useBias}`;
}

describe.each(['cpu', 'wasm'])('LocallyConnected1D/2D on %s', (backend) => {
  beforeAll(async () => {
    await tfc.setBackend(backend);
    await tfc.ready();
  });

  it.each(CASES.map(({ t, rank }) => ({ name: label(t, rank), t, rank })))(
    'forward and gradients match the naive reference: $name',
    ({ t, rank }) => {
      const rng = new Random(1234 + t.h * 31 + t.w * 7 + t.kh + t.kw * 3);
      const layer = makeLayer(t, rank);
      const shape = inputShape(t, rank);
      const xData = randomArray(
        rng,
        shape.reduce((a, b) => a * b, 1),
      );
      const x = tfc.tensor(xData, shape);
      const y = layer.apply(x) as tfc.Tensor;
      const g = geometry(t);
      const kernelData = layer.kernel!.read().dataSync() as Float32Array;
      const biasData = layer.bias ? (layer.bias.read().dataSync() as Float32Array) : null;

      // Weight shapes as Keras stores them.
      expect(layer.kernel!.shape).toEqual([g.p, (rank === 2 ? t.kh : 1) * t.kw * t.c, t.f]);
      if (t.useBias) expect(layer.bias!.shape).toEqual(rank === 2 ? [g.oh, g.ow, t.f] : [g.ow, t.f]);
      else expect(layer.bias).toBeNull();
      const spatial = rank === 2 ? [g.oh, g.ow] : [g.ow];
      const expectedShape = t.dataFormat === 'channelsLast' ? [t.b, ...spatial, t.f] : [t.b, t.f, ...spatial];
      expect(y.shape).toEqual(expectedShape);
      expect(layer.computeOutputShape(shape)).toEqual(expectedShape);
      expectClose(y.dataSync(), naiveForward(t, xData, kernelData, biasData));

      const upstreamData = randomArray(rng, y.size);
      const upstream = tfc.tensor(upstreamData, y.shape);
      const loss = (input: tfc.Tensor) => tfc.sum(tfc.mul(layer.apply(input) as tfc.Tensor, upstream));
      const dx = tfc.grad(loss)(x);
      const vars = [layer.kernel!.read() as tfc.Variable];
      if (layer.bias) vars.push(layer.bias.read() as tfc.Variable);
      const { grads } = tfc.variableGrads(() => loss(x) as tfc.Scalar, vars);
      const ref = naiveBackward(t, xData, kernelData, upstreamData);
      expectClose(dx.dataSync(), ref.dx);
      expectClose(grads[vars[0].name].dataSync(), ref.dk);
      if (layer.bias) expectClose(grads[vars[1].name].dataSync(), ref.db);
      tfc.dispose([x, y, upstream, dx, ...Object.values(grads)]);
      layer.dispose();
    },
  );

  it('with the same kernel at every position equals tf.conv2d (valid, strided): an independent check', () => {
    const rng = new Random(7);
    const [b, h, w, c, f, kh, kw, sh, sw] = [2, 9, 8, 3, 5, 3, 2, 2, 3];
    const layer = locallyConnected2d({ filters: f, kernelSize: [kh, kw], strides: [sh, sw], useBias: false });
    const x = tfc.tensor4d(randomArray(rng, b * h * w * c), [b, h, w, c]);
    layer.apply(x);
    const convKernel = tfc.tensor4d(randomArray(rng, kh * kw * c * f), [kh, kw, c, f]);
    const positions = layer.kernel!.shape[0] as number;
    // [kh, kw, C, F] flattened row-major is exactly the channelsLast feature order (di kw + dj) C + c.
    const shared = tfc.tile(tfc.reshape(convKernel, [1, kh * kw * c, f]), [positions, 1, 1]);
    layer.setWeights([shared]);
    const expected = tfc.conv2d(x, convKernel, [sh, sw], 'valid');
    const actual = layer.apply(x) as tfc.Tensor;
    expect(actual.shape).toEqual(expected.shape);
    expectClose(actual.dataSync(), expected.dataSync());
    tfc.dispose([x, convKernel, shared, expected, actual]);
  });

  it('applies the activation and leaks no tensors', () => {
    const layer = locallyConnected1d({
      filters: 3,
      kernelSize: 2,
      activation: 'relu',
      biasInitializer: 'ones',
    });
    const x = tfc.tensor3d(randomArray(new Random(3), 2 * 5 * 2), [2, 5, 2]);
    layer.apply(x); // build
    const before = tfc.memory().numTensors;
    const y = layer.apply(x) as tfc.Tensor;
    expect(tfc.memory().numTensors).toBe(before + 1);
    expect(Math.min(...y.dataSync())).toBeGreaterThanOrEqual(0);
    const t: Case = {
      b: 2,
      h: 1,
      w: 5,
      c: 2,
      f: 3,
      kh: 1,
      kw: 2,
      sh: 1,
      sw: 1,
      padding: 'valid',
      dataFormat: 'channelsLast',
      useBias: true,
    };
    const ref = naiveForward(
      t,
      x.dataSync() as Float32Array,
      layer.kernel!.read().dataSync() as Float32Array,
      layer.bias!.read().dataSync() as Float32Array,
    ).map((v) => Math.max(0, v));
    expectClose(y.dataSync(), ref);
    tfc.dispose([x, y]);
  });

  it('reads the kernel through exactly one kernel.read() per call, so a subclass can substitute it', () => {
    // The contract lowbit's quantized layers rely on: replace read() during call, get that kernel used.
    const t: Case = {
      b: 2,
      h: 6,
      w: 5,
      c: 2,
      f: 3,
      kh: 2,
      kw: 3,
      sh: 2,
      sw: 1,
      padding: 'same',
      dataFormat: 'channelsLast',
      useBias: true,
    };
    const layer = makeLayer(t, 2);
    const xData = randomArray(new Random(17), t.b * t.h * t.w * t.c);
    const x = tfc.tensor4d(xData, [t.b, t.h, t.w, t.c]);
    layer.apply(x);
    const kernel = layer.kernel!;
    const latent = kernel.read();
    let reads = 0;
    const original = kernel.read.bind(kernel);
    kernel.read = () => {
      reads++;
      return tfc.sign(original());
    };
    const y = layer.apply(x) as tfc.Tensor;
    kernel.read = original;
    expect(reads).toBe(1);
    const signKernel = Float32Array.from(latent.dataSync(), (v) => Math.sign(v));
    const ref = naiveForward(t, xData, signKernel, layer.bias!.read().dataSync() as Float32Array);
    expectClose(y.dataSync(), ref);
    tfc.dispose([x, y]);
  });

  it("accepts a lowbit quantizer as activation: activation 'ste_sign' gives sign of the output", () => {
    const layer = locallyConnected1d({
      filters: 2,
      kernelSize: 3,
      activation: 'ste_sign',
      biasInitializer: 'randomNormal',
    });
    const x = tfc.tensor3d(randomArray(new Random(23), 2 * 7 * 3), [2, 7, 3]);
    const y = layer.apply(x) as tfc.Tensor;
    const t: Case = {
      b: 2,
      h: 1,
      w: 7,
      c: 3,
      f: 2,
      kh: 1,
      kw: 3,
      sh: 1,
      sw: 1,
      padding: 'valid',
      dataFormat: 'channelsLast',
      useBias: true,
    };
    const pre = naiveForward(
      t,
      x.dataSync() as Float32Array,
      layer.kernel!.read().dataSync() as Float32Array,
      layer.bias!.read().dataSync() as Float32Array,
    );
    // Larq's sign: sign(0) = 1.
    expect(Array.from(y.dataSync())).toEqual(Array.from(pre, (v) => (v >= 0 ? 1 : -1)));
    tfc.dispose([x, y]);
  });

  it('trains: a tiny model.fit lowers the loss', async () => {
    const rng = new Random(11);
    const n = 32;
    const x = tfc.tensor4d(randomArray(rng, n * 6 * 5 * 2), [n, 6, 5, 2]);
    const yTrue = tfc.tensor2d(randomArray(rng, n * 2), [n, 2]);
    const model = tfl.sequential({
      layers: [
        locallyConnected2d({ filters: 3, kernelSize: [3, 2], strides: [1, 2], inputShape: [6, 5, 2] }),
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

describe('LocallyConnected config and serialization', () => {
  beforeAll(async () => {
    await tfc.setBackend('cpu');
  });

  it('registers its classes under their Keras names and round-trips getConfig/fromConfig', () => {
    const map = tfc.serialization.SerializationMap.getMap().classNameMap;
    expect(map.LocallyConnected1D[0]).toBe(LocallyConnected1D);
    expect(map.LocallyConnected2D[0]).toBe(LocallyConnected2D);
    const layer = locallyConnected2d({
      filters: 4,
      kernelSize: [3, 2],
      strides: 2,
      padding: 'same',
      dataFormat: 'channelsFirst',
      activation: 'tanh',
      useBias: false,
      kernelInitializer: 'heNormal',
      kernelRegularizer: 'l1l2',
      kernelConstraint: 'nonNeg',
      name: 'lc',
    });
    const config = layer.getConfig();
    expect(config).toMatchObject({
      name: 'lc',
      filters: 4,
      kernelSize: [3, 2],
      strides: [2, 2],
      padding: 'same',
      dataFormat: 'channelsFirst',
      activation: 'tanh',
      useBias: false,
      implementation: 1,
      kernelConstraint: { className: 'NonNeg' },
      kernelRegularizer: { className: 'L1L2' },
    });
    // fromConfig adds customObjects to nested configs in place: compare with an untouched copy.
    const copy = LocallyConnected2D.fromConfig(
      LocallyConnected2D,
      structuredClone(config),
    ) as LocallyConnected2D;
    expect(copy).toBeInstanceOf(LocallyConnected2D);
    expect(copy.getConfig()).toEqual(config);
  });

  it('survives model.toJSON -> modelFromJSON with setWeights (snake_case topology round trip)', async () => {
    const rng = new Random(5);
    const model = tfl.sequential({
      layers: [
        locallyConnected1d({
          filters: 3,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          inputShape: [4, 9],
          dataFormat: 'channelsFirst',
          biasInitializer: 'randomUniform',
        }),
        locallyConnected1d({ filters: 2, kernelSize: 2, activation: 'relu', dataFormat: 'channelsFirst' }),
        tfl.layers.flatten(),
      ],
    });
    const json = JSON.parse(model.toJSON(null, true) as string);
    // Keras-style topology: snake_case keys and class names as Keras writes them.
    const lcJson = json.config.layers[0];
    expect(lcJson.class_name).toBe('LocallyConnected1D');
    expect(lcJson.config.kernel_size).toEqual([3]);
    expect(lcJson.config.data_format).toBe('channels_first');
    const restored = (await tfl.models.modelFromJSON(json)) as tfl.LayersModel;
    expect(restored.layers[0]).toBeInstanceOf(LocallyConnected1D);
    // The topology written again from the restored model is the same JSON.
    expect(JSON.parse(restored.toJSON(null, true) as string)).toEqual(json);
    restored.setWeights(model.getWeights());
    const x = tfc.tensor3d(randomArray(rng, 3 * 4 * 9), [3, 4, 9]);
    const a = model.predict(x) as tfc.Tensor;
    const b = restored.predict(x) as tfc.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tfc.dispose([x, a, b]);
  });

  it('loads a LocallyConnected2D config as Keras 2 writes it', async () => {
    const kerasLayer = {
      class_name: 'LocallyConnected2D',
      config: {
        name: 'locally_connected2d',
        trainable: true,
        dtype: 'float32',
        batch_input_shape: [null, 3, 6, 5],
        filters: 4,
        kernel_size: [2, 3],
        strides: [1, 2],
        padding: 'valid',
        data_format: 'channels_first',
        activation: 'relu',
        use_bias: true,
        kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
        bias_initializer: { class_name: 'Zeros', config: {} },
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
        implementation: 1,
      },
    };
    const model = (await tfl.models.modelFromJSON({
      modelTopology: { class_name: 'Sequential', config: { name: 'keras', layers: [kerasLayer] } },
    })) as tfl.LayersModel;
    const layer = model.layers[0] as LocallyConnected2D;
    expect(layer).toBeInstanceOf(LocallyConnected2D);
    expect(layer.dataFormat).toBe('channelsFirst');
    // channels_first [3, 6, 5], kernel 2x3, strides 1x2 -> output [4, 5, 2]; kernel [10, 2*3*3, 4].
    expect(model.outputs[0].shape).toEqual([null, 4, 5, 2]);
    expect(layer.kernel!.shape).toEqual([10, 18, 4]);
    expect(layer.bias!.shape).toEqual([5, 2, 4]);
  });

  it('rejects bad options with typed errors naming the option', () => {
    expect(() => locallyConnected2d({ filters: 0, kernelSize: 3 })).toThrow(ConfigError);
    expect(() => locallyConnected2d({ filters: 2, kernelSize: [3, 3, 3] })).toThrow(/kernelSize/);
    expect(() => locallyConnected2d({ filters: 2, kernelSize: 3, padding: 'causal' as 'same' })).toThrow(
      /padding: received "causal"; expected one of valid, same/,
    );
    expect(() => locallyConnected1d({ filters: 2, kernelSize: 3, kernelInitializer: 'noSuchInit' })).toThrow(
      /kernelInitializer/,
    );
    expect(() =>
      locallyConnected1d({ filters: 2, kernelSize: 3, kernelInitialiser: 'zeros' } as unknown as Parameters<
        typeof locallyConnected1d
      >[0]),
    ).toThrow(/unknown option: received "kernelInitialiser"/);
    expect(() => locallyConnected2d({ filters: 2, kernelSize: 3, implementation: 2 })).toThrow(
      UnsupportedError,
    );
    const layer = locallyConnected2d({ filters: 2, kernelSize: 4 });
    expect(() => layer.apply(tfc.zeros([1, 3, 5, 1]))).toThrow(ShapeError);
    // Built for one spatial size, called with another: the kernel no longer fits.
    const built = locallyConnected2d({ filters: 2, kernelSize: 2 });
    built.apply(tfc.zeros([1, 4, 4, 1]));
    expect(() => built.apply(tfc.zeros([1, 5, 4, 1]))).toThrow(
      /localConv2d kernel: received shape \[9, 4, 2\]/,
    );
  });
});

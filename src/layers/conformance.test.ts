/**
 * Conformance of every registered quantized layer, on the cpu and wasm backends:
 * - with every quantizer null it computes exactly what its float tfjs twin computes;
 * - with ste_sign it equals the float layer run on sign(kernels) and sign(input) (padded with padValues);
 * - gradients of the latent weights and the input agree between cpu and wasm;
 * - getConfig/fromConfig and model JSON (snake_case) round trips give the same outputs.
 * A registered layer without a case fails the completeness test.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import '../quantizers/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../util/random.js';
import { type QuantizedLayerClass, registeredLayers } from './index.js';

interface LayerCase {
  name: string;
  /** Float-layer options (no quantizers). */
  args: Record<string, unknown>;
  /** Input shape including the batch. */
  input: number[];
  /** Pad value for the ste_sign comparison with padding 'same'. */
  padValues?: number;
  /** Why gradients are not compared, when they cannot be (a known gap of tfjs). */
  noGradients?: string;
}

const CASES: Record<string, LayerCase[]> = {
  QuantDense: [{ name: 'units 7 on 13 features', args: { units: 7 }, input: [3, 13] }],
  QuantConv1D: [
    { name: 'valid', args: { filters: 5, kernelSize: 3 }, input: [2, 11, 3] },
    {
      name: 'same stride 2 pad 1',
      args: { filters: 4, kernelSize: 4, strides: 2, padding: 'same' },
      input: [2, 9, 3],
      padValues: 1,
    },
    { name: 'causal', args: { filters: 3, kernelSize: 3, padding: 'causal' }, input: [1, 7, 2] },
  ],
  QuantConv2D: [
    { name: 'valid', args: { filters: 5, kernelSize: 3 }, input: [2, 7, 9, 3] },
    {
      name: 'same pad 1',
      args: { filters: 5, kernelSize: 3, padding: 'same' },
      input: [2, 7, 9, 3],
      padValues: 1,
    },
    {
      name: 'same stride 2 pad 1, even kernel',
      args: { filters: 3, kernelSize: [2, 4], strides: 2, padding: 'same' },
      input: [1, 7, 6, 2],
      padValues: 1,
    },
    {
      name: 'same dilation 2 pad 0',
      args: { filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' },
      input: [1, 9, 8, 2],
      noGradients: 'tfjs 4.22 has no conv2d gradient for dilation > 1 on any backend',
    },
    {
      name: 'channelsFirst same pad 1',
      args: { filters: 3, kernelSize: 3, padding: 'same', dataFormat: 'channelsFirst' },
      input: [1, 2, 6, 5],
      padValues: 1,
    },
  ],
  QuantConv3D: [
    { name: 'valid', args: { filters: 3, kernelSize: 2 }, input: [1, 4, 5, 3, 2] },
    {
      name: 'same pad 1',
      args: { filters: 2, kernelSize: 3, padding: 'same' },
      input: [1, 4, 3, 5, 2],
      padValues: 1,
    },
  ],
  QuantDepthwiseConv2D: [
    { name: 'valid multiplier 2', args: { kernelSize: 3, depthMultiplier: 2 }, input: [2, 7, 6, 3] },
    {
      name: 'same stride 2 pad 1',
      args: { kernelSize: 3, strides: 2, padding: 'same' },
      input: [1, 7, 6, 3],
      padValues: 1,
    },
  ],
  QuantSeparableConv1D: [
    { name: 'valid', args: { filters: 4, kernelSize: 3 }, input: [2, 10, 3] },
    {
      name: 'same pad 1',
      args: { filters: 4, kernelSize: 3, padding: 'same', depthMultiplier: 2 },
      input: [2, 9, 3],
      padValues: 1,
    },
  ],
  QuantSeparableConv2D: [
    { name: 'valid', args: { filters: 4, kernelSize: 3 }, input: [2, 7, 6, 3] },
    {
      name: 'same pad 1',
      args: { filters: 5, kernelSize: 3, padding: 'same', depthMultiplier: 2 },
      input: [1, 6, 7, 3],
      padValues: 1,
    },
  ],
  QuantConv2DTranspose: [
    { name: 'valid stride 2', args: { filters: 4, kernelSize: 3, strides: 2 }, input: [2, 5, 6, 3] },
    { name: 'same', args: { filters: 3, kernelSize: 3, padding: 'same' }, input: [1, 5, 4, 2] },
  ],
  QuantConv3DTranspose: [
    { name: 'valid stride 2', args: { filters: 3, kernelSize: 2, strides: 2 }, input: [1, 3, 4, 3, 2] },
  ],
  QuantLocallyConnected1D: [
    { name: 'valid stride 2', args: { filters: 3, kernelSize: 3, strides: 2 }, input: [2, 11, 3] },
  ],
  QuantLocallyConnected2D: [{ name: 'valid', args: { filters: 3, kernelSize: [2, 3] }, input: [2, 5, 6, 2] }],
};

type Layer = tfl.layers.Layer & { kernelQuantizers: Record<string, unknown> };

function uniform(rng: Random, shape: number[], scale: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * scale),
    shape,
  );
}

/** sign with sign(0) = +1, on plain numbers (independent of lowbit's implementation). */
function signOf(t: tf.Tensor): tf.Tensor {
  return tf.tensor(
    Float32Array.from(t.dataSync(), (v) => (v >= 0 ? 1 : -1)),
    t.shape,
  );
}

/** Keras 'same' padding amounts for one axis. */
function samePad(size: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function asList(v: unknown, n: number): number[] {
  return Array.isArray(v) ? (v as number[]) : Array(n).fill((v as number | undefined) ?? 1);
}

/**
 * The input the float twin must see to reproduce the quantized layer: padded explicitly with
 * `pad` for 'same' (when pad != 0), or with zeros on the left for 'causal' (tfjs has no causal
 * conv1d), together with the float layer's options ('valid' padding then).
 */
function explicitlyPadded(
  c: LayerCase,
  x: tf.Tensor,
  pad: number,
): { x: tf.Tensor; args: Record<string, unknown> } {
  const rank = c.input.length - 2;
  const k = asList(c.args.kernelSize, rank);
  const s = asList(c.args.strides, rank);
  const d = asList(c.args.dilationRate, rank);
  const first = c.args.dataFormat === 'channelsFirst' ? 2 : 1;
  const spatial = (axis: number) => axis >= first && axis < first + rank;
  if (c.args.padding === 'causal') {
    const paddings = c.input.map((_, axis) => (spatial(axis) ? [(k[0] - 1) * d[0], 0] : [0, 0])) as Array<
      [number, number]
    >;
    return { x: tf.pad(x, paddings, 0), args: { ...c.args, padding: 'valid' } };
  }
  if (c.args.padding !== 'same' || pad === 0) return { x, args: c.args };
  const paddings = c.input.map((size, axis) =>
    spatial(axis) ? samePad(size, k[axis - first], s[axis - first], d[axis - first]) : [0, 0],
  ) as Array<[number, number]>;
  return { x: tf.pad(x, paddings, pad), args: { ...c.args, padding: 'valid' } };
}

/** The float twin class: the class the quantized mixin extends. */
function floatClass(cls: QuantizedLayerClass): new (args: unknown) => tfl.layers.Layer {
  return Object.getPrototypeOf(Object.getPrototypeOf(cls));
}

/** A quantized layer with random latent weights, built for the case's input shape. */
function makeLayer(cls: QuantizedLayerClass, c: LayerCase, quantizer: string | null, padValues = 0): Layer {
  const probe = new cls(c.args) as Layer;
  const quantizers: Record<string, unknown> = { inputQuantizer: quantizer };
  for (const option of Object.keys(probe.kernelQuantizers)) quantizers[option] = quantizer;
  const usesPad = c.args.padding === 'same' && 'padValues' in probe.getConfig();
  const layer = new cls({ ...c.args, ...quantizers, ...(usesPad ? { padValues } : {}) }) as Layer;
  layer.build(c.input);
  const rng = new Random(7);
  layer.setWeights(layer.getWeights().map((w) => uniform(rng, w.shape as number[], 1.5)));
  return layer;
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor, tol: number): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i] - e[i]) / Math.max(1, Math.abs(e[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('quantized layer registry completeness', () => {
  it('every registered quantized layer has a conformance case', () => {
    const missing = registeredLayers()
      .map((cls) => cls.className)
      .filter((name) => !(CASES[name]?.length > 0));
    expect(missing).toEqual([]);
  });
});

const gradientsOnCpu = new Map<string, Float32Array[]>();

for (const backend of ['cpu', 'wasm']) {
  describe(`quantized layers on ${backend}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
      await tf.ready();
    });

    for (const cls of registeredLayers()) {
      for (const c of CASES[cls.className] ?? []) {
        const id = `${cls.className} ${c.name}`;
        const input = () => uniform(new Random(11), c.input, 1.5);

        it(`${id}: with null quantizers equals the float twin`, () => {
          const x = input();
          const q = makeLayer(cls, c, null);
          const twin = explicitlyPadded(c, x, 0);
          const f = new (floatClass(cls))(twin.args);
          f.build(twin.x.shape);
          f.setWeights(q.getWeights());
          expectClose(q.apply(x) as tf.Tensor, f.apply(twin.x) as tf.Tensor, 1e-5);
        });

        it(`${id}: with ste_sign equals the float layer on sign(kernels) and sign(input)`, () => {
          const x = input();
          const pad = c.padValues ?? 0;
          const q = makeLayer(cls, c, 'ste_sign', pad);
          const kernelNames = Object.keys(q.kernelQuantizers).map((o) => o.replace('Quantizer', ''));
          const isKernel = (w: tfl.LayerVariable) =>
            kernelNames.some((k) => {
              const name = k === 'kernel' ? 'kernel' : `${k}_kernel`;
              return w.originalName === name || w.originalName.endsWith(`/${name}`);
            });
          const twin = explicitlyPadded(c, signOf(x), pad);
          const f = new (floatClass(cls))(twin.args);
          f.build(twin.x.shape);
          expect(q.weights.filter(isKernel).length).toBe(kernelNames.length);
          f.setWeights(q.weights.map((w) => (isKernel(w) ? signOf(w.read()) : w.read())));
          expectClose(q.apply(x) as tf.Tensor, f.apply(twin.x) as tf.Tensor, 1e-5);
        });

        it.skipIf(c.noGradients)(`${id}: gradients of latent weights and input match across backends`, () => {
          const x = input();
          const q = makeLayer(cls, c, 'ste_sign', c.padValues ?? 0);
          const out = q.apply(x) as tf.Tensor;
          const r = uniform(new Random(5), out.shape as number[], 1);
          const vars = q.trainableWeights.map((w) => w.read() as tf.Variable);
          const { grads } = tf.variableGrads(
            () => tf.sum(tf.mul(q.apply(x) as tf.Tensor, r)) as tf.Scalar,
            vars,
          );
          const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(q.apply(t) as tf.Tensor, r)))(x);
          const values = [
            ...vars.map((v) => grads[v.name].dataSync() as Float32Array),
            dx.dataSync() as Float32Array,
          ];
          // The STE must let some gradient through: a test on all-zero gradients would prove nothing.
          expect(values.every((g) => g.some((v) => v !== 0))).toBe(true);
          if (backend === 'cpu') {
            gradientsOnCpu.set(id, values);
          } else {
            const reference = gradientsOnCpu.get(id)!;
            values.forEach((g, i) => {
              expectClose(tf.tensor(g), tf.tensor(reference[i]), 1e-4);
            });
          }
        });

        it(`${id}: config and model JSON round trips give the same outputs`, async () => {
          const x = input();
          const q = makeLayer(cls, c, 'ste_sign', c.padValues ?? 0);
          const serialized = JSON.stringify(q.getConfig());
          const again = (
            cls as unknown as { fromConfig: (c: unknown, d: unknown) => tfl.layers.Layer }
          ).fromConfig(cls, JSON.parse(serialized));
          again.build(c.input);
          again.setWeights(q.getWeights());
          expectClose(again.apply(x) as tf.Tensor, q.apply(x) as tf.Tensor, 0);
          expect(JSON.stringify(again.getConfig())).toBe(serialized);

          const model = tfl.sequential({
            layers: [tfl.layers.inputLayer({ batchInputShape: [null, ...c.input.slice(1)] }), q],
          });
          const json = JSON.parse(JSON.stringify(model.toJSON(null, false)));
          expect(JSON.stringify(json)).toContain('"input_quantizer":{"class_name":"SteSign"');
          const loaded = await tfl.models.modelFromJSON(json);
          loaded.setWeights(model.getWeights());
          expectClose(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor, 0);
        });
      }
    }
  });
}

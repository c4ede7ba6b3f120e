import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fusedAdamAvailable } from '../backend/index.js';
import { seededValues } from '../backend/testing.js';
import { ShapeError } from '../errors.js';
import { FusedAdamOptimizer } from './fused-adam.js';
import { larqAdam } from './train.js';

// Sizes not multiples of the SIMD width, a scalar-like vector and a larger matrix.
const SHAPES = [[37, 29], [5], [3, 1], [130, 64]];

/** Runs `steps` Adam steps with the same seeded gradients; returns variables and m, v after them. */
async function run(make: () => tf.Optimizer, steps: number): Promise<Float32Array[]> {
  const vars = SHAPES.map((s, i) =>
    tf.variable(tf.tensor(seededValues(s, 10 + i), s), true, `w${i}_${Math.random()}`),
  );
  const opt = make();
  for (let t = 0; t < steps; t++) {
    const grads = vars.map((v, i) => ({
      name: v.name,
      tensor: tf.mul(tf.tensor(seededValues(v.shape, 100 * t + i), v.shape), t % 2 === 0 ? 1 : 1e-3),
    }));
    opt.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
  }
  const state = (await opt.getWeights()).slice(1).map((w) => w.tensor);
  const out = await Promise.all([...vars, ...state].map(async (t) => Float32Array.from(await t.data())));
  tf.dispose(vars);
  opt.dispose();
  return out;
}

describe('FusedAdamOptimizer', () => {
  it('on wasm runs the fused kernel and gives exactly tfjs Adam values (weights, m and v, 6 steps)', async () => {
    await tf.setBackend('wasm');
    expect(fusedAdamAvailable()).toBe(true);
    const stock = await run(() => tf.train.adam(1e-3, 0.9, 0.999, 1e-7), 6);
    const fused = await run(() => new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-7), 6);
    expect(fused.length).toBe(stock.length);
    for (let i = 0; i < stock.length; i++) expect(Array.from(fused[i]!)).toEqual(Array.from(stock[i]!));
  });

  it('with other hyperparameters too (lr 0.05, beta1 0.5, beta2 0.9, eps 1e-3)', async () => {
    await tf.setBackend('wasm');
    const stock = await run(() => tf.train.adam(0.05, 0.5, 0.9, 1e-3), 3);
    const fused = await run(() => new FusedAdamOptimizer(0.05, 0.5, 0.9, 1e-3), 3);
    for (let i = 0; i < stock.length; i++) expect(Array.from(fused[i]!)).toEqual(Array.from(stock[i]!));
  });

  it('on cpu is tfjs Adam itself', async () => {
    await tf.setBackend('cpu');
    expect(fusedAdamAvailable()).toBe(false);
    const stock = await run(() => tf.train.adam(1e-3, 0.9, 0.999, 1e-7), 3);
    const fused = await run(() => new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-7), 3);
    for (let i = 0; i < stock.length; i++) expect(Array.from(fused[i]!)).toEqual(Array.from(stock[i]!));
  });

  it("serializes as tfjs's Adam; larqAdam is one with Keras's defaults", () => {
    const opt = larqAdam();
    expect(opt).toBeInstanceOf(FusedAdamOptimizer);
    expect(opt.getClassName()).toBe('Adam');
    expect(opt.getConfig()).toEqual({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    opt.dispose();
  });

  it('a gradient of the wrong shape is a ShapeError naming the variable', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.zeros([2, 3]), true, `bad_${Math.random()}`);
    const opt = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-7);
    const g = tf.zeros([3, 2]);
    expect(() => opt.applyGradients([{ name: v.name, tensor: g }])).toThrow(ShapeError);
    expect(() => opt.applyGradients([{ name: v.name, tensor: g }])).toThrow(/variable bad_/);
    tf.dispose([v, g]);
    opt.dispose();
  });
});

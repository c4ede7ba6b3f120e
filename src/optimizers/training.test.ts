/**
 * End to end: a small binary network trained with Bop (binary kernels) + Adam (the rest) through a
 * CaseOptimizer learns a separable task, and saving with the optimizer and loading back resumes
 * training exactly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import '../constraints/index.js';
import '../quantizers/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../io/index.js';
import { quantDense } from '../layers/index.js';
import { Random } from '../util/random.js';
import { Bop, CaseOptimizer, isBinaryVariable } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * Seeded two-class data in 10 dimensions: label = [v . x > 0] for a random direction v, keeping
 * only points at distance >= 0.5 from the separating hyperplane.
 */
function separable(n: number, rng: Random, v: number[]): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const norm = Math.hypot(...v);
  const xs: number[] = [];
  const ys: number[] = [];
  while (ys.length < 2 * n) {
    const x = v.map(() => rng.normal());
    const s = x.reduce((a, xi, j) => a + xi * v[j], 0) / norm;
    if (Math.abs(s) < 0.5) continue;
    xs.push(...x);
    ys.push(s > 0 ? 1 : 0, s > 0 ? 0 : 1);
  }
  return { x: tf.tensor2d(xs, [n, v.length]), y: tf.tensor2d(ys, [n, 2]) };
}

/** Larq's small BNN (testing_utils.get_small_bnn_model) with a BatchNormalization before softmax. */
function bnn(seed: number): tfl.Sequential {
  return tfl.sequential({
    layers: [
      quantDense({
        units: 32,
        kernelQuantizer: 'ste_sign',
        kernelConstraint: 'weight_clip',
        kernelInitializer: tfl.initializers.glorotNormal({ seed }),
        activation: 'relu',
        useBias: false,
        inputShape: [10],
      }),
      tfl.layers.batchNormalization(),
      quantDense({
        units: 2,
        inputQuantizer: 'ste_sign',
        kernelQuantizer: 'ste_sign',
        kernelConstraint: 'weight_clip',
        kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + 1 }),
        useBias: false,
      }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: 'softmax' }),
    ],
  });
}

const caseOptimizer = () =>
  new CaseOptimizer([[isBinaryVariable, new Bop({ threshold: 1e-6, gamma: 1e-3 })]], tf.train.adam(0.01));

describe('Bop alone in model.compile', () => {
  const binaryOnly = (useBias: boolean) =>
    tfl.sequential({
      layers: [
        quantDense({
          units: 8,
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
          kernelInitializer: tfl.initializers.glorotNormal({ seed: 5 }),
          useBias,
          inputShape: [10],
        }),
        quantDense({
          units: 2,
          inputQuantizer: 'ste_sign',
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
          kernelInitializer: tfl.initializers.glorotNormal({ seed: 6 }),
          useBias: false,
        }),
      ],
    });

  it('trains a network whose trainable variables are all binary kernels', async () => {
    const rng = new Random(8);
    const v = Array.from({ length: 10 }, () => rng.normal());
    const { x, y } = separable(256, rng, v);
    const model = binaryOnly(false);
    model.compile({ optimizer: new Bop({ threshold: 1e-7, gamma: 1e-2 }), loss: 'meanSquaredError' });
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    await model.fit(x, y, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
    const after = model.getWeights().map((w) => Array.from(w.dataSync()));
    for (const [i, kernel] of after.entries()) {
      expect(kernel.every((w) => w === 1 || w === -1)).toBe(true);
      expect(kernel).not.toEqual(before[i].map((w) => (w >= 0 ? 1 : -1)));
    }
  });

  it('a float variable (a bias) makes fit fail with the error naming it', async () => {
    const model = binaryOnly(true);
    model.compile({ optimizer: new Bop(), loss: 'meanSquaredError' });
    const bias = model.layers[0].weights[1].name;
    await expect(model.fit(tf.ones([4, 10]), tf.ones([4, 2]), { epochs: 1, verbose: 0 })).rejects.toThrow(
      /Bop: precision of variable '[^']*bias[^']*': received 32; expected 1/,
    );
    expect(bias).toMatch(/bias/);
  });
});

describe.each(['cpu', 'wasm'])('Bop + Adam through CaseOptimizer on %s', (backend) => {
  let model: tfl.Sequential;
  let test: { x: tf.Tensor2D; y: tf.Tensor2D };
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('learns a separable task: held-out accuracy >= 90% (chance 50%), binary kernels stay +-1', async () => {
    const rng = new Random(2024);
    const v = Array.from({ length: 10 }, () => rng.normal());
    const train = separable(1000, rng, v);
    test = separable(500, rng, v);
    model = bnn(11);
    model.compile({ optimizer: caseOptimizer(), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    await model.fit(train.x, train.y, { epochs: 4, batchSize: 16, shuffle: false, verbose: 0 });

    const [, accuracy] = model.evaluate(test.x, test.y, { batchSize: 500 }) as tf.Scalar[];
    expect(accuracy.dataSync()[0]).toBeGreaterThanOrEqual(0.9);

    // Bop writes +-1: every binary kernel is exactly +-1 (Larq's test_kernels_are_binary).
    for (const layer of [model.layers[0], model.layers[2]]) {
      const kernel = Array.from(layer.getWeights()[0].dataSync());
      expect(kernel.every((w) => w === 1 || w === -1)).toBe(true);
    }
    // Every trainable variable was updated (Larq's check), by its own optimizer.
    const after = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.weights.forEach((w, i) => {
      if (w.trainable) expect(after[i]).not.toEqual(before[i]);
    });
    const optimizer = model.optimizer as CaseOptimizer;
    expect(optimizer.optimizers.map((o) => o.iterations)).toEqual([252, 252]);
  });

  it('model.save with includeOptimizer and load: CaseOptimizer, Bop and Adam state restored, next step identical', async () => {
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
      { includeOptimizer: true },
    );
    const artifacts = JSON.parse(JSON.stringify({ ...saved, weightData: undefined })) as tf.io.ModelArtifacts;
    artifacts.weightData = saved?.weightData;
    expect(artifacts.trainingConfig?.optimizer_config).toEqual({
      class_name: 'CaseOptimizer',
      config: (model.optimizer as CaseOptimizer).getConfig(),
    });
    const optimizerWeights = (artifacts.weightSpecs ?? [])
      .filter((s) => s.group === 'optimizer')
      .map((s) => s.name);
    // CaseOptimizer iter, Bop iter + m of 2 kernels, Adam iter + m and v of 4 BN variables.
    expect(optimizerWeights).toHaveLength(1 + 3 + 9);
    expect(optimizerWeights.filter((n) => n.startsWith('optimizer_0/') && n.endsWith('/m'))).toHaveLength(2);

    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.optimizer).toBeInstanceOf(CaseOptimizer);
    const restored = loaded.optimizer as CaseOptimizer;
    expect(restored.optimizers[0]).toBeInstanceOf(Bop);
    expect(restored.getConfig()).toEqual((model.optimizer as CaseOptimizer).getConfig());
    expect(restored.iterations).toBe(252);

    // The same through lowbit's directory format on disk.
    const dir = await mkdtemp(join(tmpdir(), 'lowbit-optimizers-'));
    try {
      await saveModel(model, dir, { includeOptimizer: true });
      const fromDisk = await loadModel(dir);
      expect(fromDisk.optimizer).toBeInstanceOf(CaseOptimizer);
      expect((fromDisk.optimizer as CaseOptimizer).getConfig()).toEqual(restored.getConfig());
      const diskWeights = await fromDisk.optimizer.getWeights();
      const memoryWeights = await restored.getWeights();
      expect(diskWeights.map((w) => Array.from(w.tensor.dataSync()))).toEqual(
        memoryWeights.map((w) => Array.from(w.tensor.dataSync())),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    // One more step on the same batch: identical weights only if every optimizer state came back.
    const batch = { x: tf.slice(test.x, [0, 0], [64, 10]), y: tf.slice(test.y, [0, 0], [64, 2]) };
    await model.fit(batch.x, batch.y, { epochs: 1, batchSize: 64, shuffle: false, verbose: 0 });
    await loaded.fit(batch.x, batch.y, { epochs: 1, batchSize: 64, shuffle: false, verbose: 0 });
    const a = model.getWeights();
    const b = loaded.getWeights();
    a.forEach((w, i) => {
      const x = Array.from(w.dataSync());
      const y = Array.from(b[i].dataSync());
      x.forEach((xi, j) => {
        expect(y[j]).toBeCloseTo(xi, 5);
      });
    });
  });
});

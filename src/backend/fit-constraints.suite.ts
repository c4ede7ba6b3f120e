/**
 * The fit-constraints conformance suite, run once per backend by fit-constraints.{cpu,wasm}.test.ts
 * (each file runs in its own process).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforceConstraintsDuringFit, stopEnforcingConstraintsDuringFit } from './fit-constraints.js';
import { seededValues } from './testing.js';
import './index.js';

type ConstraintInstance = ReturnType<typeof tfl.constraints.maxNorm>;

/**
 * A clip-to-[-c, c] constraint. tfjs-layers does not export its Constraint base class but layers
 * accept only its instances, so the class is taken from a built-in constraint's prototype chain.
 */
function clipConstraint(c: number): ConstraintInstance {
  const Base = Object.getPrototypeOf(tfl.constraints.nonNeg().constructor) as new () => ConstraintInstance;
  class Clip extends Base {
    static className = 'LowbitTestClip';
    apply(w: tf.Tensor): tf.Tensor {
      return tf.clipByValue(w, -c, c);
    }
    override getConfig() {
      return { c };
    }
  }
  return new Clip();
}

function denseModel(kernelConstraint: ConstraintInstance): tfl.Sequential {
  const model = tfl.sequential();
  model.add(
    tfl.layers.dense({
      inputShape: [6],
      units: 5,
      useBias: false,
      kernelConstraint,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  model.compile({ optimizer: tf.train.sgd(5), loss: 'meanSquaredError' });
  return model;
}

function data(): [tf.Tensor, tf.Tensor] {
  return [
    tf.tensor2d(seededValues([32, 6], 1), [32, 6]),
    tf.mul(tf.tensor2d(seededValues([32, 5], 2), [32, 5]), 10),
  ];
}

async function maxAbsKernel(model: tfl.LayersModel): Promise<number> {
  const w = model.getWeights()[0]!;
  return (await tf.max(tf.abs(w)).data())[0]!;
}

export function fitConstraintsSuite(backend: 'cpu' | 'wasm'): void {
  describe(`weight constraints hold during training on ${backend}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
    });
    afterAll(() => {
      enforceConstraintsDuringFit();
    });

    const clip = 0.05;

    it('model.fit keeps max |w| <= clip', async () => {
      const model = denseModel(clipConstraint(clip));
      const [x, y] = data();
      await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
      expect(await maxAbsKernel(model)).toBeLessThanOrEqual(clip + 1e-7);
    });

    it('without lowbit, tfjs-layers lets the kernel leave the clip range', async () => {
      expect(stopEnforcingConstraintsDuringFit()).toBe(true);
      try {
        const model = denseModel(clipConstraint(clip));
        const [x, y] = data();
        await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
        expect(await maxAbsKernel(model)).toBeGreaterThan(10 * clip);
      } finally {
        expect(enforceConstraintsDuringFit()).toBe(true);
      }
    });

    it('installing twice is a no-op', () => {
      expect(enforceConstraintsDuringFit()).toBe(false);
    });

    it('trainOnBatch and fitDataset apply constraints too', async () => {
      const model = denseModel(clipConstraint(clip));
      const [x, y] = data();
      await model.trainOnBatch(x, y);
      expect(await maxAbsKernel(model)).toBeLessThanOrEqual(clip + 1e-7);
      const model2 = denseModel(clipConstraint(clip));
      // fitDataset needs only an object with iterator(); fitDataset disposes each batch, so every
      // iteration builds fresh tensors.
      const dataset = {
        iterator: async () => {
          let i = 0;
          return {
            next: async () => {
              if (i++ >= 2) return { value: undefined, done: true };
              const [xs, ys] = data();
              return { value: { xs, ys }, done: false };
            },
          };
        },
      };
      await model2.fitDataset(dataset as never, { epochs: 2, verbose: 0 });
      expect(await maxAbsKernel(model2)).toBeLessThanOrEqual(clip + 1e-7);
    });

    it('maxNorm: every unit keeps its incoming-weight norm <= maxValue', async () => {
      const maxValue = 0.3;
      const model = denseModel(tfl.constraints.maxNorm({ maxValue, axis: 0 }));
      const [x, y] = data();
      await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
      const w = model.getWeights()[0]!;
      const norms = await tf.sqrt(tf.sum(tf.square(w), 0)).data();
      for (const n of norms) expect(n).toBeLessThanOrEqual(maxValue * (1 + 1e-5));
      // The constraint is active: at least one column was scaled down to the bound.
      expect(Math.max(...norms)).toBeGreaterThan(maxValue * 0.99);
    });
  });
}

/** HyperparameterScheduler: the value each epoch or step follows the schedule, takes effect, and is logged. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import '../constraints/index.js';
import '../quantizers/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { quantDense } from '../layers/index.js';
import { Bop, CaseOptimizer, isBinaryVariable, PiecewiseConstant } from '../optimizers/index.js';
import { HyperparameterScheduler } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * One weight w (from 0), prediction w x with x = 1, target 1000, mean absolute error: while w < 1000
 * the gradient is exactly -1, so an SGD step adds the learning rate to w.
 */
function oneWeight(optimizer: tf.Optimizer): { model: tfl.Sequential; x: tf.Tensor; y: tf.Tensor } {
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ units: 1, inputShape: [1], useBias: false, kernelInitializer: 'zeros' })],
  });
  model.compile({ optimizer, loss: 'meanAbsoluteError' });
  return { model, x: tf.ones([4, 1]), y: tf.fill([4, 1], 1000) };
}
const weight = (model: tfl.LayersModel) => model.getWeights()[0].dataSync()[0];

describe('schedules take effect', () => {
  it("updateFreq 'epoch': t is the epoch; SGD's learning rate is set through setLearningRate", async () => {
    const sgd = tf.train.sgd(123);
    const { model, x, y } = oneWeight(sgd);
    const seen: Array<[number, number]> = [];
    const scheduler = new HyperparameterScheduler({
      schedule: (epoch, current) => {
        seen.push([epoch, current]);
        return 10 ** epoch;
      },
      hyperparameter: 'learningRate',
    });
    // 3 epochs of 2 steps: w = 2 (1 + 10 + 100) = 222.
    const history = await model.fit(x, y, {
      epochs: 3,
      batchSize: 2,
      shuffle: false,
      verbose: 0,
      callbacks: [scheduler],
    });
    expect(weight(model)).toBeCloseTo(222, 3);
    expect(history.history.learningRate).toEqual([1, 10, 100]);
    expect(seen).toEqual([
      [0, 123],
      [1, 1],
      [2, 10],
    ]);
    expect(scheduler.optimizer).toBe(sgd);
  });

  it("updateFreq 'step': t is the optimizer's global step, across epochs", async () => {
    const { model, x, y } = oneWeight(tf.train.sgd(0));
    const scheduler = new HyperparameterScheduler({
      schedule: (step) => step + 1,
      hyperparameter: 'learningRate',
      updateFreq: 'step',
      logName: 'lr',
    });
    // 2 epochs of 2 steps, steps 0..3: w = 1 + 2 + 3 + 4 = 10; the logged value is the epoch's last.
    const history = await model.fit(x, y, {
      epochs: 2,
      batchSize: 2,
      shuffle: false,
      verbose: 0,
      callbacks: scheduler,
    });
    expect(weight(model)).toBeCloseTo(10, 4);
    expect(history.history.lr).toEqual([2, 4]);
  });

  it('Adam stores learningRate as a field: it is assigned; a Schedule object works as a schedule', async () => {
    const adam = tf.train.adam(0.5);
    const { model, x, y } = oneWeight(adam);
    const scheduler = new HyperparameterScheduler({
      schedule: new PiecewiseConstant({ boundaries: [0], values: [0.25, 0.125] }),
      hyperparameter: 'learningRate',
    });
    const history = await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, callbacks: [scheduler] });
    expect(history.history.learningRate).toEqual([0.25, 0.125]);
    // Adam's first steps with a constant-sign gradient move by ~lr each: 0.25 + 0.125.
    expect(weight(model)).toBeCloseTo(0.375, 4);
  });

  it("Bop's gamma inside a CaseOptimizer, with verbose messages", async () => {
    const bop = new Bop({ gamma: 1e-3, threshold: 1e-6 });
    const model = tfl.sequential({
      layers: [
        quantDense({
          units: 4,
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
          inputShape: [3],
        }),
        tfl.layers.dense({ units: 1 }),
      ],
    });
    model.compile({
      optimizer: new CaseOptimizer([[isBinaryVariable, bop]], tf.train.sgd(0.1)),
      loss: 'meanSquaredError',
    });
    const messages: string[] = [];
    const scheduler = new HyperparameterScheduler({
      schedule: (epoch) => 0.001 * 0.1 ** Math.floor(epoch / 2),
      hyperparameter: 'gamma',
      optimizer: bop,
      verbose: 1,
      printFn: (m) => messages.push(m),
    });
    const history = await model.fit(tf.ones([4, 3]), tf.ones([4, 1]), {
      epochs: 3,
      verbose: 0,
      callbacks: [scheduler],
    });
    expect(history.history.gamma).toEqual([0.001, 0.001, 0.001 * 0.1]);
    expect(bop.gamma).toBe(0.001 * 0.1);
    expect(messages).toEqual([
      'Epoch 0: gamma is now 0.001.',
      'Epoch 1: gamma is now 0.001.',
      `Epoch 2: gamma is now ${0.001 * 0.1}.`,
    ]);
  });
});

describe('errors', () => {
  it('an unknown or read-only hyperparameter is a ConfigError listing valid names', async () => {
    expect(
      () => new HyperparameterScheduler({ schedule: () => 1, hyperparameter: 'gama', optimizer: new Bop() }),
    ).toThrow(
      'HyperparameterScheduler option hyperparameter (Bop): received "gama"; expected one of gamma, threshold.',
    );
    expect(
      () =>
        new HyperparameterScheduler({
          schedule: () => 1,
          hyperparameter: 'iterations',
          optimizer: tf.train.adam(),
        }),
    ).toThrow(/received "iterations"; expected one of beta1, beta2, epsilon, learningRate/);
    expect(
      () =>
        new HyperparameterScheduler({
          schedule: () => 1,
          hyperparameter: 'learningRate',
          optimizer: new CaseOptimizer([[isBinaryVariable, new Bop()]], tf.train.adam()),
        }),
    ).toThrow(/CaseOptimizer has none \(schedule one of its optimizers instead/);
    // Without an optimizer option, the model's is checked when training starts.
    const { model, x, y } = oneWeight(tf.train.sgd(0.1));
    const scheduler = new HyperparameterScheduler({ schedule: () => 1, hyperparameter: 'lr' });
    await expect(model.fit(x, y, { epochs: 1, verbose: 0, callbacks: [scheduler] })).rejects.toThrow(
      /option hyperparameter \(SGD\): received "lr"; expected one of learningRate/,
    );
  });

  it('bad options and bad schedule values', async () => {
    expect(
      () =>
        new HyperparameterScheduler({
          schedule: () => 1,
          hyperparameter: 'gamma',
          updateFreq: 'batch' as 'step',
        }),
    ).toThrow(
      'HyperparameterScheduler option updateFreq: received "batch"; expected one of "epoch", "step".',
    );
    expect(() => new HyperparameterScheduler({ schedule: 0.1 as never, hyperparameter: 'gamma' })).toThrow(
      /option schedule: received 0.1/,
    );
    expect(() => new HyperparameterScheduler({ schedule: () => 1 } as never)).toThrow(
      /option hyperparameter: received undefined/,
    );
    const { model, x, y } = oneWeight(tf.train.sgd(0.1));
    const scheduler = new HyperparameterScheduler({
      schedule: () => Number.NaN,
      hyperparameter: 'learningRate',
    });
    await expect(model.fit(x, y, { epochs: 1, verbose: 0, callbacks: [scheduler] })).rejects.toThrow(
      ConfigError,
    );
  });
});

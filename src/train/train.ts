/**
 * A small programmatic training API over tfjs-layers' own training loop, with seeded shuffling.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BaseCallback, CustomCallbackArgs } from '@tensorflow/tfjs-layers/dist/base_callbacks.js';
import type { Logs } from '@tensorflow/tfjs-layers/dist/logs.js';
import { batchCount, batches, type DataSplit, toTensors } from '../data/index.js';
import { ConfigError, ShapeError } from '../errors.js';
import { Random } from '../util/random.js';
import { FusedAdamOptimizer } from './fused-adam.js';
// BatchNormalization({ scale: false }) trains only with lowbit's fix of tfjs-layers.
import '../layers/batch-normalization.js';

/** Callbacks as `model.fit` takes them. */
export type TrainCallbacks = BaseCallback[] | CustomCallbackArgs | CustomCallbackArgs[];

/** Options of {@link trainModel}. */
export interface TrainOptions {
  /** The model: class probabilities over the last axis (softmax output), one input. */
  model: tfl.LayersModel;
  /** Training examples (labels as class indices). */
  data: DataSplit;
  /** Number of epochs to train up to (a positive integer). */
  epochs: number;
  /** Examples per batch. Default 64. */
  batchSize?: number;
  /**
   * The optimizer. Default: the model's own if it is already compiled (e.g. a loaded checkpoint),
   * else Adam with lr 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-7 (Keras's defaults, Larq's recipe).
   * Giving one (re)compiles the model.
   */
  optimizer?: tf.Optimizer;
  /**
   * Seed of the per-epoch shuffles: epoch e visits the examples in the order
   * {@link epochOrder}(count, seed, e). Default 0.
   */
  seed?: number;
  /** Callbacks, as `model.fit` takes them (progress bars, early stopping, ...). */
  callbacks?: TrainCallbacks;
  /** Examples to evaluate after each epoch (logged as val_loss and val_acc). */
  validation?: DataSplit;
  /** Batch size of the validation pass. Default 256. */
  validationBatchSize?: number;
  /** First epoch to run, for resuming: epochs initialEpoch .. epochs - 1 are run. Default 0. */
  initialEpoch?: number;
  /** Learning rate of each epoch, set on the optimizer before the epoch starts. */
  learningRate?: (epoch: number) => number;
  /**
   * How often (in milliseconds) the loop yields to the event loop, or 'never' (fastest) or 'auto'
   * (tfjs's default). Default 'auto', so that Ctrl-C handlers and progress bars get their turn.
   */
  yieldEvery?: number | 'auto' | 'never';
}

/** What happened in one epoch. */
export interface EpochLog {
  epoch: number;
  /** Mean training loss over the epoch's batches (sparse categorical cross-entropy). */
  loss: number;
  /** Mean training accuracy over the epoch's batches. */
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Learning rate used in the epoch, when a schedule was given. */
  learningRate?: number;
  /** Wall-clock seconds of the epoch's training steps (validation excluded). */
  trainSeconds: number;
  /** Wall-clock seconds of the whole epoch, validation included. */
  seconds: number;
}

/** What {@link trainModel} returns. */
export interface TrainResult {
  epochs: EpochLog[];
  /** Examples trained on. */
  samples: number;
  /** Wall-clock seconds spent in training steps. */
  trainSeconds: number;
  /** samples / trainSeconds. */
  samplesPerSecond: number;
  /** Whether training stopped early (a callback or an interrupt set model.stopTraining). */
  stoppedEarly: boolean;
}

/** The seed of epoch `epoch`'s shuffle: the epoch-th draw of Random(seed). */
export function epochSeed(seed: number, epoch: number): number {
  const rng = new Random(seed);
  let s = 0;
  for (let e = 0; e <= epoch; e++) s = rng.int(2 ** 31);
  return s;
}

/**
 * The order in which {@link trainModel} visits `count` examples in epoch `epoch`: a Fisher-Yates
 * shuffle of 0..count-1 with Random(epochSeed(seed, epoch)), as `lq.data.shuffledIndices` makes it.
 */
export function epochOrder(count: number, seed: number, epoch: number): Int32Array {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return new Random(epochSeed(seed, epoch)).shuffle(order);
}

/**
 * Adam with Keras's defaults (lr 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-7), as in Larq's recipe:
 * a {@link FusedAdamOptimizer} (tfjs's Adam values, one fused SIMD pass per variable on wasm).
 */
export function larqAdam(learningRate = 1e-3): tf.Optimizer {
  return new FusedAdamOptimizer(learningRate, 0.9, 0.999, 1e-7);
}

function positiveInteger(where: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new ConfigError({ where, received: value, expected: 'a positive integer' });
  }
  return value as number;
}

/** Checks that a split fits the model's input shape and is not empty. */
export function checkSplit(model: tfl.LayersModel, data: DataSplit, where: string): void {
  const input = model.inputs[0].shape.slice(1);
  const sample = data.xShape.slice(1);
  const size = (s: readonly (number | null)[]) => s.reduce<number>((a, b) => a * (b ?? 1), 1);
  // A model may take [h, w, c] or a flattened [h * w * c]: compare element counts and, for rank 3, shapes.
  const same =
    input.length === 3 ? input.every((d, i) => d === null || d === sample[i]) : size(input) === size(sample);
  if (!same) {
    throw new ShapeError({
      where: `${where}: examples of model '${model.name}'`,
      received: sample,
      expected: `examples of shape [${input.join(', ')}] (the model's input)`,
    });
  }
  if (data.count < 1 || data.y.length !== data.count) {
    throw new ConfigError({
      where: `${where}: split`,
      received: `${data.count} examples and ${data.y.length} labels`,
      expected: 'at least one example and one label per example',
    });
  }
}

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate?: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * Trains a classifier with sparse categorical cross-entropy, L = -mean_i log p_i[y_i], visiting
 * the examples of each epoch in a seeded random order ({@link epochOrder}); tfjs's own shuffle
 * is not seeded, so it is never used. Runs tfjs-layers' own loop (`model.fitDataset` over
 * seeded batches), so callbacks, `model.stopTraining` and lowbit's weight-constraint
 * enforcement work as in `model.fit`.
 *
 * @example
 * ```ts
 * const ds = await lq.data.fashionMnist();
 * const model = lq.zoo.get('larq-intro-cnn');
 * const result = await lq.train.trainModel({ model, data: ds.train, epochs: 6, batchSize: 64, seed: 1 });
 * const { accuracy } = lq.train.evaluateModel(model, ds.test);
 * ```
 * @throws ConfigError for bad options; ShapeError when the examples do not fit the model's input.
 */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const { model, data, validation, learningRate, initialEpoch = 0, seed = 0 } = options;
  const epochs = positiveInteger('trainModel option epochs', options.epochs);
  const batchSize = positiveInteger('trainModel option batchSize', options.batchSize ?? 64);
  const validationBatchSize = positiveInteger(
    'trainModel option validationBatchSize',
    options.validationBatchSize ?? 256,
  );
  if (!Number.isInteger(initialEpoch) || initialEpoch < 0 || initialEpoch >= epochs) {
    throw new ConfigError({
      where: 'trainModel option initialEpoch',
      received: initialEpoch,
      expected: `an integer in [0, epochs = ${epochs})`,
    });
  }
  if (!Number.isInteger(seed)) {
    throw new ConfigError({ where: 'trainModel option seed', received: seed, expected: 'an integer' });
  }
  checkSplit(model, data, 'trainModel data');
  if (validation) checkSplit(model, validation, 'trainModel validation');

  if (options.optimizer || !model.optimizer) {
    model.compile({
      optimizer: options.optimizer ?? larqAdam(),
      loss: 'sparseCategoricalCrossentropy',
      metrics: ['accuracy'],
    });
  }
  const optimizer = model.optimizer;
  const inputShape = model.inputs[0].shape;
  const reshape = (x: tf.Tensor) =>
    inputShape.length === 4 ? x : tf.reshape(x, [x.shape[0], ...(inputShape.slice(1) as number[])]);

  let epoch = initialEpoch;
  const dataset = {
    size: batchCount(data.count, batchSize),
    iterator: async () => {
      const it = batches(data, { batchSize, seed: epochSeed(seed, epoch) });
      return {
        next: async () => {
          const r = it.next();
          if (r.done) return { done: true, value: null };
          const { x, y } = toTensors(r.value);
          const xs = reshape(x);
          if (xs !== x) x.dispose();
          return { done: false, value: { xs, ys: y } };
        },
      };
    },
  };

  const log: EpochLog[] = [];
  let epochStart = 0;
  let batchStart = 0;
  let trainSeconds = 0;
  let epochTrain = 0;
  let samples = 0;
  let epochLr: number | undefined;
  const recorder: CustomCallbackArgs = {
    onEpochBegin: async (e: number) => {
      epoch = e;
      epochTrain = 0;
      epochLr = undefined;
      if (learningRate) {
        epochLr = learningRate(e);
        setLearningRate(optimizer, epochLr);
      }
      epochStart = performance.now();
    },
    onBatchBegin: async () => {
      batchStart = performance.now();
    },
    onBatchEnd: async (_b: number, logs?: Logs) => {
      const dt = (performance.now() - batchStart) / 1000;
      epochTrain += dt;
      trainSeconds += dt;
      samples += (logs?.size as number | undefined) ?? 0;
    },
    onEpochEnd: async (e: number, logs?: Logs) => {
      const l = logs ?? {};
      const entry: EpochLog = {
        epoch: e,
        loss: l.loss as number,
        accuracy: l.acc as number,
        trainSeconds: epochTrain,
        seconds: (performance.now() - epochStart) / 1000,
      };
      if (l.val_loss !== undefined) entry.valLoss = l.val_loss as number;
      if (l.val_acc !== undefined) entry.valAccuracy = l.val_acc as number;
      if (epochLr !== undefined) entry.learningRate = epochLr;
      log.push(entry);
    },
  };
  const yieldEvery = options.yieldEvery ?? 'auto';
  // tfjs takes either callback objects or configs, not a mix: make every one an object.
  const given =
    options.callbacks === undefined
      ? []
      : Array.isArray(options.callbacks)
        ? options.callbacks
        : [options.callbacks];
  const callbacks = [recorder, ...given].map((c) =>
    typeof (c as BaseCallback).setModel === 'function'
      ? (c as BaseCallback)
      : new tfl.CustomCallback(c as CustomCallbackArgs, yieldEvery),
  );

  const val = validation ? toTensors(validation) : null;
  const valX = val ? reshape(val.x) : null;
  try {
    await model.fitDataset(
      dataset as never,
      {
        epochs,
        initialEpoch,
        verbose: 0,
        callbacks,
        yieldEvery,
        ...(val && valX ? { validationData: [valX, val.y], validationBatchSize } : {}),
      } as never,
    );
  } finally {
    if (val) tf.dispose([val.x, val.y]);
    if (valX && val && valX !== val.x) valX.dispose();
  }
  return {
    epochs: log,
    samples,
    trainSeconds,
    samplesPerSecond: trainSeconds > 0 ? samples / trainSeconds : 0,
    stoppedEarly: log.length < epochs - initialEpoch,
  };
}

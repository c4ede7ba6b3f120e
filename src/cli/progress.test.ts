import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from './io.js';
import { formatDuration, ProgressBar, type ProgressMode } from './progress.js';

/**
 * Drives a ProgressBar by hand with a fake clock: one epoch of 100 examples in batches of
 * 32, 32, 32, 4 with losses 1, 0.5, 0.25, 2 and accuracies 0.5, 0.75, 1, 0, 500 ms per batch.
 * Sample-weighted means: loss (32 + 16 + 8 + 8) / 100 = 0.64, acc (16 + 24 + 32 + 0) / 100 = 0.72;
 * 100 examples in 2 s = 50 samples/s.
 */
async function driveOneEpoch(
  mode: ProgressMode,
  epochLogs?: Record<string, unknown>,
  params: Record<string, number | null> = { epochs: 2, initialEpoch: 0, samples: 100, batchSize: 32 },
) {
  const io = captureIo({ isTTY: mode === 'bar' });
  let t = 0;
  const cb = new ProgressBar({ stream: io.stderr, mode, now: () => t });
  cb.setParams(params as Record<string, number>);
  await cb.onTrainBegin();
  await cb.onEpochBegin(0);
  const batches = [
    [32, 1, 0.5],
    [32, 0.5, 0.75],
    [32, 0.25, 1],
    [4, 2, 0],
  ];
  for (const [i, [size, loss, acc]] of batches.entries()) {
    t += 500;
    await cb.onBatchEnd(i, { batch: i, size, loss, acc });
  }
  await cb.onEpochEnd(0, epochLogs);
  return { cb, io };
}

describe('ProgressBar', () => {
  it('records sample-weighted epoch means, samples/s and time', async () => {
    const { cb } = await driveOneEpoch('none');
    expect(cb.epochs).toHaveLength(1);
    const [s] = cb.epochs;
    expect(s.epoch).toBe(1);
    expect(s.loss).toBeCloseTo(0.64, 12);
    expect(s.acc).toBeCloseTo(0.72, 12);
    expect(s.samples).toBe(100);
    expect(s.seconds).toBe(2);
    expect(s.samplesPerSecond).toBe(50);
  });

  it('prefers the epoch logs of tfjs, numbers or scalar tensors', async () => {
    await tf.setBackend('cpu');
    const { cb } = await driveOneEpoch('none', {
      loss: tf.scalar(0.3),
      acc: 0.9,
      val_loss: 0.4,
      val_acc: tf.scalar(0.8),
    });
    expect(cb.epochs[0].loss).toBeCloseTo(0.3, 6);
    expect(cb.epochs[0].acc).toBe(0.9);
    expect(cb.epochs[0].valLoss).toBe(0.4);
    expect(cb.epochs[0].valAcc).toBeCloseTo(0.8, 6);
  });

  it("writes one line per epoch in 'lines' mode", async () => {
    const { io } = await driveOneEpoch('lines');
    // After epoch 1 of 2 at 2 s: 1 epoch left, ETA 2 s.
    expect(io.err()).toBe('epoch 1/2 | loss 0.6400 | acc 0.7200 | 50 samples/s | 2s | ETA 2s\n');
  });

  it('estimates the time left from the epoch number when resuming', async () => {
    const io = captureIo();
    let t = 0;
    const cb = new ProgressBar({ stream: io.stderr, mode: 'lines', now: () => t });
    cb.setParams({ epochs: 6, samples: 10, batchSize: 10 });
    await cb.onTrainBegin();
    for (const epoch of [3, 4]) {
      await cb.onEpochBegin(epoch);
      t += 4000;
      await cb.onBatchEnd(0, { size: 10, loss: 1 });
      await cb.onEpochEnd(epoch, {});
    }
    // Epochs 4 and 5 of 6 took 4 s each: after epoch 4, 2 left (8 s); after epoch 5, 1 left (4 s).
    expect(io.err()).toBe(
      'epoch 4/6 | loss 1.0000 | 3 samples/s | 4s | ETA 8s\nepoch 5/6 | loss 1.0000 | 3 samples/s | 4s | ETA 4s\n',
    );
  });

  it("writes JSON lines in 'jsonl' mode", async () => {
    const { io } = await driveOneEpoch('jsonl');
    const lines = io.err().trim().split('\n');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]);
    expect(event).toMatchObject({
      event: 'epoch',
      epoch: 1,
      epochs: 2,
      samples: 100,
      seconds: 2,
      samplesPerSecond: 50,
    });
    expect(event.loss).toBeCloseTo(0.64, 12);
  });

  it("draws a bar with running loss, accuracy, samples/s and ETA in 'bar' mode", async () => {
    const { io } = await driveOneEpoch('bar', { val_loss: 0.5, val_acc: 0.875 });
    const text = io.err();
    // After 2 batches: 64 examples in 1 s = 64 samples/s, 36 left -> ETA round(0.5625) = 1s;
    // running loss (32 + 16) / 64 = 0.75, acc (16 + 24) / 64 = 0.625.
    expect(text).toContain('epoch 1/2');
    expect(text).toContain('64/100 | loss 0.7500 | acc 0.6250 | 64 samples/s | ETA 1s');
    expect(text).toContain(
      '100/100 | loss 0.6400 | acc 0.7200 | 50 samples/s | ETA 0s | val_loss 0.5000 | val_acc 0.8750',
    );
    expect(text).not.toContain('64 samples/s | ETA 1s | val_loss');
  });

  it('counts batches under fitDataset, where tfjs knows steps but not examples', async () => {
    const { io, cb } = await driveOneEpoch('bar', undefined, {
      epochs: 1,
      initialEpoch: null,
      samples: null,
      steps: 4,
      batchSize: null,
    });
    // After 2 of 4 batches in 1 s: ETA 2 * (1 s / 2) = 1 s; 64 examples in 1 s.
    expect(io.err()).toContain('epoch 1/1');
    expect(io.err()).toContain('2/4 batches | loss 0.7500 | acc 0.6250 | 64 samples/s | ETA 1s');
    expect(io.err()).toContain('4/4 batches | loss 0.6400');
    expect(cb.epochs[0].samples).toBe(100);
  });

  it('is a tfjs-layers callback usable in model.fitDataset', async () => {
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ units: 2, inputShape: [3], activation: 'softmax' })],
    });
    model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    // Three batches of 4 examples each, as a minimal tfjs-data-like dataset.
    const dataset = {
      size: 3,
      iterator: async () => {
        let i = 0;
        return {
          next: async () =>
            i++ < 3
              ? { done: false, value: { xs: tf.fill([4, 3], i / 3), ys: tf.tensor1d([0, 1, 0, 1]) } }
              : { done: true, value: null },
        };
      },
    };
    const progress = new ProgressBar({ stream: captureIo().stderr, mode: 'none' });
    const history = await model.fitDataset(dataset as never, {
      epochs: 2,
      verbose: 0,
      callbacks: [progress],
    });
    expect(progress.epochs.map((e) => e.samples)).toEqual([12, 12]);
    for (const [i, e] of progress.epochs.entries()) {
      expect(e.loss).toBeCloseTo(history.history.loss[i] as number, 6);
    }
    model.dispose();
  });

  it('is a tfjs-layers callback usable in model.fit', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor2d(
      Array.from({ length: 40 * 3 }, (_, i) => Math.sin(i)),
      [40, 3],
    );
    const y = tf.tensor1d(
      Array.from({ length: 40 }, (_, i) => i % 2),
      'float32',
    );
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ units: 2, inputShape: [3], activation: 'softmax' })],
    });
    model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const io = captureIo();
    const progress = new ProgressBar({ stream: io.stderr, mode: 'jsonl' });
    const history = await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0, callbacks: [progress] });
    expect(progress.epochs.map((e) => e.samples)).toEqual([40, 40]);
    progress.epochs.forEach((e, i) => {
      expect(e.loss).toBeCloseTo(history.history.loss[i] as number, 6);
      expect(e.acc).toBeCloseTo(history.history.acc[i] as number, 6);
    });
    expect(io.err().trim().split('\n')).toHaveLength(2);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [59.4, '59s'],
    [59.6, '1m00s'],
    [3599, '59m59s'],
    [3600, '1h00m'],
    [7322, '2h02m'],
    [Number.NaN, '?'],
    [-1, '?'],
  ])('%s s -> %s', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });
});

beforeAll(async () => {
  await tf.setBackend('cpu');
});

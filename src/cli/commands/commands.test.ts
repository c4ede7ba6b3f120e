import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { data, engine, io } from '../../index.js';
import { captureIo } from '../io.js';
import { runCli } from '../program.js';
import { quantizerCurves } from './plot.js';
import type { RunMetrics } from './train-run.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lowbit-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The tiny training run most tests share: larq-intro-cnn, 64 examples per split, batch 32. */
const TINY = ['--model', 'larq-intro-cnn', '--limit', '64', '--batch-size', '32', '--backend', 'wasm'];

const readMetrics = (dir: string): RunMetrics => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));

async function weightsOf(dir: string): Promise<number[][]> {
  const model = await io.loadModel(dir);
  const values = model.getWeights().map((w) => Array.from(w.dataSync()));
  model.dispose();
  return values;
}

/** Every weight of `a` within 1e-5 (1 + |b|) of the same weight of `b`. */
function expectClose(a: number[][], b: number[][]): void {
  expect(a.map((w) => w.length)).toEqual(b.map((w) => w.length));
  let worst = 0;
  a.forEach((w, i) => {
    w.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - b[i][j]) / (1 + Math.abs(b[i][j])));
    });
  });
  expect(worst).toBeLessThan(1e-5);
}

/** One stderr line that starts with `error: ` and nothing else. */
function expectOneErrorLine(err: string, pattern: RegExp): void {
  const lines = err.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
}

describe('lowbit train, evaluate, summary, convert', () => {
  let run: string;
  let metrics: RunMetrics;
  beforeAll(async () => {
    run = join(root, 'run');
    const cli = captureIo();
    const code = await runCli(['train', ...TINY, '--epochs', '1', '--out', run, '--json'], cli);
    expect(cli.err()).not.toMatch(/error/);
    expect(code).toBe(0);
    metrics = readMetrics(run);
    expect(JSON.parse(cli.out()).test).toEqual(metrics.test);
  }, 60_000);

  it('writes the model, metrics.json, summary.txt and summary.json', () => {
    for (const f of ['model.json', 'weights.bin', 'metrics.json', 'summary.txt', 'summary.json']) {
      expect(existsSync(join(run, f))).toBe(true);
    }
    expect(metrics.status).toBe('complete');
    expect(metrics.settings).toMatchObject({
      model: 'larq-intro-cnn',
      data: 'mnist',
      epochs: 1,
      batchSize: 32,
      optimizer: 'adam',
      lr: 1e-3,
      seed: 0,
      limit: 64,
    });
    expect(metrics.history.map((h) => h.epoch)).toEqual([1]);
    expect(metrics.dataset).toMatchObject({ name: 'mnist', trainCount: 64, testCount: 64 });
    expect(metrics.test?.count).toBe(64);
    expect(metrics.backend.name).toBe('wasm');
    expect(metrics.commandLines[0].slice(0, 2)).toEqual(['lowbit', 'train']);
    // The model is saved with Adam's state: iterations = 2 steps (64 examples / batch 32).
    const modelJson = JSON.parse(readFileSync(join(run, 'model.json'), 'utf8'));
    expect(modelJson.trainingConfig.optimizer_config.class_name).toBe('Adam');
    expect(readFileSync(join(run, 'summary.txt'), 'utf8')).toContain('larq-intro-cnn stats');
  });

  it('--recalibrate-bn re-estimates the 5 BatchNorm layers of larq-intro-cnn before evaluating', async () => {
    const out = join(root, 'recalibrated');
    const cli = captureIo();
    const code = await runCli(
      ['train', ...TINY, '--epochs', '1', '--out', out, '--recalibrate-bn', '--json'],
      cli,
    );
    expect(code).toBe(0);
    const m = readMetrics(out);
    expect(m.settings.recalibrateBatchNorm).toBe(true);
    // Same seed and data as the plain run: only the BatchNorm statistics differ.
    expect(m.history).toEqual(
      metrics.history.map((h) => ({
        ...h,
        trainSeconds: expect.any(Number),
        samplesPerSecond: expect.any(Number),
      })),
    );
    const shifts = m.batchNormRecalibration ?? [];
    expect(shifts).toHaveLength(5);
    for (const s of shifts) expect(s.meanShift).toBeGreaterThan(0);
    const cliEval = captureIo();
    expect(await runCli(['evaluate', out, '--limit', '64', '--json'], cliEval)).toBe(0);
    expect(JSON.parse(cliEval.out()).accuracy).toBe(m.test?.accuracy);
  }, 60_000);

  it('evaluate: the saved model scores what metrics.json says, per class consistently', async () => {
    const cli = captureIo();
    expect(await runCli(['evaluate', run, '--limit', '64', '--json'], cli)).toBe(0);
    const result = JSON.parse(cli.out());
    expect(result.dataset).toBe('mnist');
    expect(result.count).toBe(64);
    expect(result.accuracy).toBe(metrics.test?.accuracy);
    expect(result.loss).toBeCloseTo(metrics.test?.loss ?? Number.NaN, 6);
    // Class counts: the labels of the first 64 test images, counted here from the dataset.
    const ds = await data.mnist();
    const expected = data.classCounts(ds.test.y.subarray(0, 64), 10);
    expect(result.perClass.map((c: { count: number }) => c.count)).toEqual(expected);
    const correct = result.perClass.reduce((a: number, c: { correct: number }) => a + c.correct, 0);
    expect(correct / 64).toBe(result.accuracy);
  });

  it("summary: Larq's figures of larq-intro-cnn (benchmarks.md)", async () => {
    const cli = captureIo();
    expect(await runCli(['summary', run, '--json'], cli)).toBe(0);
    const report = JSON.parse(cli.out());
    expect(report.profile.paramsByBits).toEqual([
      { bits: 1, count: 93_088 },
      { bits: 32, count: 468 },
    ]);
    expect(report.profile.macsByPrecision).toEqual([
      { bits: 1, count: 2_599_552 },
      { bits: 32, count: 194_688 },
    ]);
    expect(report.energy).toBeDefined();
    const text = captureIo();
    expect(await runCli(['summary', run, '--metrics', 'flops'], text)).toBe(0);
    expect(text.out()).toContain('larq-intro-cnn summary');
    expect(text.out()).toContain('Total params');
    expect(text.out()).not.toContain('Energy is an estimate');
  });

  it('convert: writes a .lbm that the engine reads back', async () => {
    const file = join(root, 'cnn.lbm');
    const cli = captureIo();
    expect(await runCli(['convert', run, '-o', file, '--json'], cli)).toBe(0);
    const result = JSON.parse(cli.out());
    const bytes = readFileSync(file);
    expect(result.bytes).toBe(bytes.byteLength);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x89, 0x4c, 0x42, 0x4d]); // \x89LBM
    // Every kernel is binary; the first conv multiplies its float input by packed +-1 weights.
    expect(result.binaryWeights).toBe(93_088);
    expect(result.binaryMacs).toBe(2_599_552);
    expect(result.floatMacs).toBe(194_688);
  });

  it('convert --uint8-input: the engine predicts on the bytes what it predicts on the scaled floats', async () => {
    const file = join(root, 'cnn-u8.lbm');
    const cli = captureIo();
    expect(await runCli(['convert', run, '-o', file, '--uint8-input', '1/127.5,-1', '--json'], cli)).toBe(0);
    expect(JSON.parse(cli.out()).uint8Input).toEqual({ scale: 1 / 127.5, offset: -1 });
    const net = await engine.load(readFileSync(file));
    const ds = await data.mnist();
    const n = 8;
    const floats = ds.test.x.subarray(0, n * 784);
    const bytes = Uint8Array.from(floats, (x) => Math.round((x + 1) * 127.5));
    const a = net.predict(floats, [n, 28, 28, 1]).data;
    const b = net.predict(bytes, [n, 28, 28, 1]).data;
    net.dispose();
    // The file read back from disk (a Node Buffer) gives the tfjs model's probabilities.
    const model = await io.loadModel(run);
    const t = tf.tidy(() => (model.predict(tf.tensor(floats, [n, 28, 28, 1])) as tf.Tensor).dataSync());
    model.dispose();
    for (let i = 0; i < a.length; i++) {
      expect(Math.abs(a[i] - t[i])).toBeLessThanOrEqual(1e-4 * Math.max(1e-3, Math.abs(t[i])));
      expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-4 * Math.max(1e-3, Math.abs(a[i])));
    }
  });

  it('bad input: one error line and exit code 1 or 2', async () => {
    const cases: [string[], number, RegExp][] = [
      [['train', '--model', 'resnet'], 2, /argument 'resnet' is invalid.*larq-intro-cnn/],
      [['train', '--data', 'cifar'], 2, /argument 'cifar' is invalid.*fashion-mnist/],
      [
        ['train', ...TINY, '--data', 'fashion-mnist', '--dir', '/nonexistent/fm'],
        1,
        /Fashion-MNIST not found/,
      ],
      [['train', '--model', 'binary-mlp', '--optimizer', 'bop', '--limit', '8'], 1, /--optimizer case/],
      [
        ['evaluate', join(root, 'missing')],
        1,
        /model directory: received ".*missing"; expected a directory holding model.json/,
      ],
      [['summary', root], 1, /expected a directory holding model.json/],
      [['convert', run, '-o', join(root, 'x.bin')], 1, /ending in \.lbm/],
      [['convert', run, '-o', join(root, 'x.lbm'), '--uint8-input', '1/0,-1'], 2, /expected SCALE,OFFSET/],
      [['train', '--resume', root], 1, /expected a run directory written by lowbit train/],
      [['train', '--resume', run], 1, /a complete run \(1\/1 epochs\)/],
      [
        ['train', '--resume', run, '--seed', '3', '--epochs', '2'],
        1,
        /--seed: received 3; expected the run's own value 0/,
      ],
      [
        ['plot', 'quantizer', 'sign', '-o', join(root, 'q.svg')],
        1,
        /received "sign"; expected one of .*ste_sign/,
      ],
      [['plot', 'quantizer', 'ste_sign', '-o', join(root, 'q.jpg')], 1, /\.svg or \.png/],
      [
        ['plot', 'quantizer', 'ste_sign', '--options', '{clip', '-o', join(root, 'q.svg')],
        1,
        /a JSON object/,
      ],
    ];
    for (const [args, code, pattern] of cases) {
      const cli = captureIo({ env: { LOWBIT_FASHION_MNIST_DIR: '' } });
      expect(await runCli(args, cli), args.join(' ')).toBe(code);
      expectOneErrorLine(cli.err(), pattern);
    }
  }, 30_000);
});

describe('lowbit train: Ctrl-C checkpoint and --resume', () => {
  /** Trains with TINY for `epochs`, sending SIGINT when stderr first shows `trigger`. */
  async function train(out: string, epochs: number, trigger?: string, extra: string[] = []) {
    const signals = new EventEmitter();
    let sent = false;
    const cli = captureIo({
      signals,
      onStderr: (text) => {
        if (trigger && !sent && text.includes(trigger)) {
          sent = true;
          signals.emit('SIGINT');
        }
      },
    });
    const code = await runCli(['train', ...TINY, '--epochs', String(epochs), '--out', out, ...extra], cli);
    return { code, err: cli.err(), out: cli.out() };
  }

  let full: string;
  beforeAll(async () => {
    full = join(root, 'full');
    expect((await train(full, 2)).code).toBe(0);
  }, 60_000);

  it('saves the state after the last whole epoch; the resumed run equals an uninterrupted one', async () => {
    const cut = join(root, 'cut');
    // The interrupt comes as epoch 1's line is printed: epoch 1 is whole, epoch 2 stops after a batch.
    const first = await train(cut, 2, 'epoch 1/2');
    expect(first.code).toBe(130);
    expect(first.err).toContain('interrupted: stopping after the current batch');
    expect(first.err.trimEnd().split('\n').at(-1)).toBe(
      `error: interrupted: checkpoint after epoch 1/2 saved to ${cut}; continue with: lowbit train --resume ${cut}`,
    );
    const saved = readMetrics(cut);
    expect(saved).toMatchObject({ status: 'interrupted', epochsDone: 1, optimizerState: true });
    expect(saved.history.map((h) => h.epoch)).toEqual([1]);
    expect(saved.test).toBeUndefined();

    const resumed = await runCli(['train', '--resume', cut], captureIo());
    expect(resumed).toBe(0);
    const done = readMetrics(cut);
    expect(done).toMatchObject({ status: 'complete', epochsDone: 2 });
    expect(done.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(done.commandLines).toHaveLength(2);
    expect(done.commandLines[1]).toEqual(['lowbit', 'train', '--resume', cut]);
    // Same seeded order, same optimizer state: the same weights and test result, up to float32
    // rounding: tfjs's Adam restores its bias corrections as beta^(t+1) with pow, where the
    // uninterrupted run multiplied them step by step.
    expectClose(await weightsOf(cut), await weightsOf(full));
    expect(done.test?.accuracy).toBe(readMetrics(full).test?.accuracy);
    expect(done.test?.loss).toBeCloseTo(readMetrics(full).test?.loss ?? Number.NaN, 4);
    done.history.forEach((h, i) => {
      expect(h.loss).toBeCloseTo(readMetrics(full).history[i].loss, 4);
    });
  }, 60_000);

  it('an interrupt in the first epoch saves the starting point; --resume then trains the whole run', async () => {
    const cut = join(root, 'cut2');
    const first = await train(cut, 2, 'training larq-intro-cnn');
    expect(first.code).toBe(130);
    expect(readMetrics(cut)).toMatchObject({ status: 'interrupted', epochsDone: 0, optimizerState: false });
    expect(await runCli(['train', '--resume', cut], captureIo())).toBe(0);
    // Nothing was trained before the interrupt: the resumed run is the uninterrupted one exactly.
    expect(await weightsOf(cut)).toEqual(await weightsOf(full));
    // Training further with a larger --epochs continues from the saved optimizer state.
    expect(await runCli(['train', '--resume', cut, '--epochs', '3'], captureIo())).toBe(0);
    expect(readMetrics(cut).history.map((h) => h.epoch)).toEqual([1, 2, 3]);
  }, 60_000);
});

describe('lowbit plot quantizer', () => {
  it("samples ste_sign's forward function and pseudo-gradient (Larq's formulas)", async () => {
    await tf.ready();
    const c = quantizerCurves('ste_sign');
    const at = (x: number) => c.x.findIndex((v) => Math.abs(v - x) < 1e-9);
    // q(x) = sign(x) with sign(0) = 1; dq/dx = 1 for |x| <= clip (1), else 0.
    expect([-2, -1, -0.5, 0, 0.5, 1, 2].map((x) => c.forward[at(x)])).toEqual([-1, -1, -1, 1, 1, 1, 1]);
    expect([-2, -1.01, -1, 0, 1, 1.01, 2].map((x) => c.gradient[at(x)])).toEqual([0, 0, 1, 1, 1, 0, 0]);
    const wide = quantizerCurves('SteSign', { clipValue: 1.5 });
    expect([1.25, 1.5, 1.51].map((x) => wide.gradient[at(x)])).toEqual([1, 1, 0]);
    // approx_sign's gradient 2 - 2|x| inside [-1, 1] (Liu et al. 2018).
    const approx = quantizerCurves('approx_sign');
    expect([0, 0.5, 1, 1.5].map((x) => approx.gradient[at(x)])).toEqual([2, 1, 0, 0]);
  });

  it('writes an SVG and a PNG', async () => {
    const svg = join(root, 'ste.svg');
    const png = join(root, 'ste.png');
    const cli = captureIo();
    expect(await runCli(['plot', 'quantizer', 'ste_sign', '-o', svg], cli)).toBe(0);
    const text = readFileSync(svg, 'utf8');
    expect(text).toContain('<svg');
    expect(text).toContain('pseudo-gradient');
    expect(text).toContain('forward pass');
    expect(cli.out()).toBe(`wrote ${svg}: SteSign forward pass and pseudo-gradient\n`);
    expect(
      await runCli(
        ['plot', 'quantizer', 'dorefa_quantizer', '--options', '{"kBit":2}', '-o', png],
        captureIo(),
      ),
    ).toBe(0);
    expect(Array.from(readFileSync(png).subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
  }, 30_000);
});

import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useFastestBackend } from '../../backend/index.js';
import { ConfigError } from '../../errors.js';
import { binaryMlp } from '../../zoo/binary-mlp.js';
import { larqIntroCnn } from '../../zoo/larq-intro-cnn.js';
import { lenet5 } from '../../zoo/lenet5.js';
import { binaryMlpWith, larqIntroCnnWith } from './binary.js';
import {
  checkDeepClaims,
  type DeepSteResult,
  deepSteExperiment,
  deepSteSettings,
  PAPER_LENET5_SCHEDULE,
  stepEpochs,
  stepSchedule,
} from './deep.js';
import { PAPER_BN_MOMENTUM, paperLenet5 } from './lenet.js';

beforeAll(async () => {
  await useFastestBackend();
});

describe('the scaled learning-rate schedule', () => {
  it("keeps the paper's step-down epochs for 50 epochs and its fractions otherwise", () => {
    expect(stepEpochs(PAPER_LENET5_SCHEDULE.epochs)).toEqual([...PAPER_LENET5_SCHEDULE.stepEpochs]);
    expect(stepEpochs(3)).toEqual([1, 2]);
    expect(stepEpochs(5)).toEqual([2, 4]);
    expect(stepEpochs(10)).toEqual([4, 8]);
    expect(() => stepEpochs(0)).toThrow(ConfigError);
  });
  it('divides by 10 at each step epoch', () => {
    const lr = stepSchedule(0.1, [20, 40]);
    expect(lr(0)).toBe(0.1);
    expect(lr(19)).toBe(0.1);
    expect(lr(20)).toBeCloseTo(0.01, 15);
    expect(lr(39)).toBeCloseTo(0.01, 15);
    expect(lr(40)).toBeCloseTo(0.001, 15);
    expect(lr(49)).toBeCloseTo(0.001, 15);
  });
});

/** Layer configs without any (nested) names, optionally without BatchNorm layers, for comparing builds. */
function layerConfigs(m: tfl.LayersModel, withBatchNorm: boolean): unknown[] {
  return m.layers
    .filter((l) => withBatchNorm || l.getClassName() !== 'BatchNormalization')
    .map((l) =>
      JSON.parse(JSON.stringify({ cls: l.getClassName(), ...l.getConfig() }), (k, v) =>
        k === 'name' ? undefined : v,
      ),
    );
}

/** Whether the kernels and biases (not BatchNorm statistics) of two models are equal. */
function sameKernels(a: tfl.LayersModel, b: tfl.LayersModel): boolean {
  const pick = (m: tfl.LayersModel) =>
    m.weights.filter((w) => /kernel|bias/.test(w.name)).map((w) => w.read());
  const wa = pick(a);
  const wb = pick(b);
  if (wa.length !== wb.length || wa.length === 0) return false;
  return wa.every((w, i) => tf.tidy(() => tf.all(tf.equal(w, wb[i])).dataSync()[0] === 1));
}

describe('study networks equal the zoo networks they copy', () => {
  it("paperLenet5 is the zoo's lenet5 except for the BatchNorm momentum", () => {
    const zoo = lenet5({
      seed: 7,
      activationQuantizer: { className: 'QuantizedRelu', config: { kBit: 2, ste: 'relu' } },
    });
    const ours = paperLenet5({ seed: 7, activation: { bits: 2, ste: 'relu' } });
    expect(layerConfigs(ours, false)).toEqual(layerConfigs(zoo, false));
    expect(ours.layers.map((l) => l.getClassName())).toEqual(zoo.layers.map((l) => l.getClassName()));
    expect(sameKernels(ours, zoo)).toBe(true);
    const bn = ours.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    expect(bn.length).toBe(4);
    for (const l of bn) {
      const c = l.getConfig();
      expect(c.momentum).toBe(PAPER_BN_MOMENTUM);
      expect(c.scale).toBe(false);
      // The shift exists but is a frozen zero: nothing trains it.
      expect(l.trainableWeights.length).toBe(0);
      for (const w of l.weights)
        if (/beta/.test(w.name)) expect(Array.from(w.read().dataSync()).every((x) => x === 0)).toBe(true);
    }
    const floatZoo = lenet5({ seed: 7, float: true });
    const floatOurs = paperLenet5({ seed: 7, activation: 'relu' });
    expect(layerConfigs(floatOurs, false)).toEqual(layerConfigs(floatZoo, false));
    expect(sameKernels(floatOurs, floatZoo)).toBe(true);
    tf.dispose([zoo, ours, floatZoo, floatOurs].flatMap((m) => m.getWeights()));
  });

  it("binaryMlpWith('ste_sign') and larqIntroCnnWith('ste_sign') are the zoo networks", () => {
    for (const [ours, zoo] of [
      [binaryMlpWith('ste_sign', 3), binaryMlp({ seed: 3 })],
      [larqIntroCnnWith('ste_sign', 3), larqIntroCnn({ seed: 3 })],
    ] as const) {
      expect(layerConfigs(ours, true)).toEqual(layerConfigs(zoo, true));
      expect(sameKernels(ours, zoo)).toBe(true);
    }
    // Another quantizer changes only the quantizer configs.
    const approx = binaryMlpWith('approx_sign', 3);
    const cfg = approx.layers[3].getConfig() as { inputQuantizer: { className: string } };
    expect(cfg.inputQuantizer.className).toBe('ApproxSign');
  });
});

describe('deepSteExperiment', () => {
  it('skips Fashion-MNIST with a stated reason when its files are absent', async () => {
    const settings = {
      ...deepSteSettings(true),
      datasets: ['fashion-mnist' as const],
      fashionMnistDir: '/nonexistent/fashion',
    };
    const r = await deepSteExperiment({ settings, seed: 1 });
    expect(r.datasets).toEqual([]);
    expect(r.restarts).toEqual([]);
    expect(r.skipped.length).toBe(1);
    expect(r.skipped[0].dataset).toBe('fashion-mnist');
    expect(r.skipped[0].reason).toMatch(/nonexistent/);
  });

  it('rejects bad settings', async () => {
    const s = deepSteSettings(true);
    await expect(deepSteExperiment({ settings: { ...s, epochs: 0 }, seed: 1 })).rejects.toThrow(/epochs/);
    await expect(
      deepSteExperiment({ settings: { ...s, stes: ['straight' as never] }, seed: 1 }),
    ).rejects.toThrow(ConfigError);
    await expect(
      deepSteExperiment({ settings: { ...s, restart: { ...s.restart, bits: [3] } }, seed: 1 }),
    ).rejects.toThrow(/restart/);
  });
});

describe('checkDeepClaims', () => {
  const row = (ste: 'identity' | 'relu' | 'clipped_relu', loss: number, acc: number) => ({
    dataset: 'mnist' as const,
    bits: 2,
    ste,
    alpha: 0.5,
    startTrainLoss: 1,
    endTrainLoss: loss,
    finalTrainLoss: loss,
    testLoss: loss,
    testAccuracy: acc,
    startTestAccuracy: 0.5,
    epochs: [],
    seconds: 1,
  });
  const curve = (losses: number[], errors: number[]) =>
    losses.map((l, i) => ({ epoch: i, trainLoss: l, runningLoss: null, testError: errors[i] }));
  const result = (rows: ReturnType<typeof row>[], idCurve: ReturnType<typeof curve>): DeepSteResult => ({
    settings: { ...deepSteSettings(true), bits: [2] },
    seed: 0,
    backend: 'cpu',
    datasets: [
      {
        dataset: 'mnist',
        source: 'test',
        trainCount: 1,
        testCount: 1,
        float: { trainLoss: 0, testAccuracy: 1, epochs: [], seconds: 0 },
        rows,
      },
    ],
    skipped: [],
    restarts: [
      {
        dataset: 'mnist',
        bits: 2,
        learningRate: 1e-5,
        arms: [
          { ste: 'identity', curve: idCurve },
          { ste: 'clipped_relu', curve: curve([0.1, 0.1, 0.1], [0.02, 0.02, 0.02]) },
        ],
      },
    ],
    seconds: 0,
  });

  it("says 'yes' when the identity STE is worse on both counts and the restart loss triples", () => {
    const checks = checkDeepClaims(
      result(
        [row('identity', 0.03, 0.98), row('relu', 0.005, 0.99), row('clipped_relu', 0.006, 0.991)],
        curve([0.1, 0.2, 0.3], [0.02, 0.03, 0.05]),
      ),
    );
    expect(checks.map((c) => c.holds)).toEqual(['yes', 'yes']);
  });

  it("says 'partly' or 'no' otherwise", () => {
    const checks = checkDeepClaims(
      result(
        [row('identity', 0.03, 0.995), row('relu', 0.005, 0.99), row('clipped_relu', 0.006, 0.991)],
        curve([0.1, 0.1, 0.09], [0.02, 0.02, 0.02]),
      ),
    );
    expect(checks.map((c) => c.holds)).toEqual(['partly', 'no']);
  });
});

/**
 * Experiment 5 of the STE study (beyond Yin et al. 2019): the same comparison of pseudo-gradients for
 * Larq's binary quantizers. Networks of lowbit's zoo (binary-mlp, larq-intro-cnn) are trained with
 * each sign quantizer (ste_sign, approx_sign, swish_sign, and the identity-gradient sign) on inputs
 * and kernels, and the final training loss and test accuracy are compared; the forward function and
 * the pseudo-gradient of each quantizer are plotted side by side.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type DataSplit, mnist, subset } from '../../data/index.js';
import { ConfigError } from '../../errors.js';
import { lineChart } from '../../plot/chart.js';
import type { QuantizerIdentifier } from '../../quantizers/index.js';
import { type EpochLog, evaluateModel, larqAdam, trainModel } from '../../train/index.js';
import { binaryMlp, larqIntroCnn } from '../../zoo/index.js';
import { formatNumber, type Report } from '../report.js';
import { median } from './experiments.js';
import {
  BINARY_QUANTIZER_CASES,
  grid,
  makeQuantizer,
  type QuantizerCase,
  quantizerShape,
  shapeChart,
} from './pseudo-gradient.js';

/** Networks experiment 5 can train. */
export const BINARY_NETWORKS = ['binary-mlp', 'larq-intro-cnn'] as const;
/** A network of experiment 5, named as in lowbit's zoo. */
export type BinaryNetwork = (typeof BINARY_NETWORKS)[number];

/**
 * lowbit's zoo `binary-mlp` (Courbariaux et al. 2016) with `quantizer` in place of ste_sign on every
 * binarized input and kernel. With 'ste_sign' it is the zoo network (same seed, same initial weights).
 */
export function binaryMlpWith(quantizer: QuantizerIdentifier, seed = 0): tfl.LayersModel {
  return binaryMlp({ quantizer: checked(quantizer, 'binaryMlpWith'), seed });
}

/**
 * lowbit's zoo `larq-intro-cnn` (Larq's introductory MNIST network) with `quantizer` in place of
 * ste_sign on every binarized input and kernel. With 'ste_sign' it is the zoo network.
 */
export function larqIntroCnnWith(quantizer: QuantizerIdentifier, seed = 0): tfl.LayersModel {
  return larqIntroCnn({ quantizer: checked(quantizer, 'larqIntroCnnWith'), seed });
}

/** The quantizer, after checking that it resolves to one (not null). */
function checked(quantizer: QuantizerIdentifier, where: string): QuantizerIdentifier {
  makeQuantizer(quantizer, where);
  return quantizer;
}

const BUILDERS: Record<BinaryNetwork, (q: QuantizerIdentifier, seed: number) => tfl.LayersModel> = {
  'binary-mlp': binaryMlpWith,
  'larq-intro-cnn': larqIntroCnnWith,
};

/** Settings of experiment 5; see {@link binarySteSettings}. */
export interface BinarySteSettings {
  /** Networks and, per network, how many seeds and epochs. */
  networks: { network: BinaryNetwork; seeds: number; epochs: number }[];
  /** Training examples of the embedded MNIST (its first ones; the split is class-interleaved). */
  trainCount: number;
  /** Test examples (the first ones of the test split). */
  testCount: number;
  batchSize: number;
  /** Adam's learning rate (Larq's recipe: Adam, Keras defaults). */
  learningRate: number;
}

/**
 * Settings of experiment 5. Full: binary-mlp with 2 seeds x 4 epochs and larq-intro-cnn with 1 seed x
 * 4 epochs on the whole embedded MNIST split (8,000 training, 2,000 test images; 500 steps, enough for
 * BatchNorm's moving statistics at Keras's momentum 0.99 to settle), about 10 minutes of one core per
 * network; quick: binary-mlp, 1 seed, 2 epochs on 512 images.
 */
export function binarySteSettings(quick: boolean): BinarySteSettings {
  return {
    networks: quick
      ? [{ network: 'binary-mlp', seeds: 1, epochs: 2 }]
      : [
          { network: 'binary-mlp', seeds: 2, epochs: 4 },
          { network: 'larq-intro-cnn', seeds: 1, epochs: 4 },
        ],
    trainCount: quick ? 512 : 8000,
    testCount: quick ? 500 : 2000,
    batchSize: 64,
    learningRate: 1e-3,
  };
}

/** One training run of experiment 5. */
export interface BinaryRun {
  network: BinaryNetwork;
  quantizer: string;
  seed: number;
  /** Inference-mode loss on the first (at most 1,000) training examples before training. */
  startTrainLoss: number;
  /** The same after training. */
  endTrainLoss: number;
  /** Mean training loss over the last epoch's batches (training mode). */
  finalTrainLoss: number;
  testLoss: number;
  testAccuracy: number;
  epochs: EpochLog[];
  seconds: number;
}

/** Result of {@link binarySteExperiment}. */
export interface BinarySteResult {
  settings: BinarySteSettings;
  seed: number;
  backend: string;
  quantizers: string[];
  runs: BinaryRun[];
  seconds: number;
}

/** Options of {@link binarySteExperiment}. */
export interface BinarySteOptions {
  settings: BinarySteSettings;
  seed: number;
  /** The quantizers to compare (default {@link BINARY_QUANTIZER_CASES}). */
  cases?: readonly QuantizerCase[];
  log?: (line: string) => void;
}

function firstN(split: DataSplit, n: number): DataSplit {
  if (n >= split.count) return split;
  return subset(
    split,
    Array.from({ length: n }, (_, i) => i),
  );
}

/**
 * Runs experiment 5: for each network, seed and quantizer, trains from the same seeded initial
 * weights with Adam (lr 1e-3, Keras defaults, Larq's recipe), batch 64, sparse cross-entropy, with
 * the same data order for every quantizer, and measures the final training loss and test accuracy.
 */
export async function binarySteExperiment(options: BinarySteOptions): Promise<BinarySteResult> {
  const { settings, seed } = options;
  const cases = options.cases ?? BINARY_QUANTIZER_CASES;
  const log = options.log ?? (() => {});
  for (const [k, v] of [
    ['trainCount', settings.trainCount],
    ['testCount', settings.testCount],
    ['batchSize', settings.batchSize],
    ...settings.networks.flatMap((n) => [
      [`${n.network}.seeds`, n.seeds],
      [`${n.network}.epochs`, n.epochs],
    ]),
  ] as [string, number][]) {
    if (!Number.isInteger(v) || v < 1) {
      throw new ConfigError({
        where: `binarySteExperiment settings.${k}`,
        received: v,
        expected: 'a positive integer',
      });
    }
  }
  for (const n of settings.networks) {
    if (!(BINARY_NETWORKS as readonly string[]).includes(n.network)) {
      throw new ConfigError({
        where: 'binarySteExperiment settings.networks',
        received: n.network,
        expected: BINARY_NETWORKS,
      });
    }
  }
  const started = Date.now();
  const ds = await mnist();
  const train = firstN(ds.train, settings.trainCount);
  const test = firstN(ds.test, settings.testCount);
  const trainEval = firstN(train, 1000);
  const runs: BinaryRun[] = [];
  for (const net of settings.networks) {
    for (let k = 0; k < net.seeds; k++) {
      const runSeed = seed + 1000 * k + (net.network === 'binary-mlp' ? 1 : 2);
      for (const c of cases) {
        const t0 = Date.now();
        const model = BUILDERS[net.network](c.quantizer, runSeed);
        const start = evaluateModel(model, trainEval);
        const run = await trainModel({
          model,
          data: train,
          epochs: net.epochs,
          batchSize: settings.batchSize,
          optimizer: larqAdam(settings.learningRate),
          seed: runSeed,
          yieldEvery: 'never',
        });
        const end = evaluateModel(model, trainEval);
        const ev = evaluateModel(model, test);
        model.dispose();
        const r: BinaryRun = {
          network: net.network,
          quantizer: c.name,
          seed: runSeed,
          startTrainLoss: start.loss,
          endTrainLoss: end.loss,
          finalTrainLoss: run.epochs[run.epochs.length - 1].loss,
          testLoss: ev.loss,
          testAccuracy: ev.accuracy,
          epochs: run.epochs,
          seconds: (Date.now() - t0) / 1000,
        };
        runs.push(r);
        log(
          `${net.network} seed ${runSeed} ${c.name}: train loss ${r.finalTrainLoss}, test accuracy ${r.testAccuracy} (${r.seconds} s)`,
        );
      }
    }
  }
  return {
    settings,
    seed,
    backend: tf.getBackend(),
    quantizers: cases.map((c) => c.name),
    runs,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Per network and quantizer: median, min and max over seeds of the final training loss and test accuracy. */
export interface BinarySummaryRow {
  network: BinaryNetwork;
  quantizer: string;
  seeds: number;
  medianTrainLoss: number;
  medianTestAccuracy: number;
  /** Median over seeds of the last epoch's mean training accuracy (training mode, batch statistics). */
  medianTrainAccuracy: number;
  minTestAccuracy: number;
  maxTestAccuracy: number;
}

/** Summarizes {@link BinarySteResult.runs} per network and quantizer. */
export function summarizeBinary(r: BinarySteResult): BinarySummaryRow[] {
  const out: BinarySummaryRow[] = [];
  for (const net of r.settings.networks) {
    for (const q of r.quantizers) {
      const xs = r.runs.filter((x) => x.network === net.network && x.quantizer === q);
      if (xs.length === 0) continue;
      const acc = xs.map((x) => x.testAccuracy);
      out.push({
        network: net.network,
        quantizer: q,
        seeds: xs.length,
        medianTrainLoss: median(xs.map((x) => x.finalTrainLoss)),
        medianTestAccuracy: median(acc),
        medianTrainAccuracy: median(xs.map((x) => x.epochs[x.epochs.length - 1].accuracy)),
        minTestAccuracy: Math.min(...acc),
        maxTestAccuracy: Math.max(...acc),
      });
    }
  }
  return out;
}

/** Appends experiment 5's section (pseudo-gradient shapes, table, training curves) to `report`. */
export function addBinarySteSection(
  report: Report,
  r: BinarySteResult,
  cases: readonly QuantizerCase[] = BINARY_QUANTIZER_CASES,
): void {
  const st = r.settings;
  const s = report.section('ste-binary', "5. Beyond the paper: Larq's binary quantizers");
  s.text(
    `Question: does the choice of pseudo-gradient matter for binarized networks the way the STE matters for quantized ReLUs? Each sign quantizer is used on every binarized input and kernel of the network (Larq's default places ste_sign in both; the latent kernels keep weight_clip to [-1, 1]); the forward function is the same sign(x) (+1 at 0) for all of them, only the pseudo-gradient differs: ste_sign 1{|x| <= 1} (Courbariaux et al. 2016), approx_sign (2 - 2|x|) 1{|x| <= 1} (Bi-Real Net, Liu et al. 2018), swish_sign beta (2 - beta x tanh(beta x / 2)) / (1 + cosh(beta x)) with beta = 5 (BNN+, Darabi et al. 2018), and the identity-gradient sign 1 everywhere (a custom quantizer made with tf.customGrad and setPrecision(1, ...)). ` +
      `Training: the embedded MNIST, ${st.trainCount} training and ${st.testCount} test images, Adam lr ${formatNumber(st.learningRate)} (Keras defaults, Larq's recipe), batch ${st.batchSize}, ${st.networks.map((n) => `${n.network}: ${n.seeds} seed${n.seeds > 1 ? 's' : ''} x ${n.epochs} epochs`).join(', ')}; for each seed every quantizer starts from the same initial weights and sees the same data order. "train loss" is the mean over the last epoch's batches (training mode). Backend ${r.backend}; ${formatNumber(r.seconds)} s wall.`,
  );
  const shapes = cases.map((c) => quantizerShape(c, grid(-2, 2, 401)));
  s.plot(
    'ste-binary-shapes',
    shapeChart('Sign quantizers: forward and pseudo-gradient', shapes),
    'Forward q(x) (identical for all: sign with sign(0) = +1) and the pseudo-gradient dq/dx each quantizer uses in backprop, computed with tf.grad through the quantizer.',
  );
  s.set(
    'shapes',
    shapes.map((x) => ({
      name: x.name,
      at: [-1.5, -1, -0.5, 0, 0.5, 1, 1.5].map((v) => ({
        x: v,
        value: x.value[x.x.indexOf(v)],
        gradient: x.gradient[x.x.indexOf(v)],
      })),
    })),
  );
  const summary = summarizeBinary(r);
  s.table(
    {
      columns: [
        'network',
        'quantizer',
        'seeds',
        'train loss (median)',
        'train accuracy % (last epoch, median)',
        'test accuracy % (median)',
        'test accuracy % (min - max)',
      ],
      rows: summary.map((x) => [
        x.network,
        x.quantizer,
        x.seeds,
        x.medianTrainLoss,
        Number((100 * x.medianTrainAccuracy).toFixed(2)),
        Number((100 * x.medianTestAccuracy).toFixed(2)),
        `${(100 * x.minTestAccuracy).toFixed(2)} - ${(100 * x.maxTestAccuracy).toFixed(2)}`,
      ]),
    },
    `Final training loss and accuracy per quantizer (median over seeds). Test accuracy is measured in inference mode, with BatchNorm's moving statistics (Keras momentum 0.99, as in Larq's networks); after ${st.networks.map((n) => `${n.epochs * Math.ceil(st.trainCount / st.batchSize)} steps (${n.network})`).join(', ')} they have not fully settled, which lowers and scatters the test accuracy; the training-mode accuracy over the last epoch (batch statistics) is shown for comparison.`,
  );
  for (const net of st.networks) {
    const runs = r.runs.filter(
      (x) => x.network === net.network && x.seed === r.runs.find((y) => y.network === net.network)?.seed,
    );
    s.plot(
      `ste-binary-${net.network}-loss`,
      lineChart({
        title: `${net.network}: training loss per epoch (first seed)`,
        panels: [
          {
            series: runs.map((x) => ({
              name: x.quantizer,
              x: x.epochs.map((e) => e.epoch + 1),
              y: x.epochs.map((e) => e.loss),
              points: true,
            })),
            x: { title: 'epoch' },
            y: { title: 'mean training loss', scale: 'log' },
          },
        ],
        width: 360,
        height: 220,
        legendTitle: 'quantizer',
      }),
      `Mean training loss per epoch for each quantizer (${net.network}, first seed).`,
    );
  }
  s.set('settings', st);
  s.set('summary', summary);
  s.set('runs', r.runs);
  s.text(binaryFindings(summary));
}

function binaryFindings(summary: BinarySummaryRow[]): string {
  const parts = ['**Findings.**'];
  const nets = [...new Set(summary.map((x) => x.network))];
  for (const n of nets) {
    const xs = summary.filter((x) => x.network === n);
    const byLoss = [...xs].sort((a, b) => a.medianTrainLoss - b.medianTrainLoss);
    const byAcc = [...xs].sort((a, b) => b.medianTestAccuracy - a.medianTestAccuracy);
    const id = xs.find((x) => x.quantizer === 'identity_sign');
    const spread =
      Math.max(...xs.map((x) => x.medianTestAccuracy)) - Math.min(...xs.map((x) => x.medianTestAccuracy));
    parts.push(
      `${n}: lowest training loss ${byLoss[0].quantizer} (${formatNumber(byLoss[0].medianTrainLoss)}), highest ${byLoss[byLoss.length - 1].quantizer} (${formatNumber(byLoss[byLoss.length - 1].medianTrainLoss)}); best test accuracy ${byAcc[0].quantizer} (${(100 * byAcc[0].medianTestAccuracy).toFixed(2)}%), worst ${byAcc[byAcc.length - 1].quantizer} (${(100 * byAcc[byAcc.length - 1].medianTestAccuracy).toFixed(2)}%); spread of median accuracies ${(100 * spread).toFixed(2)} points.` +
        (id
          ? ` The unclipped identity-gradient sign ranks ${byLoss.indexOf(id) + 1} of ${xs.length} by training loss: ${byLoss.indexOf(id) === xs.length - 1 ? 'as the paper would predict for the identity STE, it trains worst' : 'unlike the identity STE for quantized ReLUs in the paper, it is not the worst here'}.`
          : ''),
    );
  }
  return parts.join(' ');
}

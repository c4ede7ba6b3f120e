/**
 * The training run behind `lowbit train` and `lowbit demo`: data, model, optimizer, seeded training
 * with a progress bar, evaluation, and the run directory (model, metrics.json, summary), with a
 * clean checkpoint on Ctrl-C and `--resume`.
 */
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Command } from 'commander';
import { backend, ConfigError, data, io, LowbitError, models, train, zoo } from '../../index.js';
import type { CliContext } from '../context.js';
import { EXIT_CODES } from '../errors.js';
import { Interrupt } from '../interrupt.js';
import type { EpochStats } from '../progress.js';
import {
  buildOptimizer,
  loadModelDir,
  type OptimizerName,
  RUN_FILES,
  readJsonIfPresent,
  selectBackend,
  writeJson,
  writeText,
} from './common.js';

/** Learning-rate schedules of `--schedule`. */
export const SCHEDULES = ['constant', 'cosine'] as const;

/** Everything that defines a training run; recorded in metrics.json so `--resume` can continue it. */
export interface TrainSettings {
  /** Zoo network name. */
  model: string;
  /** Options of the zoo network besides seed, input shape and classes (e.g. quicknet-tiny's filters). */
  modelOptions?: Record<string, unknown>;
  /** Dataset name. */
  data: string;
  /** Directory of the dataset files (fashion-mnist), if given. */
  dataDir?: string;
  /** Epochs to train up to. */
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  /** Peak learning rate of Adam (the non-binary variables for `case`). */
  lr: number;
  /** 'constant', or 'cosine': lr(e) = lr (1 + cos(pi e / epochs)) / 2 for epoch e = 0 .. epochs - 1. */
  schedule: (typeof SCHEDULES)[number];
  /** Seed of the initial weights and of every epoch's shuffle. */
  seed: number;
  /** Use only the first `limit` examples of each split (they are in a mixed order), or null for all. */
  limit: number | null;
  /** Requested backend ('auto' or a name). */
  backend: string;
  /**
   * After training, re-estimate every BatchNormalization's moving statistics on the training split
   * with the final weights (`lq.train.recalibrateBatchNorm`); absent in runs of older versions.
   */
  recalibrateBatchNorm?: boolean;
}

/** One finished epoch in metrics.json. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  loss: number;
  accuracy: number;
  learningRate: number;
  /** Wall seconds of the epoch's training steps. */
  trainSeconds: number;
  samplesPerSecond: number;
}

/** The content of metrics.json. */
export interface RunMetrics {
  format: 'lowbit-run';
  version: 1;
  /** 'complete', or 'interrupted' (a checkpoint at the end of epoch `epochsDone`). */
  status: 'complete' | 'interrupted';
  settings: TrainSettings;
  /** Epochs whose training is in the saved weights. */
  epochsDone: number;
  /** Whether the saved model carries the optimizer's state (false only before the first epoch ends). */
  optimizerState: boolean;
  history: EpochRecord[];
  /** Test-split evaluation of the saved model (absent for an interrupted run). */
  test?: { loss: number; accuracy: number; count: number };
  /** What `recalibrateBatchNorm` changed, per BatchNormalization layer (runs with that setting). */
  batchNormRecalibration?: { name: string; meanShift: number; logVarianceShift: number }[];
  dataset: { name: string; source: string; trainCount: number; testCount: number };
  backend: backend.BackendInfo;
  timing: {
    /** Wall seconds of this invocation (loading, training, evaluation, saving). */
    wallSeconds: number;
    /** CPU seconds of this process in this invocation (the machine may be shared). */
    cpuSeconds: number;
    /** Wall seconds spent in training steps, over every invocation of the run. */
    trainSeconds: number;
    /** Mean training throughput of this invocation's steps. */
    samplesPerSecond: number;
    evaluateSeconds: number;
  };
  /** The command line of each invocation (a resumed run has several). */
  commandLines: string[][];
  startedAt: string;
  finishedAt: string;
}

/** What {@link runTraining} returns. */
export interface TrainRun {
  model: tfl.LayersModel;
  metrics: RunMetrics;
  dataset: data.Dataset;
  /** The (possibly limited) test split the model was evaluated on. */
  test: data.DataSplit;
  /** The summary tables as printed to summary.txt. */
  summaryText: string;
  out: string;
}

/** Raised when a run was interrupted after its checkpoint was saved: exit code 130 (128 + SIGINT). */
export class TrainingInterrupted extends LowbitError {
  override name = 'TrainingInterrupted';
  readonly exitCode = EXIT_CODES.interrupted;
}

/** The command line of this invocation: `lowbit` and the arguments after it. */
export function commandLine(command: Command): string[] {
  let root = command;
  while (root.parent) root = root.parent;
  return ['lowbit', ...(root as unknown as { rawArgs: string[] }).rawArgs];
}

function firstN(split: data.DataSplit, limit: number | null): data.DataSplit {
  if (limit === null || limit >= split.count) return split;
  return data.subset(
    split,
    Array.from({ length: limit }, (_, i) => i),
  );
}

/** The learning rate of epoch e (0-based) under `settings`. */
export function learningRateAt(settings: TrainSettings, epoch: number): number {
  if (settings.schedule === 'constant') return settings.lr;
  return (settings.lr * (1 + Math.cos((Math.PI * epoch) / settings.epochs))) / 2;
}

/** Saved model artifacts held in memory: the state at the end of the last finished epoch. */
async function capture(model: tfl.LayersModel, includeOptimizer: boolean): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer },
  );
  return artifacts as tf.io.ModelArtifacts;
}

/** Options of {@link runTraining} besides the settings. */
export interface RunOptions {
  ctx: CliContext;
  command: Command;
  settings: TrainSettings;
  out: string;
  /** A run directory to continue (its metrics.json and checkpoint). */
  resume?: { dir: string; metrics: RunMetrics };
  /** Say what happens on stderr (default true). */
  verbose?: boolean;
}

/**
 * Trains (or continues) a run and writes its directory: model.json + weights.bin with the optimizer
 * state, metrics.json, summary.txt and summary.json. On an interrupt, the state at the end of the
 * last finished epoch is saved instead (so that `--resume` repeats the run exactly) and
 * {@link TrainingInterrupted} is thrown.
 */
export async function runTraining(options: RunOptions): Promise<TrainRun> {
  // Listening from the start: a Ctrl-C while loading stops training after its first batch.
  const interrupt = new Interrupt({ stream: options.ctx.io.stderr, source: options.ctx.io.signals });
  try {
    return await trainAndSave(options, interrupt);
  } finally {
    interrupt.dispose();
  }
}

async function trainAndSave(options: RunOptions, interrupt: Interrupt): Promise<TrainRun> {
  const { ctx, command, settings, resume } = options;
  const out = resolve(options.out);
  const say = (line: string) => {
    if (options.verbose !== false && !ctx.json(command)) ctx.io.stderr.write(`${line}\n`);
  };
  const started = new Date();
  const cpu0 = process.cpuUsage();
  const backendName = await selectBackend(settings.backend);

  const dataset = await data.loadDataset(settings.data, { dir: settings.dataDir, env: ctx.io.env });
  const trainSplit = firstN(dataset.train, settings.limit);
  const testSplit = firstN(dataset.test, settings.limit);

  let model: tfl.LayersModel;
  let initialEpoch = 0;
  let history: EpochRecord[] = [];
  let previousTrainSeconds = 0;
  if (resume) {
    model = await loadModelDir(resume.dir);
    initialEpoch = resume.metrics.epochsDone;
    history = resume.metrics.history.slice(0, initialEpoch);
    previousTrainSeconds = history.reduce((a, h) => a + h.trainSeconds, 0);
    if (!resume.metrics.optimizerState || !model.optimizer) {
      model.compile({
        optimizer: buildOptimizer(settings.optimizer, settings.lr, model),
        loss: 'sparseCategoricalCrossentropy',
        metrics: ['accuracy'],
      });
    }
    say(
      `resuming ${settings.model} from ${resume.dir} after epoch ${initialEpoch}/${settings.epochs} (${backendName} backend)`,
    );
  } else {
    model = zoo.get(settings.model, {
      ...settings.modelOptions,
      seed: settings.seed,
      inputShape: dataset.imageShape,
      numClasses: dataset.classNames.length,
    });
    model.compile({
      optimizer: buildOptimizer(settings.optimizer, settings.lr, model),
      loss: 'sparseCategoricalCrossentropy',
      metrics: ['accuracy'],
    });
    say(
      `training ${settings.model} on ${dataset.name} (${trainSplit.count} train / ${testSplit.count} test examples), ` +
        `${settings.epochs} epochs, batch ${settings.batchSize}, ${settings.optimizer} lr ${settings.lr} ${settings.schedule}, ` +
        `seed ${settings.seed}, ${backendName} backend`,
    );
  }

  // The checkpoint an interrupt saves: the state at the end of the last finished epoch (at first,
  // the state training starts from).
  let checkpoint = {
    artifacts: await capture(model, resume ? resume.metrics.optimizerState && !!model.optimizer : false),
    epochsDone: initialEpoch,
    optimizerState: resume ? resume.metrics.optimizerState : false,
  };
  const steps = data.batchCount(trainSplit.count, settings.batchSize);
  let batchesInEpoch = 0;
  const finished: number[] = [];
  const snapshotter: tfl.CustomCallbackArgs = {
    onEpochBegin: async () => {
      batchesInEpoch = 0;
    },
    onBatchEnd: async () => {
      batchesInEpoch++;
    },
    onEpochEnd: async (epoch: number) => {
      // tfjs also ends an epoch cut short by stopTraining: only a whole epoch makes a checkpoint.
      if (batchesInEpoch < steps) return;
      finished.push(epoch);
      checkpoint = { artifacts: await capture(model, true), epochsDone: epoch + 1, optimizerState: true };
    },
  };

  const progress = ctx.progress(command);
  let result: train.TrainResult;
  try {
    result = await train.trainModel({
      model,
      data: trainSplit,
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      seed: settings.seed,
      initialEpoch,
      learningRate: (e) => learningRateAt(settings, e),
      callbacks: [progress, new tfl.CustomCallback(snapshotter), interrupt.callback()],
    });
  } catch (e) {
    model.dispose();
    throw e;
  }

  const statsByEpoch = new Map<number, EpochStats>(progress.epochs.map((s) => [s.epoch, s]));
  for (const log of result.epochs) {
    if (!finished.includes(log.epoch)) continue;
    history.push({
      epoch: log.epoch + 1,
      loss: log.loss,
      accuracy: log.accuracy,
      learningRate: log.learningRate ?? settings.lr,
      trainSeconds: log.trainSeconds,
      samplesPerSecond: statsByEpoch.get(log.epoch + 1)?.samplesPerSecond ?? 0,
    });
  }
  const interrupted = checkpoint.epochsDone < settings.epochs;
  const info = await backend.backendInfo();
  const timing = (evaluateSeconds: number) => {
    const cpu = process.cpuUsage(cpu0);
    return {
      wallSeconds: (Date.now() - started.getTime()) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      trainSeconds: previousTrainSeconds + result.trainSeconds,
      samplesPerSecond: result.samplesPerSecond,
      evaluateSeconds,
    };
  };
  const base = {
    format: 'lowbit-run' as const,
    version: 1 as const,
    settings,
    history,
    dataset: {
      name: dataset.name,
      source: dataset.source,
      trainCount: trainSplit.count,
      testCount: testSplit.count,
    },
    backend: info,
    commandLines: [...(resume?.metrics.commandLines ?? []), commandLine(command)],
    startedAt: resume?.metrics.startedAt ?? started.toISOString(),
  };

  if (interrupted) {
    await io.fileSystem(out).save(checkpoint.artifacts);
    const metrics: RunMetrics = {
      ...base,
      status: 'interrupted',
      epochsDone: checkpoint.epochsDone,
      optimizerState: checkpoint.optimizerState,
      timing: timing(0),
      finishedAt: new Date().toISOString(),
    };
    await writeJson(join(out, RUN_FILES.metrics), metrics);
    model.dispose();
    throw new TrainingInterrupted(
      `interrupted: checkpoint after epoch ${checkpoint.epochsDone}/${settings.epochs} saved to ${out}; ` +
        `continue with: lowbit train --resume ${out}`,
    );
  }

  let recalibrated: ReturnType<typeof train.recalibrateBatchNorm> | undefined;
  if (settings.recalibrateBatchNorm) {
    recalibrated = train.recalibrateBatchNorm(model, trainSplit);
    const shift = Math.max(0, ...recalibrated.map((r) => r.meanShift));
    say(
      `BatchNorm statistics re-estimated on the ${trainSplit.count} training examples (${recalibrated.length} layers; largest moving-mean shift ${shift.toFixed(3)} standard deviations)`,
    );
  }
  say('evaluating on the test split');
  const t0 = performance.now();
  const evaluation = train.evaluateModel(model, testSplit);
  const evaluateSeconds = (performance.now() - t0) / 1000;
  await io.saveModel(model, out, { includeOptimizer: true });
  const tables: string[] = [];
  const report = models.summary(model, { metrics: ['flops', 'energy'], printFn: (t) => tables.push(t) });
  const summaryText = tables.join('\n\n');
  await writeText(join(out, RUN_FILES.summaryText), summaryText);
  await writeJson(join(out, RUN_FILES.summaryJson), report);
  const metrics: RunMetrics = {
    ...base,
    status: 'complete',
    epochsDone: settings.epochs,
    optimizerState: true,
    test: evaluation,
    ...(recalibrated ? { batchNormRecalibration: recalibrated } : {}),
    timing: timing(evaluateSeconds),
    finishedAt: new Date().toISOString(),
  };
  await writeJson(join(out, RUN_FILES.metrics), metrics);
  return { model, metrics, dataset, test: testSplit, summaryText, out };
}

/**
 * Reads the metrics.json of a run directory for `--resume`.
 *
 * @throws ConfigError when `dir` is not a run directory written by `lowbit train`.
 */
export async function readRun(dir: string): Promise<RunMetrics> {
  const metrics = await readJsonIfPresent<RunMetrics>(join(dir, RUN_FILES.metrics));
  if (metrics?.format !== 'lowbit-run' || !metrics.settings) {
    throw new ConfigError({
      where: 'lowbit train --resume',
      received: dir,
      expected: `a run directory written by lowbit train (with ${RUN_FILES.metrics} and the model)`,
    });
  }
  return metrics;
}

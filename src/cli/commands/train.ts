/**
 * `lowbit train`: train a zoo network on a dataset, evaluate it, and save the run directory.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, data, zoo } from '../../index.js';
import type { CommandFactory } from '../context.js';
import {
  backendChoices,
  integer,
  OPTIMIZER_NAMES,
  type OptimizerName,
  positiveInt,
  positiveNumber,
} from './common.js';
import { type RunMetrics, readRun, runTraining, SCHEDULES, type TrainSettings } from './train-run.js';

/** An accuracy as a percentage with two decimals: `97.35%`. */
export const pct = (a: number): string => `${(100 * a).toFixed(2)}%`;

/** commander parser of a JSON object option. */
function jsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('expected a JSON object, e.g. \'{"filters":[16,32]}\'.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError('expected a JSON object, e.g. \'{"filters":[16,32]}\'.');
  }
  return value as Record<string, unknown>;
}

/** Options of `lowbit train` as commander parses them. */
interface TrainOpts {
  model: string;
  modelOptions?: Record<string, unknown>;
  data: string;
  dir?: string;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  schedule: TrainSettings['schedule'];
  seed: number;
  backend: string;
  out?: string;
  resume?: string;
  limit?: number;
  recalibrateBn?: boolean;
}

/** The settings of a resumed run: the recorded ones, with `--epochs` allowed to grow. */
function resumedSettings(command: Command, opts: TrainOpts, recorded: RunMetrics): TrainSettings {
  const settings = { ...recorded.settings };
  const given = (name: string) => command.getOptionValueSource(name) === 'cli';
  const keys: [keyof TrainOpts, keyof TrainSettings, string][] = [
    ['model', 'model', '--model'],
    ['modelOptions', 'modelOptions', '--model-options'],
    ['data', 'data', '--data'],
    ['batchSize', 'batchSize', '--batch-size'],
    ['optimizer', 'optimizer', '--optimizer'],
    ['lr', 'lr', '--lr'],
    ['schedule', 'schedule', '--schedule'],
    ['seed', 'seed', '--seed'],
    ['limit', 'limit', '--limit'],
  ];
  for (const [opt, key, flag] of keys) {
    if (given(opt) && JSON.stringify(opts[opt]) !== JSON.stringify(settings[key])) {
      throw new ConfigError({
        where: `lowbit train --resume ${opts.resume} ${flag}`,
        received: opts[opt],
        expected: `the run's own value ${JSON.stringify(settings[key])} (a resumed run keeps its settings; only --epochs, --backend and --out may change)`,
      });
    }
  }
  if (given('epochs')) {
    if (opts.epochs <= recorded.epochsDone) {
      throw new ConfigError({
        where: `lowbit train --resume ${opts.resume} --epochs`,
        received: opts.epochs,
        expected: `more than the ${recorded.epochsDone} epochs already done`,
      });
    }
    settings.epochs = opts.epochs;
  } else if (recorded.epochsDone >= settings.epochs) {
    throw new ConfigError({
      where: `lowbit train --resume ${opts.resume}`,
      received: `a complete run (${recorded.epochsDone}/${settings.epochs} epochs)`,
      expected: 'an interrupted run, or --epochs above the epochs done to train further',
    });
  }
  if (given('backend')) settings.backend = opts.backend;
  return settings;
}

/** `lowbit train`. */
export const trainCommand: CommandFactory = (ctx) =>
  new Command('train')
    .description('train a zoo network, evaluate it on the test split and save the run directory')
    .addOption(new Option('--model <name>', 'zoo network').choices(zoo.names()).default('larq-intro-cnn'))
    .option(
      '--model-options <json>',
      'options of the zoo network as JSON, e.g. \'{"filters":[16,32]}\'',
      jsonObject,
    )
    .addOption(new Option('--data <name>', 'dataset').choices(data.datasetNames()).default('mnist'))
    .option('--dir <dir>', 'directory of the dataset files (fashion-mnist)')
    .option('--epochs <n>', 'epochs to train', positiveInt, 6)
    .option('--batch-size <n>', 'examples per batch', positiveInt, 64)
    .addOption(
      new Option(
        '--optimizer <name>',
        'adam; bop (Bop for every variable: binary-only models); case (Bop for binary kernels, Adam for the rest)',
      )
        .choices(OPTIMIZER_NAMES)
        .default('adam'),
    )
    .option('--lr <x>', 'learning rate of Adam', positiveNumber, 1e-3)
    .addOption(
      new Option('--schedule <name>', 'learning-rate schedule').choices(SCHEDULES).default('constant'),
    )
    .option('--seed <n>', 'seed of the initial weights and of the shuffles', integer, 0)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(backendChoices()).default('auto'))
    .option('--out <dir>', 'run directory to write (default: ./runs/<model>-<data>-s<seed>)')
    .option(
      '--resume <dir>',
      'continue an interrupted run (or train a finished one further with a larger --epochs)',
    )
    .option('--limit <n>', 'use only the first n examples of each split (quick runs)', positiveInt)
    .option(
      '--recalibrate-bn',
      "after training, re-estimate BatchNorm's moving statistics on the training split with the final weights",
    )
    .addHelpText(
      'after',
      `
Writes to the run directory: model.json + weights.bin (with the optimizer state), metrics.json
(per-epoch history, test accuracy, timing, backend, seed, command line), summary.txt, summary.json.
Ctrl-C stops after the current batch and saves the state at the end of the last finished epoch;
--resume continues it with the same settings and the same seeded example order.

Examples:
  lowbit train --model larq-intro-cnn --data mnist --epochs 6 --out runs/cnn
  lowbit train --model binary-mlp --data fashion-mnist --optimizer case --lr 1e-2 --out runs/mlp
  lowbit train --resume runs/cnn
  lowbit train --resume runs/cnn --epochs 10
  lowbit train --model binary-mlp --epochs 1 --limit 256 --json`,
    )
    .action(async function (this: Command) {
      const opts = this.opts<TrainOpts>();
      let settings: TrainSettings;
      let resume: { dir: string; metrics: RunMetrics } | undefined;
      if (opts.resume) {
        const metrics = await readRun(opts.resume);
        settings = resumedSettings(this, opts, metrics);
        resume = { dir: opts.resume, metrics };
      } else {
        settings = {
          model: opts.model,
          ...(opts.modelOptions ? { modelOptions: opts.modelOptions } : {}),
          data: opts.data,
          ...(opts.dir ? { dataDir: opts.dir } : {}),
          epochs: opts.epochs,
          batchSize: opts.batchSize,
          optimizer: opts.optimizer,
          lr: opts.lr,
          schedule: opts.schedule,
          seed: opts.seed,
          limit: opts.limit ?? null,
          backend: opts.backend,
          ...(opts.recalibrateBn ? { recalibrateBatchNorm: true } : {}),
        };
      }
      if (opts.dir && resume) settings.dataDir = opts.dir;
      const out = opts.out ?? opts.resume ?? `runs/${settings.model}-${settings.data}-s${settings.seed}`;
      const run = await runTraining({ ctx, command: this, settings, out, resume });
      run.model.dispose();
      const { metrics } = run;
      ctx.print(this, { out: run.out, ...metrics }, () => {
        const t = metrics.test;
        const last = metrics.history[metrics.history.length - 1];
        return [
          `test accuracy ${t ? pct(t.accuracy) : '-'} (loss ${t?.loss.toFixed(4)}, ${t?.count} examples)`,
          `train accuracy ${last ? pct(last.accuracy) : '-'} in the last epoch; ` +
            `${Math.round(metrics.timing.samplesPerSecond)} samples/s, ${metrics.timing.trainSeconds.toFixed(1)} s of training on ${metrics.backend.name}`,
          `saved to ${run.out} (model.json, weights.bin, metrics.json, summary.txt, summary.json)`,
        ].join('\n');
      });
    });

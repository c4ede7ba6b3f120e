/**
 * `lowbit evaluate DIR`: loss, accuracy and per-class accuracy of a saved model on a test split.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Command, Option } from 'commander';
import { data, train } from '../../index.js';
import type { CommandFactory } from '../context.js';
import { table } from '../format.js';
import {
  backendChoices,
  loadModelDir,
  positiveInt,
  RUN_FILES,
  readJsonIfPresent,
  selectBackend,
} from './common.js';
import { pct } from './train.js';
import type { RunMetrics } from './train-run.js';

/** Accuracy of one class. */
export interface ClassAccuracy {
  label: number;
  name: string;
  /** Test examples of the class. */
  count: number;
  /** Of them, predicted as the class (argmax, first on ties). */
  correct: number;
  accuracy: number;
}

/**
 * Per-class accuracy of a classifier on a split: for each class c, the fraction of its examples
 * whose most probable class (first on ties) is c. Predicts in batches in inference mode.
 */
export function perClassAccuracy(
  model: tfl.LayersModel,
  split: data.DataSplit,
  classNames: readonly string[],
  batchSize = 256,
): ClassAccuracy[] {
  const count = new Array<number>(classNames.length).fill(0);
  const correct = new Array<number>(classNames.length).fill(0);
  const inputShape = model.inputs[0].shape;
  for (const batch of data.batches(split, { batchSize, shuffle: false })) {
    const probs = tf.tidy(() => {
      const { x, y } = data.toTensors(batch);
      y.dispose();
      const xs =
        inputShape.length === 4 ? x : tf.reshape(x, [batch.size, ...(inputShape.slice(1) as number[])]);
      return model.predict(xs) as tf.Tensor;
    });
    const p = probs.dataSync();
    const classes = probs.shape[probs.shape.length - 1] as number;
    probs.dispose();
    for (let i = 0; i < batch.size; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (p[i * classes + c] > p[i * classes + best]) best = c;
      const label = batch.y[i];
      count[label]++;
      if (best === label) correct[label]++;
    }
  }
  return classNames.map((name, label) => ({
    label,
    name,
    count: count[label],
    correct: correct[label],
    accuracy: count[label] > 0 ? correct[label] / count[label] : Number.NaN,
  }));
}

/** `lowbit evaluate`. */
export const evaluateCommand: CommandFactory = (ctx) =>
  new Command('evaluate')
    .description('evaluate a saved model on the test split: loss, accuracy and per-class accuracy')
    .argument('<dir>', 'model directory (written by lowbit train or lq.io.saveModel)')
    .addOption(
      new Option('--data <name>', "dataset (default: the run's own, else mnist)").choices(
        data.datasetNames(),
      ),
    )
    .option('--dir <dir>', 'directory of the dataset files (fashion-mnist)')
    .option('--limit <n>', 'evaluate only the first n test examples', positiveInt)
    .option('--batch-size <n>', 'examples per prediction batch', positiveInt, 256)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(backendChoices()).default('auto'))
    .addHelpText(
      'after',
      '\nExamples:\n  lowbit evaluate runs/cnn\n  lowbit evaluate runs/mlp --data fashion-mnist --json',
    )
    .action(async function (this: Command, dir: string) {
      const opts = this.opts<{
        data?: string;
        dir?: string;
        limit?: number;
        batchSize: number;
        backend: string;
      }>();
      await selectBackend(opts.backend);
      const run = await readJsonIfPresent<RunMetrics>(`${dir}/${RUN_FILES.metrics}`);
      const model = await loadModelDir(dir);
      try {
        const name = opts.data ?? run?.settings?.data ?? 'mnist';
        const ds = await data.loadDataset(name, { dir: opts.dir ?? run?.settings?.dataDir, env: ctx.io.env });
        const n = Math.min(opts.limit ?? ds.test.count, ds.test.count);
        const test =
          n < ds.test.count
            ? data.subset(
                ds.test,
                Array.from({ length: n }, (_, i) => i),
              )
            : ds.test;
        train.checkSplit(model, test, `lowbit evaluate ${dir} --data ${name}`);
        const evaluation = train.evaluateModel(model, test, { batchSize: opts.batchSize });
        const perClass = perClassAccuracy(model, test, ds.classNames, opts.batchSize);
        const result = { dir, dataset: ds.name, split: 'test', ...evaluation, perClass };
        ctx.print(this, result, () =>
          [
            `${dir} on ${ds.name} (test split, ${evaluation.count} examples): accuracy ${pct(evaluation.accuracy)}, loss ${evaluation.loss.toFixed(4)}`,
            '',
            table([
              ['label', 'class', 'examples', 'correct', 'accuracy'],
              ...perClass.map((c) => [c.label, c.name, c.count, c.correct, c.count ? pct(c.accuracy) : '-']),
            ]),
          ].join('\n'),
        );
      } finally {
        model.dispose();
      }
    });

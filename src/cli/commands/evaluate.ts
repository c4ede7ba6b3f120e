/**
 * `lowbit evaluate DIR`: loss, accuracy and per-class accuracy of a saved model on a test split.
 */
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

/** Names the per-class counts of an evaluation: accuracy of class c = its correct / its count (NaN for none). */
export function perClassAccuracy(
  evaluation: train.Evaluation,
  classNames: readonly string[],
): ClassAccuracy[] {
  return classNames.map((name, label) => {
    const { count, correct } = evaluation.perClass[label] ?? { count: 0, correct: 0 };
    return { label, name, count, correct, accuracy: count > 0 ? correct / count : Number.NaN };
  });
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
        const perClass = perClassAccuracy(evaluation, ds.classNames);
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

/**
 * `lowbit data`: list the datasets and describe one (counts, shapes, class balance).
 */
import { Command, Option } from 'commander';
import { classCounts, DATASETS, type DataSplit, datasetNames, loadDataset } from '../../data/index.js';
import type { CommandFactory } from '../context.js';
import { percent, shape, table } from '../format.js';

/** The `--data` and `--dir` options, for every command that reads a dataset. */
export function addDataOptions(command: Command, defaultName = 'mnist'): Command {
  return command
    .addOption(new Option('--data <name>', 'dataset').choices(datasetNames()).default(defaultName))
    .option(
      '--dir <dir>',
      "directory of the dataset files (fashion-mnist; default $LOWBIT_FASHION_MNIST_DIR or Debian's)",
    );
}

function splitInfo(split: DataSplit, numClasses: number) {
  return {
    count: split.count,
    xShape: split.xShape,
    yShape: [split.y.length],
    classCounts: classCounts(split.y, numClasses),
  };
}

/** `lowbit data info` and `lowbit data list`. */
export const dataCommand: CommandFactory = (ctx) => {
  const data = new Command('data').description('inspect the datasets lowbit can train on');

  data
    .command('list')
    .description('list the datasets')
    .action(function (this: Command) {
      const result = DATASETS.map(({ name, description, embedded }) => ({ name, description, embedded }));
      ctx.print(this, result, () =>
        table([
          ['name', 'embedded', 'description'],
          ...result.map((d) => [d.name, d.embedded ? 'yes' : 'no', d.description]),
        ]),
      );
    });

  addDataOptions(
    data
      .command('info')
      .description('load a dataset and show its counts, shapes and class balance')
      .addHelpText(
        'after',
        '\nExamples:\n  lowbit data info\n  lowbit data info --data fashion-mnist --dir ./fashion --json',
      ),
  ).action(async function (this: Command) {
    const { data: name, dir } = this.opts<{ data: string; dir?: string }>();
    const ds = await loadDataset(name, { dir, env: ctx.io.env });
    const numClasses = ds.classNames.length;
    const result = {
      dataset: ds.name,
      source: ds.source,
      imageShape: ds.imageShape,
      classNames: ds.classNames,
      scale: ds.scale,
      pixelRange: ds.scale === 'symmetric' ? [-1, 1] : [0, 1],
      train: splitInfo(ds.train, numClasses),
      test: splitInfo(ds.test, numClasses),
    };
    ctx.print(this, result, () => {
      const { train, test } = result;
      const header = `${ds.name}: ${ds.source}\nimages ${ds.imageShape.join('x')}, pixels scaled to [${result.pixelRange.join(', ')}], ${numClasses} classes`;
      const splits = table([
        ['split', 'examples', 'x shape', 'y shape'],
        ['train', train.count, shape(train.xShape), shape(train.yShape)],
        ['test', test.count, shape(test.xShape), shape(test.yShape)],
      ]);
      const classes = table([
        ['label', 'class', 'train', '', 'test', ''],
        ...ds.classNames.map((c, i) => [
          i,
          c,
          train.classCounts[i],
          percent(train.classCounts[i], train.count),
          test.classCounts[i],
          percent(test.classCounts[i], test.count),
        ]),
      ]);
      return `${header}\n\n${splits}\n\n${classes}`;
    });
  });
  return data;
};

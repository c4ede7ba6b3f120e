/**
 * `lowbit data`: list the datasets, describe one (counts, shapes, class balance), draw examples.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { classCounts, DATASETS, type DataSplit, datasetNames, loadDataset } from '../../data/index.js';
import { ConfigError } from '../../errors.js';
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

/** Shades from dark to bright for {@link asciiImage}: 10 levels. */
const SHADES = ' .:-=+*#%@';

/**
 * Draws a grayscale image as text, one character per pixel (two for width, so it looks square):
 * pixel x in [lo, hi] maps to shade floor(10 (x - lo) / (hi - lo)), clamped to 0..9.
 */
export function asciiImage(
  values: ArrayLike<number>,
  height: number,
  width: number,
  lo = -1,
  hi = 1,
): string {
  const rows: string[] = [];
  for (let r = 0; r < height; r++) {
    let row = '';
    for (let c = 0; c < width; c++) {
      const level = Math.min(9, Math.max(0, Math.floor((10 * (values[r * width + c] - lo)) / (hi - lo))));
      row += SHADES[level].repeat(2);
    }
    rows.push(row.trimEnd());
  }
  return rows.join('\n');
}

const nonNegativeInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer >= 0.');
  return n;
};

function splitInfo(split: DataSplit, numClasses: number) {
  return {
    count: split.count,
    xShape: split.xShape,
    yShape: [split.y.length],
    classCounts: classCounts(split.y, numClasses),
  };
}

/** `lowbit data list`, `lowbit data info` and `lowbit data show`. */
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
  addDataOptions(
    data
      .command('show')
      .description('draw examples of a dataset as text, with their labels')
      .addOption(new Option('--split <split>', 'which split').choices(['train', 'test']).default('test'))
      .option('--index <n>', 'index of the first example', nonNegativeInt, 0)
      .option('--count <n>', 'number of examples', nonNegativeInt, 1),
  ).action(async function (this: Command) {
    const opts = this.opts<{
      data: string;
      dir?: string;
      split: 'train' | 'test';
      index: number;
      count: number;
    }>();
    const ds = await loadDataset(opts.data, { dir: opts.dir, env: ctx.io.env });
    const split = ds[opts.split];
    if (opts.index + opts.count > split.count) {
      throw new ConfigError({
        where: `lowbit data show --index ${opts.index} --count ${opts.count}`,
        received: `examples ${opts.index}..${opts.index + opts.count - 1}`,
        expected: `indices below ${split.count} (the ${opts.split} split of ${ds.name})`,
      });
    }
    const [, h, w, ch] = split.xShape;
    const size = h * w * ch;
    const [lo, hi] = ds.scale === 'symmetric' ? [-1, 1] : [0, 1];
    const examples = Array.from({ length: opts.count }, (_, k) => {
      const i = opts.index + k;
      const label = split.y[i];
      const x = split.x.subarray(i * size, (i + 1) * size);
      // The 8-bit pixels back from the scaled floats: p = 255 (x - lo) / (hi - lo).
      const pixels = Array.from(x, (v) => Math.round((255 * (v - lo)) / (hi - lo)));
      return { index: i, label, className: ds.classNames[label], pixels, x };
    });
    ctx.print(
      this,
      examples.map(({ x: _x, ...rest }) => ({ dataset: ds.name, split: opts.split, ...rest })),
      () =>
        examples
          .map(
            (e) =>
              `${opts.split}[${e.index}]: label ${e.label} (${e.className})\n${asciiImage(e.x, h, w * ch, lo, hi)}`,
          )
          .join('\n\n'),
    );
  });
  return data;
};

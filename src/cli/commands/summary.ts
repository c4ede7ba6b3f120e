/**
 * `lowbit summary DIR`: Larq's two summary tables of a saved model, plus the efficiency tables.
 */
import { Command, InvalidArgumentError } from 'commander';
import { models } from '../../index.js';
import type { CommandFactory } from '../context.js';
import { loadModelDir } from './common.js';

/** The metrics `--metrics` accepts: those of the summary that need no measurement. */
const METRICS = models.SUMMARY_METRICS.filter((m) => m !== 'latency');

function metricList(value: string): models.SummaryMetric[] {
  const list = value
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  for (const m of list) {
    if (!(METRICS as readonly string[]).includes(m)) {
      throw new InvalidArgumentError(`unknown metric '${m}'; valid: ${METRICS.join(', ')}.`);
    }
  }
  return list as models.SummaryMetric[];
}

/** `lowbit summary`. */
export const summaryCommand: CommandFactory = (ctx) =>
  new Command('summary')
    .description("print a saved model's summary: Larq's stats and summary tables, then FLOPs and energy")
    .argument('<dir>', 'model directory (written by lowbit train or lq.io.saveModel)')
    .option('--metrics <list>', `extra tables, comma-separated: ${METRICS.join(', ')}`, metricList, [
      ...METRICS,
    ] as models.SummaryMetric[])
    .addHelpText(
      'after',
      '\nExamples:\n  lowbit summary runs/cnn\n  lowbit summary runs/cnn --metrics flops\n  lowbit summary runs/cnn --json',
    )
    .action(async function (this: Command, dir: string) {
      const { metrics } = this.opts<{ metrics: models.SummaryMetric[] }>();
      const model = await loadModelDir(dir);
      try {
        const tables: string[] = [];
        const report = models.summary(model, { metrics, printFn: (t) => tables.push(t) });
        ctx.print(this, report, () => tables.join('\n\n'));
      } finally {
        model.dispose();
      }
    });

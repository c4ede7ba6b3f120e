/**
 * `lowbit study ste`: the straight-through-estimator study (Yin et al. 2019), written as a report.
 */
import { Command } from 'commander';
import { study } from '../../index.js';
import type { CommandFactory } from '../context.js';

/** `lowbit study ste`. */
export const studyCommand: CommandFactory = (ctx) => {
  const command = new Command('study').description("run lowbit's studies and write their reports");
  command
    .command('ste')
    .description(
      'the STE study (Yin et al. 2019, "Understanding Straight-Through Estimator in Training Activation Quantized Neural Nets", arXiv 1903.05662): report.md, report.json and charts',
    )
    .option('--quick', 'a quick run with fewer repeats and iterations (seconds instead of minutes)', false)
    .requiredOption('--out <dir>', 'directory for report.md, report.json and the charts')
    .addHelpText(
      'after',
      '\nExamples:\n  lowbit study ste --out reports/ste\n  lowbit study ste --quick --out /tmp/ste --json',
    )
    .action(async function (this: Command) {
      const { quick, out } = this.opts<{ quick: boolean; out: string }>();
      const json = ctx.json(this);
      const result = await study.ste.runSteStudy({
        quick,
        outDir: out,
        log: (line) => {
          if (!json) ctx.io.stderr.write(`${line}\n`);
        },
      });
      const summary = { out, quick, files: result.files, timingsMs: result.timingsMs };
      ctx.print(this, summary, () =>
        [
          `STE study (${quick ? 'quick' : 'full'}) written to ${out} in ${(result.timingsMs.total / 1000).toFixed(1)} s:`,
          ...result.files.map((f) => `  ${f}`),
        ].join('\n'),
      );
    });
  return command;
};

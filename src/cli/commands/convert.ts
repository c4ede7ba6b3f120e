/**
 * `lowbit convert DIR -o FILE.lbm`: a saved model to the bitpacked engine's file format.
 */
import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { convert as convertModel, SUPPORTED_LAYERS } from '../../engine/convert/index.js';
import * as engine from '../../engine/index.js';
import { ConfigError, plot } from '../../index.js';
import type { CommandFactory } from '../context.js';
import { loadModelDir } from './common.js';

/** `lowbit convert`. */
export const convertCommand: CommandFactory = (ctx) =>
  new Command('convert')
    .description(
      "convert a saved model to lowbit's bitpacked inference format (.lbm) and check that it loads",
    )
    .argument('<dir>', 'model directory (written by lowbit train or lq.io.saveModel)')
    .requiredOption('-o, --output <file>', 'the .lbm file to write')
    .option('--no-optimize', 'keep BatchNorm and sign layers as separate ops (no folding into thresholds)')
    .addHelpText(
      'after',
      `\nSupported layers: ${SUPPORTED_LAYERS}.\n\nExamples:\n  lowbit convert runs/cnn -o cnn.lbm\n  lowbit convert runs/cnn -o cnn.lbm --json`,
    )
    .action(async function (this: Command, dir: string) {
      const opts = this.opts<{ output: string; optimize: boolean }>();
      if (!opts.output.endsWith('.lbm')) {
        throw new ConfigError({
          where: 'lowbit convert -o',
          received: opts.output,
          expected: 'a file name ending in .lbm',
        });
      }
      const model = await loadModelDir(dir);
      let result: ReturnType<typeof convertModel>;
      try {
        result = convertModel(model, { optimize: opts.optimize, metadata: { sourceDir: dir } });
      } finally {
        model.dispose();
      }
      // Loading it back validates the file and reports its sizes before anything is written.
      const net = await engine.load(result.bytes, { source: opts.output });
      const info = net.info;
      net.dispose();
      await plot.writeFileAtomic(opts.output, result.bytes);
      const bytes = (await stat(opts.output)).size;
      const summary = {
        dir,
        file: opts.output,
        bytes,
        binaryWeights: info.binaryWeights,
        floatParams: info.floatParams,
        binaryMacs: info.binaryMacs,
        floatMacs: info.floatMacs,
        opCounts: info.opCounts,
        inputShape: info.inputShape,
        outputShape: info.outputShape,
        log: result.log,
      };
      ctx.print(this, summary, () =>
        [
          ...result.log.map((l) => `  ${l}`),
          `wrote ${opts.output}: ${bytes.toLocaleString('en-US')} bytes, ${info.binaryWeights.toLocaleString('en-US')} binary weights, ` +
            `${info.floatParams.toLocaleString('en-US')} float parameters; ops ${Object.entries(info.opCounts)
              .map(([op, n]) => `${op} x${n}`)
              .join(', ')}`,
        ].join('\n'),
      );
    });

/**
 * `lowbit convert DIR -o FILE.lbm`: a saved model to the bitpacked engine's file format.
 */
import { stat } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
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
    .option(
      '--uint8-input <scale,offset>',
      "the model's input is 8-bit data scaled as x = q * scale + offset (lowbit's datasets: 1/127.5,-1); the engine then also predicts on the bytes (Uint8Array), with a first dense layer in exact integer arithmetic",
      parseUint8Input,
    )
    .addHelpText(
      'after',
      `\nSupported layers: ${SUPPORTED_LAYERS}.\n\nExamples:\n  lowbit convert runs/cnn -o cnn.lbm\n  lowbit convert runs/mlp -o mlp.lbm --uint8-input 1/127.5,-1\n  lowbit convert runs/cnn -o cnn.lbm --json`,
    )
    .action(async function (this: Command, dir: string) {
      const opts = this.opts<{
        output: string;
        optimize: boolean;
        uint8Input?: { scale: number; offset: number };
      }>();
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
        result = convertModel(model, {
          optimize: opts.optimize,
          metadata: { sourceDir: dir },
          ...(opts.uint8Input ? { uint8Input: opts.uint8Input } : {}),
        });
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
        uint8Input: opts.uint8Input ?? null,
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

/** Parses `--uint8-input SCALE,OFFSET`; each a number or a fraction a/b (e.g. `1/127.5,-1`). */
export function parseUint8Input(text: string): { scale: number; offset: number } {
  const num = (t: string): number => {
    const [a, b, ...rest] = t.trim().split('/');
    const v = rest.length === 0 && a !== '' ? Number(a) / (b === undefined ? 1 : Number(b)) : Number.NaN;
    return b === '' ? Number.NaN : v;
  };
  const parts = text.split(',');
  const [scale, offset] = parts.map(num);
  if (parts.length !== 2 || !Number.isFinite(scale) || !Number.isFinite(offset) || scale === 0) {
    throw new InvalidArgumentError(
      'expected SCALE,OFFSET: two finite numbers or fractions, scale not 0 (e.g. 1/127.5,-1 for x = q / 127.5 - 1).',
    );
  }
  return { scale, offset };
}

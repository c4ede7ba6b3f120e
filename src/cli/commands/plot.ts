/**
 * `lowbit plot quantizer NAME`: a quantizer's forward function and pseudo-gradient side by side.
 */
import { extname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { ConfigError, plot, quantizers } from '../../index.js';
import type { CommandFactory } from '../context.js';

/** A quantizer's forward function q(x) and pseudo-gradient dq/dx sampled on a grid. */
export interface QuantizerCurves {
  name: string;
  className: string;
  precision: number;
  config: Record<string, unknown>;
  x: number[];
  forward: number[];
  gradient: number[];
}

/**
 * Samples quantizer `name` (built with `options` as its config) on x = -2, -2 + 4 / (points - 1),
 * ..., 2: q(x) from `quantize`, and the pseudo-gradient d q(x) / dx from `tf.grad` through the same
 * function (its custom gradient, since each output depends on its own input only).
 *
 * @throws ConfigError for an unknown name (listing the registered ones) or bad options.
 */
export function quantizerCurves(
  name: string,
  options: Record<string, unknown> = {},
  points = 401,
): QuantizerCurves {
  const known = quantizers
    .registeredQuantizers()
    .flatMap((e) => (e.alias ? [e.alias, e.className] : [e.className]));
  if (!known.includes(name)) {
    throw new ConfigError({ where: 'lowbit plot quantizer NAME', received: name, expected: known });
  }
  const q = quantizers.get(
    { className: name, config: options as tf.serialization.ConfigDict },
    'lowbit plot quantizer NAME',
  );
  if (!q)
    throw new ConfigError({ where: 'lowbit plot quantizer NAME', received: name, expected: 'a quantizer' });
  const x = Array.from({ length: points }, (_, i) => -2 + (4 * i) / (points - 1));
  const [forward, gradient] = tf.tidy(() => {
    const xs = tf.tensor1d(x);
    const y = q.quantize(xs);
    const g = tf.grad((t: tf.Tensor) => q.quantize(t))(xs);
    return [Array.from(y.dataSync()), Array.from(g.dataSync())];
  });
  return {
    name,
    className: q.getClassName(),
    precision: q.precision,
    config: q.getConfig() as Record<string, unknown>,
    x,
    forward,
    gradient,
  };
}

/** The two-panel chart of {@link quantizerCurves}, as Larq's documentation draws quantizers. */
export function quantizerChart(c: QuantizerCurves): plot.VegaLiteSpec {
  const options = Object.entries(c.config)
    .filter(([k]) => k !== 'name' && k !== 'trainable')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return plot.lineChart({
    title: `${c.name}${options ? ` (${options})` : ''}`,
    panels: [
      {
        title: 'forward pass',
        series: [{ name: c.name, x: c.x, y: c.forward }],
        x: { title: 'x' },
        y: { title: 'q(x)' },
      },
      {
        title: 'pseudo-gradient',
        series: [{ name: c.name, x: c.x, y: c.gradient }],
        x: { title: 'x' },
        y: { title: 'dq/dx' },
      },
    ],
  });
}

function parseOptions(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError({
      where: 'lowbit plot quantizer --options',
      received: text,
      expected: 'a JSON object, e.g. {"clipValue":1.5}',
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError({
      where: 'lowbit plot quantizer --options',
      received: value,
      expected: 'a JSON object, e.g. {"clipValue":1.5}',
    });
  }
  return value as Record<string, unknown>;
}

/** `lowbit plot quantizer`. */
export const plotCommand: CommandFactory = (ctx) => {
  const command = new Command('plot').description('draw charts');
  command
    .command('quantizer')
    .description("draw a quantizer's forward function and pseudo-gradient side by side, on [-2, 2]")
    .argument('<name>', 'a registered quantizer (alias or class name, listed below)')
    .option('--options <json>', "the quantizer's options as JSON, e.g. '{\"clipValue\":1.5}'")
    .requiredOption('-o, --output <file>', 'output file, .svg or .png')
    .addHelpText(
      'after',
      `\nRegistered quantizers: ${quantizers
        .registeredQuantizers()
        .map((e) => e.alias ?? e.className)
        .join(
          ', ',
        )}\n\nExamples:\n  lowbit plot quantizer ste_sign -o ste_sign.svg\n  lowbit plot quantizer ste_sign --options '{"clipValue":1.5}' -o ste_sign.png\n  lowbit plot quantizer dorefa_quantizer --options '{"kBit":2}' -o dorefa.svg`,
    )
    .action(async function (this: Command, name: string) {
      const opts = this.opts<{ options?: string; output: string }>();
      const ext = extname(opts.output).toLowerCase();
      if (ext !== '.svg' && ext !== '.png') {
        throw new ConfigError({
          where: 'lowbit plot quantizer -o',
          received: opts.output,
          expected: 'a file name ending in .svg or .png',
        });
      }
      await tf.ready();
      const curves = quantizerCurves(name, parseOptions(opts.options));
      const svg = await plot.renderSvg(quantizerChart(curves));
      await plot.writeFileAtomic(opts.output, ext === '.svg' ? svg : await plot.svgToPng(svg, { scale: 2 }));
      const { x: _x, forward: _f, gradient: _g, ...about } = curves;
      ctx.print(
        this,
        { ...about, file: opts.output },
        `wrote ${opts.output}: ${curves.className} forward pass and pseudo-gradient`,
      );
    });
  return command;
};

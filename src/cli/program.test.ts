import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError } from '../errors.js';
import { asciiImage } from './commands/data.js';
import { COMMANDS } from './commands/index.js';
import { createContext } from './context.js';
import { describeError, EXIT_CODES } from './errors.js';
import { captureIo } from './io.js';
import { createProgram, runCli } from './program.js';

const root = mkdtempSync(join(tmpdir(), 'lowbit-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A Fashion-MNIST-like directory by hand: 4 train images (labels 0, 1, 1, 9) and 2 test (labels 2, 2). */
function tinyFashionDir(): string {
  const dir = join(root, 'fashion');
  mkdirSync(dir, { recursive: true });
  const idx = (dims: number[], payload: Uint8Array) => {
    const out = new Uint8Array(4 + 4 * dims.length + payload.length);
    out[2] = 0x08;
    out[3] = dims.length;
    const view = new DataView(out.buffer);
    for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
    out.set(payload, 4 + 4 * dims.length);
    return gzipSync(out);
  };
  // Train image k is uniformly 50 k.
  const trainImages = new Uint8Array(4 * 784).map((_, j) => 50 * Math.floor(j / 784));
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), idx([4, 28, 28], trainImages));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), idx([4], new Uint8Array([0, 1, 1, 9])));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), idx([2, 28, 28], new Uint8Array(2 * 784)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), idx([2], new Uint8Array([2, 2])));
  return dir;
}

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const io = captureIo({ env });
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

/** stderr must be exactly one line without a stack trace. */
function expectOneLine(err: string) {
  expect(err.endsWith('\n')).toBe(true);
  expect(err.trimEnd().split('\n')).toHaveLength(1);
  expect(err).not.toMatch(/\n\s+at /);
}

describe('lowbit data info', () => {
  it('describes the embedded MNIST split as a table', async () => {
    const { code, out, err } = await run(['data', 'info']);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/train\s+8000\s+\[8000, 28, 28, 1\]\s+\[8000\]/);
    expect(out).toMatch(/test\s+2000\s+\[2000, 28, 28, 1\]\s+\[2000\]/);
    // Class 5: 690 of 8000 = 8.6% train, 173 of 2000 = 8.7% test (hand-computed).
    expect(out).toMatch(/\n\s*5\s+5\s+690\s+8\.6%\s+173\s+8\.7%\n/);
  });

  it('prints one line of JSON with --json, wherever the option is given', async () => {
    for (const args of [
      ['--json', 'data', 'info', '--data', 'mnist'],
      ['data', 'info', '--json'],
    ]) {
      const { code, out } = await run(args);
      expect(code).toBe(0);
      expect(out.trimEnd().split('\n')).toHaveLength(1);
      const info = JSON.parse(out);
      expect(info.dataset).toBe('mnist');
      expect(info.pixelRange).toEqual([-1, 1]);
      expect(info.train.classCounts).toEqual([801, 902, 793, 826, 784, 690, 811, 856, 755, 782]);
      expect(info.test.classCounts).toEqual([200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
      expect(info.test.yShape).toEqual([2000]);
    }
  });

  it('reads Fashion-MNIST from --dir or from LOWBIT_FASHION_MNIST_DIR', async () => {
    const dir = tinyFashionDir();
    for (const [args, env] of [
      [['data', 'info', '--data', 'fashion-mnist', '--dir', dir, '--json'], {}],
      [['data', 'info', '--data', 'fashion-mnist', '--json'], { LOWBIT_FASHION_MNIST_DIR: dir }],
    ] as const) {
      const { code, out } = await run([...args], env);
      expect(code).toBe(0);
      const info = JSON.parse(out);
      expect(info.source).toBe(dir);
      expect(info.train.count).toBe(4);
      expect(info.train.classCounts).toEqual([1, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
      expect(info.test.classCounts).toEqual([0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
      expect(info.classNames[9]).toBe('Ankle boot');
    }
  });

  it('reports a missing dataset in one line with how to get it, exit code 1', async () => {
    const missing = join(root, 'nothing-here');
    const { code, out, err } = await run(['data', 'info', '--data', 'fashion-mnist', '--dir', missing]);
    expect(code).toBe(EXIT_CODES.error);
    expect(out).toBe('');
    expectOneLine(err);
    expect(err).toMatch(/^error: Fashion-MNIST not found: .*nothing-here \(option dir\) is not a directory/);
    expect(err).toContain('apt-get install dataset-fashion-mnist');
  });

  it('reports errors as one JSON line with --json', async () => {
    const { code, err } = await run([
      '--json',
      'data',
      'info',
      '--data',
      'fashion-mnist',
      '--dir',
      join(root, 'no'),
    ]);
    expect(code).toBe(1);
    expectOneLine(err);
    expect(JSON.parse(err).error).toMatchObject({ name: 'DatasetNotFoundError', exitCode: 1 });
  });

  it('lists the registered datasets', async () => {
    const { code, out } = await run(['data', 'list', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out).map((d: { name: string }) => d.name)).toEqual(['mnist', 'fashion-mnist']);
  });
});

describe('lowbit data show', () => {
  it('draws pixels as shades: level floor(10 (x - lo) / (hi - lo)), clamped to 0..9', () => {
    // -1 -> 0 ' ', 0 -> 5 '+', 1 -> 10 -> 9 '@'; -0.81 -> 0 ' ', 0.79 -> 8 '%', 0.99 -> 9 '@'.
    expect(asciiImage([-1, 0, 1, -0.81, 0.79, 0.99], 2, 3)).toBe('  ++@@\n  %%@@');
    expect(asciiImage([0, 0.5, 1], 1, 3, 0, 1)).toBe('  ++@@');
  });

  it('shows examples with labels, as text or JSON', async () => {
    const dir = tinyFashionDir();
    const json = await run([
      'data',
      'show',
      '--data',
      'fashion-mnist',
      '--dir',
      dir,
      '--split',
      'train',
      '--index',
      '2',
      '--count',
      '2',
      '--json',
    ]);
    expect(json.code).toBe(0);
    const shown = JSON.parse(json.out);
    expect(
      shown.map((e: { index: number; label: number; className: string }) => [e.index, e.label, e.className]),
    ).toEqual([
      [2, 1, 'Trouser'],
      [3, 9, 'Ankle boot'],
    ]);
    expect(shown[1].pixels).toEqual(new Array(784).fill(150));
    const text = await run([
      'data',
      'show',
      '--data',
      'fashion-mnist',
      '--dir',
      dir,
      '--split',
      'train',
      '--index',
      '3',
    ]);
    // 150 -> x = 150 / 127.5 - 1 -> level floor(10 * 150 / 255) = 5 -> '+'.
    expect(text.out).toBe(`train[3]: label 9 (Ankle boot)\n${`${'++'.repeat(28)}\n`.repeat(28)}`);
  });

  it('rejects examples past the end of the split and negative indices', async () => {
    const past = await run(['data', 'show', '--index', '1999', '--count', '2']);
    expect(past.code).toBe(1);
    expect(past.err).toBe(
      'error: lowbit data show --index 1999 --count 2: received "examples 1999..2000"; expected indices below 2000 (the test split of mnist).\n',
    );
    const negative = await run(['data', 'show', '--index', '-3']);
    expect(negative.code).toBe(2);
    expect(negative.err).toBe(
      "error: option '--index <n>' argument '-3' is invalid. expected an integer >= 0.\n",
    );
  });
});

describe('command-line errors', () => {
  it.each([
    [
      ['data', 'info', '--data', 'cifar'],
      /^error: option '--data <name>' argument 'cifar' is invalid\. Allowed choices are mnist, fashion-mnist\.$/,
    ],
    [['data', 'infp'], /^error: unknown command 'infp' \(Did you mean info\?\)$/],
    [['--jsn'], /^error: unknown option '--jsn' \(Did you mean --json\?\)$/],
    [['data', 'info', '--dir'], /^error: option '--dir <dir>' argument missing$/],
  ])('%j exits with 2 and one line', async (args, message) => {
    const { code, out, err } = await run(args);
    expect(code).toBe(EXIT_CODES.usage);
    expect(out).toBe('');
    expectOneLine(err);
    expect(err.trimEnd()).toMatch(message);
  });

  it('prints usage errors as JSON with --json', async () => {
    const { code, err } = await run(['--json', 'data', 'info', '--data', 'cifar']);
    expect(code).toBe(2);
    expect(JSON.parse(err).error.name).toBe('UsageError');
  });

  it('shows help on stdout with exit code 0, and on stderr with 2 when no command is given', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: lowbit');
    expect(help.out).toContain('data');
    const sub = await run(['data', 'info', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.out).toContain('--data <name>');
    expect(sub.out).toContain('choices: "mnist", "fashion-mnist"');
    expect(sub.out).toContain('Global Options:');
    expect(sub.out).toContain('--json');
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.err).toContain('Usage: lowbit');
  });
});

describe('error classification', () => {
  it('maps lowbit errors to 1, system errors to 1 and anything else to 70', () => {
    expect(describeError(new FormatError({ source: 'a.idx', problem: 'bad\nthing' }))).toEqual({
      name: 'FormatError',
      message: 'a.idx: bad thing.',
      exitCode: 1,
    });
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: 'ENOENT',
    });
    expect(describeError(enoent)).toMatchObject({ name: 'ENOENT', exitCode: 1 });
    const bug = describeError(new TypeError('x is undefined'));
    expect(bug.exitCode).toBe(70);
    expect(bug.message).toBe('internal error: x is undefined (set LOWBIT_DEBUG=1 for a stack trace)');
  });

  it('reports an internal error of a command in one line, with the stack only under LOWBIT_DEBUG', async () => {
    const boom = () =>
      new Command('boom').description('fails').action(() => {
        throw new RangeError('kaput');
      });
    for (const debug of [undefined, '1']) {
      const io = captureIo({ env: { LOWBIT_DEBUG: debug } });
      const code = await runCli(['boom'], io, [...COMMANDS, boom]);
      expect(code).toBe(70);
      expect(io.err().split('\n')[0]).toBe(
        'error: internal error: kaput (set LOWBIT_DEBUG=1 for a stack trace)',
      );
      expect(io.err().includes('    at ')).toBe(debug === '1');
    }
  });
});

describe('command registry', () => {
  it('registers every factory in COMMANDS as a subcommand with a description', () => {
    const program = createProgram(captureIo());
    const ctx = createContext(captureIo());
    const names = COMMANDS.map((f) => f(ctx).name());
    expect(program.commands.map((c) => c.name())).toEqual(names);
    for (const c of program.commands) expect(c.description()).not.toBe('');
  });
});

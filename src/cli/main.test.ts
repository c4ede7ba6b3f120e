import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, 'main.ts');
// What `npx tsx src/cli/main.ts` runs, without npm's own start-up messages on stderr.
const tsxCli = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'cli.mjs');

function lowbit(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [tsxCli, main, ...args], {
      env: { ...process.env, LOWBIT_FASHION_MNIST_DIR: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('the lowbit executable', () => {
  it('starts with a node shebang', () => {
    expect(readFileSync(main, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('runs a command and exits with 0', async () => {
    const { code, out, err } = await lowbit(['data', 'list', '--json']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out).map((d: { name: string }) => d.name)).toEqual(['mnist', 'fashion-mnist']);
  });

  it('exits with 1 and one line on stderr for a missing dataset', async () => {
    const { code, out, err } = await lowbit([
      'data',
      'info',
      '--data',
      'fashion-mnist',
      '--dir',
      '/nonexistent/fashion',
    ]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^error: Fashion-MNIST not found: \/nonexistent\/fashion/),
    ]);
  });

  it('exits with 2 and one line on stderr for a bad command line', async () => {
    const { code, err } = await lowbit(['data', 'info', '--epochs', '3']);
    expect(code).toBe(2);
    expect(err).toBe("error: unknown option '--epochs'\n");
  });
});

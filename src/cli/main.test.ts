import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
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

  it('demo --quick trains, summarizes, evaluates, saves, converts and compares with the engine', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lowbit-demo-'));
    try {
      const { code, out: stdout, err } = await lowbit(['demo', '--quick', '--out', out, '--backend', 'wasm']);
      expect(err).not.toMatch(/^error/m);
      expect(code).toBe(0);
      expect(stdout).toContain(`lowbit demo: output directory ${out}`);
      expect(stdout).toContain('larq-intro-cnn stats');
      expect(stdout).toMatch(/test accuracy \d+\.\d\d% on 256 test images/);
      expect(stdout).toMatch(/engine vs tfjs on 256 test images/);
      expect(stdout).toMatch(/argmax agreement \d+\.\d\d%/);
      for (const f of ['model.json', 'weights.bin', 'metrics.json', 'summary.txt', 'model.lbm']) {
        expect(existsSync(join(out, f)), f).toBe(true);
      }
      const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
      expect(metrics.settings).toMatchObject({ model: 'larq-intro-cnn', epochs: 1, limit: 256 });
      expect(metrics.status).toBe('complete');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 180_000);
});

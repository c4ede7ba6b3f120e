import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, load } from '../../src/engine/index.js';
import { larqIntroCnn, quicknetLike, randomInput } from '../../src/engine/testing/models.js';

const CHROMIUM = '/usr/bin/chromium';

/** Index of the first element that differs (Object.is: bit-exact for float32 values), or -1. */
function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
const hasChromium = existsSync(CHROMIUM);

/**
 * The same .lbm file and the same engine code, bundled with esbuild, must give the same predictions
 * in Debian's Chromium (driven by playwright-core) as in Node: every intermediate value bit for bit.
 */
describe.skipIf(!hasChromium)(
  `engine in a real browser (${hasChromium ? CHROMIUM : `skipped: ${CHROMIUM} is absent; install Debian's chromium`})`,
  () => {
    let server: Server;
    let base = '';
    let browser: Browser;
    const files = new Map<string, { type: string; body: Uint8Array | string }>();

    beforeAll(async () => {
      const bundle = await build({
        entryPoints: [fileURLToPath(new URL('./engine-page.ts', import.meta.url))],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        write: false,
        logLevel: 'silent',
      });
      files.set('/bundle.js', { type: 'text/javascript', body: bundle.outputFiles[0].contents });
      files.set('/', {
        type: 'text/html',
        body: '<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>',
      });
      server = createServer((req, res) => {
        const f = files.get(new URL(req.url ?? '/', 'http://x').pathname);
        if (!f) {
          res.writeHead(404).end();
          return;
        }
        // Cross-origin isolation, as a threaded page would need.
        res.writeHead(200, {
          'content-type': f.type,
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-embedder-policy': 'require-corp',
        });
        res.end(f.body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => server?.close(r));
    });

    for (const [name, make, threads] of [
      ['larq-intro-cnn', larqIntroCnn, 1],
      ['quicknet-like', quicknetLike, 2],
    ] as const)
      it(`${name}, ${threads} thread(s): Chromium's values equal Node's on the same .lbm file`, async () => {
        const graph = make();
        const bytes = encodeModel(graph);
        const input = randomInput(graph, threads > 1 ? 8 : 3);
        files.set('/model.lbm', { type: 'application/octet-stream', body: bytes });
        files.set('/input.bin', {
          type: 'application/octet-stream',
          body: new Uint8Array(input.data.buffer.slice(0)),
        });
        const net = await load(bytes, { popcount: 'scalar' });
        const nodeTrace = net.trace(input.data, input.shape);
        const nodeOut = net.predict(input.data, input.shape);

        const page = await browser.newPage();
        try {
          await page.goto(`${base}/?shape=${input.shape.join(',')}&popcount=simd&threads=${threads}`);
          await page.waitForFunction(() => window.__engineResult !== undefined, null, { timeout: 60_000 });
          const result = await page.evaluate(() => window.__engineResult!);
          if ('error' in result) throw new Error(`browser: ${result.error}`);
          if (process.env.ENGINE_BROWSER_DEBUG)
            process.stderr.write(`${name}: ${JSON.stringify(result.ms)}\n`);
          expect(result.popcount).toBe('simd');
          expect(result.isolated).toBe(true);
          expect(result.fallback).toBeNull();
          expect(result.threads).toBe(threads);
          expect(Object.keys(result.values).sort()).toEqual([...nodeTrace.keys()].sort());
          for (const [k, v] of nodeTrace) expect(firstMismatch(result.values[k], v.data), k).toBe(-1);
          expect(firstMismatch(result.output, nodeOut.data)).toBe(-1);
        } finally {
          await page.close();
        }
      });
  },
);

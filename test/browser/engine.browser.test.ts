import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, load } from '../../src/engine/index.js';
import { larqIntroCnn, quicknetLike, randomInput } from '../../src/engine/testing/models.js';
import { CHROMIUM, CHROMIUM_SKIP_REASON, launchChromium } from '../chromium.js';

/** Index of the first element that differs (Object.is: bit-exact for float32 values), or -1. */
function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
const hasChromium = CHROMIUM !== undefined;

/**
 * The same .lbm file and the same engine code, bundled with esbuild, must give the same predictions
 * in Debian's Chromium (driven by playwright-core) as in Node: every intermediate value bit for bit.
 */
describe.skipIf(!hasChromium)(
  `engine in a real browser (${hasChromium ? CHROMIUM : CHROMIUM_SKIP_REASON})`,
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
        const url = new URL(req.url ?? '/', 'http://x');
        const f = files.get(url.pathname);
        if (!f) {
          res.writeHead(404).end();
          return;
        }
        // Cross-origin isolation, as a threaded page needs (a page asked with isolated=0 goes without).
        const isolation = {
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-embedder-policy': 'require-corp',
        };
        res.writeHead(200, {
          'content-type': f.type,
          ...(url.searchParams.get('isolated') === '0' ? {} : isolation),
        });
        res.end(f.body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => server?.close(r));
    });

    for (const [name, make, threads, isolated] of [
      ['larq-intro-cnn', larqIntroCnn, 1, true],
      ['quicknet-like', quicknetLike, 2, true],
      ['larq-intro-cnn', larqIntroCnn, 2, false],
    ] as const)
      it(`${name}, ${threads} thread(s)${isolated ? '' : ' requested on a page without cross-origin isolation (falls back to 1)'}: Chromium's values equal Node's on the same .lbm file`, async () => {
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
          await page.goto(
            `${base}/?shape=${input.shape.join(',')}&popcount=simd&threads=${threads}&isolated=${isolated ? 1 : 0}`,
          );
          await page.waitForFunction(() => window.__engineResult !== undefined, null, { timeout: 60_000 });
          const result = await page.evaluate(() => window.__engineResult!);
          if ('error' in result) throw new Error(`browser: ${result.error}`);
          if (process.env.ENGINE_BROWSER_DEBUG)
            process.stderr.write(`${name}: ${JSON.stringify(result.ms)}\n`);
          expect(result.popcount).toBe('simd');
          expect(result.isolated).toBe(isolated);
          if (isolated) {
            expect(result.fallback).toBeNull();
            expect(result.threads).toBe(threads);
            // With threads, batch 8 is split over them (each runs the whole network on its share).
            expect(result.batchSplit).toBe(threads > 1);
          } else {
            expect(result.fallback).toMatch(/cross-origin isolation|not cross-origin isolated/);
            expect(result.threads).toBe(1);
          }
          expect(Object.keys(result.values).sort()).toEqual([...nodeTrace.keys()].sort());
          for (const [k, v] of nodeTrace) expect(firstMismatch(result.values[k], v.data), k).toBe(-1);
          expect(firstMismatch(result.output, nodeOut.data)).toBe(-1);
        } finally {
          await page.close();
        }
      });
  },
);

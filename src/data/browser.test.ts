import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classCounts } from './dataset.js';
import { FASHION_MNIST_DEFAULT_DIR, FASHION_MNIST_FILES, fashionMnist } from './fashion-mnist.js';
import { mnist } from './mnist.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const hasFashion = Object.values(FASHION_MNIST_FILES).every((f) =>
  existsSync(join(FASHION_MNIST_DEFAULT_DIR, `${f}.gz`)),
);
const here = dirname(fileURLToPath(import.meta.url));
const digitsDir = join(
  dirname(createRequire(import.meta.url).resolve('mnist/package.json')),
  'src',
  'digits',
);

/**
 * The page: lowbit's data module bundled for the browser. It fetches the ten MNIST digit files and
 * (when served) the four Fashion-MNIST .gz files, decodes them with the browser's
 * DecompressionStream, and publishes class counts and raw pixel sums on window.__data.
 */
const PAGE = `
import { mnist, fashionMnist, fashionMnistFromBytes, decodeIdx } from './index.ts';
const bytes = async (p) => new Uint8Array(await (await fetch(p)).arrayBuffer());
const counts = (y) => { const c = new Array(10).fill(0); for (const v of y) c[v]++; return c; };
const byteSum = (x) => { let s = 0; for (const v of x) s += Math.round((v + 1) * 127.5); return s; };
async function main() {
  const out = {};
  const digits = await Promise.all(Array.from({ length: 10 }, async (_, c) => (await (await fetch('/digits/' + c + '.json')).json()).data));
  const m = await mnist({ digits });
  out.mnist = { train: counts(m.train.y), test: counts(m.test.y), trainSum: byteSum(m.train.x), firstLabels: Array.from(m.test.y.slice(0, 20)) };
  if ((await fetch('/fashion/trainLabels')).ok) {
    const keys = ['trainImages', 'trainLabels', 'testImages', 'testLabels'];
    const files = Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await bytes('/fashion/' + k)])));
    const f = await fashionMnistFromBytes(files);
    out.fashion = { train: counts(f.train.y), test: counts(f.test.y), testSum: byteSum(f.test.x), trainShape: f.train.xShape };
  }
  out.truncated = await decodeIdx(await bytes('/truncated.gz')).then(() => 'no error', (e) => e.name + ': ' + e.message);
  out.fileAccess = await fashionMnist().then(() => 'no error', (e) => e.name + ': ' + e.message);
  window.__data = out;
}
main().catch((e) => { window.__data = { error: String(e && e.stack || e) }; });
`;

describe.skipIf(!hasChromium)(
  `data module in a real browser (${hasChromium ? CHROMIUM : `skipped: ${CHROMIUM} is absent; install Debian's chromium`})`,
  () => {
    let server: Server;
    let base = '';
    const files = new Map<string, { type: string; body: Uint8Array | string }>();

    beforeAll(async () => {
      const bundle = await build({
        stdin: { contents: PAGE, resolveDir: here, loader: 'js', sourcefile: 'page.js' },
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
        body: '<!doctype html><script type="module" src="/bundle.js"></script>',
      });
      for (let c = 0; c < 10; c++) {
        files.set(`/digits/${c}.json`, {
          type: 'application/json',
          body: readFileSync(join(digitsDir, `${c}.json`)),
        });
      }
      if (hasFashion) {
        for (const [key, name] of Object.entries(FASHION_MNIST_FILES)) {
          files.set(`/fashion/${key}`, {
            type: 'application/octet-stream',
            body: readFileSync(join(FASHION_MNIST_DEFAULT_DIR, `${name}.gz`)),
          });
        }
      }
      // A valid IDX header declaring 8 bytes, 5 bytes of data, gzipped, then cut before its trailer.
      const idx = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 8, 1, 2, 3, 4, 5]);
      const gz = gzipSync(idx);
      files.set('/truncated.gz', { type: 'application/octet-stream', body: gz.subarray(0, gz.length - 6) });
      server = createServer((req, res) => {
        const f = files.get(new URL(req.url ?? '/', 'http://x').pathname);
        if (!f) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': f.type });
        res.end(f.body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise((r) => server?.close(r));
    });

    it('decodes MNIST and Fashion-MNIST in Chromium exactly as in Node, and rejects what Node rejects', async () => {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
        ],
      });
      let result: Record<string, unknown>;
      try {
        const page = await browser.newPage();
        await page.goto(base);
        await page.waitForFunction(() => (window as { __data?: unknown }).__data !== undefined, null, {
          timeout: 90_000,
        });
        result = await page.evaluate(() => (window as unknown as { __data: Record<string, unknown> }).__data);
      } finally {
        await browser.close();
      }
      if ('error' in result) throw new Error(`browser: ${result.error}`);

      const m = await mnist();
      let trainSum = 0;
      for (const x of m.train.x) trainSum += Math.round((x + 1) * 127.5);
      expect(result.mnist).toEqual({
        train: classCounts(m.train.y, 10),
        test: classCounts(m.test.y, 10),
        trainSum,
        firstLabels: Array.from(m.test.y.subarray(0, 20)),
      });
      if (hasFashion) {
        const f = await fashionMnist({ dir: FASHION_MNIST_DEFAULT_DIR });
        expect(result.fashion).toEqual({
          train: new Array(10).fill(6000),
          test: new Array(10).fill(1000),
          // Sum of the raw test-image bytes, computed with Python's gzip module.
          testSum: 573469082,
          trainShape: f.train.xShape,
        });
      }
      expect(result.truncated).toMatch(/^FormatError: IDX data: /);
      expect(result.fileAccess).toMatch(/^UnsupportedError: fashionMnist outside Node\.js is not supported/);
    });
  },
);

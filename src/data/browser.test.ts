import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_SKIP_REASON, launchChromium } from '../../test/chromium.js';
import { classCounts } from './dataset.js';
import { FASHION_MNIST_DEFAULT_DIR, FASHION_MNIST_FILES } from './fashion-mnist.js';
import { mnistFromDigits } from './mnist.js';

const hasChromium = CHROMIUM !== undefined;
const hasFashion = Object.values(FASHION_MNIST_FILES).every((f) =>
  existsSync(join(FASHION_MNIST_DEFAULT_DIR, `${f}.gz`)),
);
const here = dirname(fileURLToPath(import.meta.url));
const digitsDir = join(
  dirname(createRequire(import.meta.url).resolve('mnist/package.json')),
  'src',
  'digits',
);

/** The first 60 digits of each class of the mnist package: the same code path as all 10,000, faster. */
let cached: number[][] | null = null;
function digits(): number[][] {
  cached ??= Array.from({ length: 10 }, (_, c) =>
    JSON.parse(readFileSync(join(digitsDir, `${c}.json`), 'utf8')).data.slice(0, 60 * 784),
  );
  return cached;
}

/** Uncompressed IDX bytes of unsigned bytes, written by hand. */
function idxBytes(dims: number[], payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

/**
 * The page: lowbit's data module bundled for the browser. It fetches ten MNIST digit files (60
 * digits each) and, when served, the real Fashion-MNIST test files (.gz, inflated by the browser's
 * DecompressionStream) with two hand-made training files, and publishes class counts and raw pixel
 * sums on window.__data.
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
  if ((await fetch('/fashion/testLabels')).ok) {
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
  `data module in a real browser (${hasChromium ? CHROMIUM : CHROMIUM_SKIP_REASON})`,
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
          body: JSON.stringify({ data: digits()[c] }),
        });
      }
      const binary = 'application/octet-stream';
      if (hasFashion) {
        // The real test files; two hand-made training images (labels 3 and 7) stand in for the
        // 26 MB training file. Gzipped and plain files both go through decodeIdx.
        for (const key of ['testImages', 'testLabels'] as const) {
          const path = join(FASHION_MNIST_DEFAULT_DIR, `${FASHION_MNIST_FILES[key]}.gz`);
          files.set(`/fashion/${key}`, { type: binary, body: readFileSync(path) });
        }
        files.set('/fashion/trainImages', {
          type: binary,
          body: idxBytes([2, 28, 28], new Uint8Array(2 * 784)),
        });
        files.set('/fashion/trainLabels', {
          type: binary,
          body: gzipSync(idxBytes([2], new Uint8Array([3, 7]))),
        });
      }
      // A valid IDX header declaring 8 bytes, 5 bytes of data, gzipped, then cut before its trailer.
      const gz = gzipSync(idxBytes([8], new Uint8Array([1, 2, 3, 4, 5])));
      files.set('/truncated.gz', { type: binary, body: gz.subarray(0, gz.length - 6) });
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
      const browser = await launchChromium();
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

      const m = mnistFromDigits(digits());
      let trainSum = 0;
      for (const x of m.train.x) trainSum += Math.round((x + 1) * 127.5);
      expect(result.mnist).toEqual({
        // round(0.8 * 60) = 48 train and 12 test per class.
        train: new Array(10).fill(48),
        test: new Array(10).fill(12),
        trainSum,
        firstLabels: Array.from(m.test.y.subarray(0, 20)),
      });
      expect(classCounts(m.train.y, 10)).toEqual(new Array(10).fill(48));
      if (hasFashion) {
        expect(result.fashion).toEqual({
          train: [0, 0, 0, 1, 0, 0, 0, 1, 0, 0],
          test: new Array(10).fill(1000),
          // Sum of the raw test-image bytes, computed with Python's gzip module.
          testSum: 573469082,
          trainShape: [2, 28, 28, 1],
        });
      }
      expect(result.truncated).toMatch(/^FormatError: IDX data: /);
      expect(result.fileAccess).toMatch(/^UnsupportedError: fashionMnist outside Node\.js is not supported/);
    });
  },
);

// lowbit's io module in a browser: it bundles for the browser without Node built-ins, registers no
// file:// routers there, and a directory saved in Node loads with tf.loadLayersModel(url) in Chromium.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from '../../test/chromium.js';
import { Random } from '../util/random.js';
import { saveModel } from './index.js';

const ioIndex = path.resolve(import.meta.dirname, 'index.ts');

async function bundle(entry: string): Promise<string> {
  const result = await build({
    stdin: { contents: entry, resolveDir: import.meta.dirname, loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    write: false,
    logLevel: 'silent',
  });
  expect(result.errors).toEqual([]);
  return result.outputFiles[0]!.text;
}

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-browser-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('io in a browser bundle', () => {
  let code: string;
  beforeAll(async () => {
    code = await bundle(`
      import * as tf from '@tensorflow/tfjs-core';
      import '@tensorflow/tfjs-backend-cpu';
      import * as tfl from '@tensorflow/tfjs-layers';
      import * as io from ${JSON.stringify(ioIndex)};
      globalThis.lowbitTest = { tf, tfl, io };
    `);
  });

  it('bundles for platform "browser" with no Node built-in imported statically', () => {
    expect(code.length).toBeGreaterThan(100_000);
    expect(code).not.toMatch(/require\(["']node:/);
    expect(code).not.toMatch(/from ["']node:/);
    expect(code).not.toMatch(/import\(["']node:/);
  });

  it.skipIf(CHROMIUM === undefined)(
    'in Chromium: no file:// router, fileSystem refuses clearly, and a model saved in Node loads with tf.loadLayersModel(url)',
    async () => {
      const rng = new Random(5);
      const model = tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 2, activation: 'relu' }),
          tfl.layers.batchNormalization(),
          tfl.layers.flatten(),
          tfl.layers.dense({ units: 4 }),
        ],
      });
      model.setWeights(
        model.weights.map((w) =>
          tf.tensor(
            Float32Array.from({ length: (w.shape as number[]).reduce((a, b) => a * b, 1) }, () =>
              w.originalName.endsWith('variance') ? 1 + Math.abs(rng.normal()) : rng.normal(),
            ),
            w.shape as number[],
          ),
        ),
      );
      const dir = path.join(root, 'm');
      await saveModel(model, dir);
      const x = Array.from({ length: 2 * 5 * 5 * 2 }, () => rng.normal());
      const expected = Array.from((model.predict(tf.tensor(x, [2, 5, 5, 2])) as tf.Tensor).dataSync());
      const expectedWeights = model.getWeights().map((w) => Array.from(w.dataSync()));

      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const served: string[] = [];
        await page.route('http://lowbit.test/**', async (route) => {
          const url = new URL(route.request().url());
          served.push(url.pathname);
          if (url.pathname === '/') {
            return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>io</title>' });
          }
          if (url.pathname === '/bundle.js')
            return route.fulfill({ contentType: 'text/javascript', body: code });
          const file = path.join(dir, url.pathname.replace(/^\/model\//, ''));
          return route.fulfill({ body: fs.readFileSync(file) });
        });
        await page.goto('http://lowbit.test/');
        await page.addScriptTag({ url: '/bundle.js' });
        const result = await page.evaluate(async (input) => {
          // biome-ignore lint/suspicious/noExplicitAny: the bundle's globals are untyped in the page
          const { tf, tfl, io } = (globalThis as any).lowbitTest;
          await tf.setBackend('cpu');
          const loaded = await tfl.loadLayersModel('/model/model.json');
          const y = loaded.predict(tf.tensor(input, [2, 5, 5, 2]));
          // biome-ignore lint/suspicious/noExplicitAny: page-side tensors
          const weights = loaded.getWeights().map((w: any) => Array.from(w.dataSync()));
          return {
            isNode: io.isNode(),
            registered: io.registerFileRouters(),
            saveHandlers: tf.io.getSaveHandlers('file://x').length,
            loadHandlers: tf.io.getLoadHandlers('file://x').length,
            fileSystemError: await io
              .fileSystem('x')
              .load()
              .then(
                () => 'loaded',
                (e: Error) => `${e.name}: ${e.message}`,
              ),
            y: Array.from(y.dataSync()) as number[],
            weights,
          };
        }, x);
        expect(result.isNode).toBe(false);
        expect(result.registered).toBe(false);
        expect(result.saveHandlers).toBe(0);
        expect(result.loadHandlers).toBe(0);
        expect(result.fileSystemError).toMatch(
          /^UnsupportedError: Reading and writing model directories outside Node/,
        );
        expect(served).toContain('/model/weights.bin');
        expect(result.weights).toEqual(expectedWeights);
        expect(result.y).toHaveLength(expected.length);
        result.y.forEach((v, i) => {
          expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(expected[i]!)));
        });
      } finally {
        await browser.close();
      }
    },
  );
});

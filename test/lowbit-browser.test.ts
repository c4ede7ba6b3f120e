// The whole library in a real browser: lowbit bundles for the browser, registers its classes on the
// page's tfjs, and a binarized model saved in Node loads with tf.loadLayersModel(url), predicts what
// Node predicts on the cpu and wasm backends, and trains a step on wasm (its conv filter gradient
// kernel is lowbit's).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as lq from '../src/index.js';
import { Random } from '../src/util/random.js';
import { CHROMIUM, launchChromium } from './chromium.js';

const WASM_DIR = path.resolve(import.meta.dirname, '../node_modules/@tensorflow/tfjs-backend-wasm/dist');

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-page-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

it.skipIf(CHROMIUM === undefined)(
  'lowbit runs in Chromium: loads, predicts and trains a binarized model',
  async () => {
    const rng = new Random(3);
    const model = tfl.sequential({
      layers: [
        lq.layers.quantConv2d({
          inputShape: [6, 6, 1],
          filters: 4,
          kernelSize: 3,
          padding: 'same',
          padValues: 1,
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
          useBias: false,
        }),
        tfl.layers.batchNormalization({ scale: false }),
        lq.layers.quantDense({
          units: 3,
          inputQuantizer: 'ste_sign',
          kernelQuantizer: 'ste_sign',
          kernelConstraint: 'weight_clip',
        }),
        tfl.layers.flatten(),
      ],
    });
    model.setWeights(
      model.weights.map((w) => {
        const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
        const v = Float32Array.from({ length: n }, () =>
          w.originalName.endsWith('variance') ? 1 + rng.next() : rng.normal() * 0.5,
        );
        return tf.tensor(v, w.shape as number[]);
      }),
    );
    await lq.io.saveModel(model, path.join(root, 'm'));
    const x = Array.from({ length: 2 * 36 }, () => rng.normal());
    const expected = Array.from((model.predict(tf.tensor(x, [2, 6, 6, 1])) as tf.Tensor).dataSync());

    const bundle = await build({
      stdin: {
        contents: `
        import * as tf from '@tensorflow/tfjs-core';
        import '@tensorflow/tfjs-backend-cpu';
        import * as wasm from '@tensorflow/tfjs-backend-wasm';
        import * as tfl from '@tensorflow/tfjs-layers';
        import * as lq from ${JSON.stringify(path.resolve(import.meta.dirname, '../src/index.ts'))};
        globalThis.page = { tf, tfl, lq, wasm };`,
        resolveDir: import.meta.dirname,
        loader: 'ts',
      },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0]!.text;

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.route('http://lowbit.test/**', async (route) => {
        const url = new URL(route.request().url());
        if (url.pathname === '/')
          return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>lowbit</title>' });
        if (url.pathname === '/bundle.js')
          return route.fulfill({ contentType: 'text/javascript', body: code });
        if (url.pathname.startsWith('/wasm/')) {
          return route.fulfill({
            contentType: 'application/wasm',
            body: fs.readFileSync(path.join(WASM_DIR, path.basename(url.pathname))),
          });
        }
        return route.fulfill({ body: fs.readFileSync(path.join(root, 'm', path.basename(url.pathname))) });
      });
      await page.goto('http://lowbit.test/');
      await page.addScriptTag({ url: '/bundle.js' });
      const result = await page.evaluate(async (input) => {
        try {
          // biome-ignore lint/suspicious/noExplicitAny: the bundle's globals are untyped in the page
          const { tf, tfl, lq, wasm } = (globalThis as any).page;
          const out: Record<string, unknown> = {};
          for (const backend of ['cpu', 'wasm']) {
            if (backend === 'wasm') wasm.setWasmPaths('/wasm/');
            await tf.setBackend(backend);
            const loaded = await tfl.loadLayersModel('/model/model.json');
            out[backend] = Array.from(loaded.predict(tf.tensor(input, [2, 6, 6, 1])).dataSync());
            out[`${backend}Classes`] = loaded.layers.map((l: { getClassName(): string }) => l.getClassName());
            if (backend === 'wasm') {
              loaded.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
              const before = Array.from(loaded.getWeights()[0].dataSync());
              const h = await loaded.fit(tf.tensor(input, [2, 6, 6, 1]), tf.ones([2, 108]), {
                epochs: 1,
                verbose: 0,
              });
              const after = Array.from(loaded.getWeights()[0].dataSync()) as number[];
              out.trainedLoss = h.history.loss[0];
              out.kernelChanged = after.some((v, i) => v !== before[i]);
              out.kernelClipped = Math.max(...after.map(Math.abs)) <= 1;
            }
          }
          out.alias = lq.quantizers.get('ste_sign').getClassName();
          return out;
        } catch (e) {
          return { error: (e as Error).stack };
        }
      }, x);
      // A failure inside the page comes back as its stack, so the report shows where it broke.
      expect(result.error).toBeUndefined();
      for (const backend of ['cpu', 'wasm']) {
        const y = result[backend] as number[];
        expect(y).toHaveLength(expected.length);
        for (const [i, v] of y.entries()) {
          expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(expected[i]!)));
        }
        expect(result[`${backend}Classes`]).toEqual([
          'QuantConv2D',
          'BatchNormalization',
          'QuantDense',
          'Flatten',
        ]);
      }
      expect(Number.isFinite(result.trainedLoss)).toBe(true);
      expect(result.kernelChanged).toBe(true);
      expect(result.kernelClipped).toBe(true);
      expect(result.alias).toBe('SteSign');
    } finally {
      await browser.close();
    }
  },
);

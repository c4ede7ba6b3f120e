/**
 * Exactness on real data: zoo networks with seeded weights and BatchNorm statistics taken from real
 * training images, converted and run by the engine, give the same class as tfjs (wasm backend) on
 * every test image of the embedded MNIST split (2,000) and on the first 2,000 Fashion-MNIST test
 * images (skipped with the reason when its files are not installed; bench/convert-bench.ts checks
 * all 10,000), with logits within 1e-4 relative.
 */
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, fashionMnist, mnist } from '../../data/index.js';
import { get as zoo } from '../../zoo/index.js';
import { load } from '../runtime/net.js';
import { convert } from './convert.js';
import { agreement, logitsModel, randomizeBatchNorm } from './testing.js';

const sets: Record<string, Dataset | string> = {};

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  sets.mnist = await mnist();
  sets['fashion-mnist'] = await fashionMnist().catch((e: Error) => e.message);
});

for (const dataset of ['mnist', 'fashion-mnist']) {
  describe(`${dataset}: engine argmax equals tfjs argmax on 2,000 test images`, () => {
    for (const name of ['binary-mlp', 'larq-intro-cnn']) {
      it(name, async (ctx) => {
        const data = sets[dataset];
        if (typeof data === 'string') return ctx.skip(`${dataset} is not installed: ${data}`);
        const model = logitsModel(zoo(name, { seed: 5 }));
        const [, h, w, c] = data.train.xShape;
        const calib = tf.tensor4d(data.train.x.subarray(0, 64 * h * w * c), [64, h, w, c]);
        randomizeBatchNorm(model, calib, 6);
        calib.dispose();
        const net = await load(convert(model).bytes);
        const n = 2000;
        const r = agreement(model, (x, s) => net.predict(x, s).data, data.test.x.subarray(0, n * h * w * c), [
          n,
          h,
          w,
          c,
        ]);
        net.dispose();
        model.dispose();
        expect(r.differingArgmax).toBe(0);
        expect(r.maxRelativeError).toBeLessThanOrEqual(1e-4);
        // Not a degenerate network: its predictions spread over several classes.
        expect(r.classes).toBeGreaterThan(3);
      });
    }
  });
}

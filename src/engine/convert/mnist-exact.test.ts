/**
 * Exactness on real data: zoo networks with seeded weights and BatchNorm statistics taken from real
 * training images, converted and run by the engine, give the same class as tfjs (wasm backend) on
 * all 2,000 test images of the embedded MNIST split, with logits within 1e-4 relative.
 */
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, mnist } from '../../data/index.js';
import { get as zoo } from '../../zoo/index.js';
import { load } from '../runtime/net.js';
import { convert } from './convert.js';
import { argmaxRows, logitsModel, maxRelativeError, randomizeBatchNorm } from './testing.js';

let data: Dataset;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  data = await mnist();
});

describe('MNIST test split (2,000 images): engine argmax equals tfjs argmax', () => {
  for (const name of ['binary-mlp', 'larq-intro-cnn']) {
    it(name, async () => {
      const model = logitsModel(zoo(name, { seed: 5 }));
      const [, h, w, c] = data.train.xShape;
      const calib = tf.tensor4d(data.train.x.subarray(0, 64 * h * w * c), [64, h, w, c]);
      randomizeBatchNorm(model, calib, 6);
      calib.dispose();
      const { x, count, xShape } = data.test;
      expect(count).toBe(2000);
      const net = await load(convert(model).bytes);
      const got = net.predict(x, xShape).data;
      net.dispose();
      const want = new Float32Array(count * 10);
      const batch = 500;
      for (let i = 0; i < count; i += batch) {
        const out = tf.tidy(() => {
          const xs = tf.tensor4d(x.subarray(i * h * w * c, (i + batch) * h * w * c), [batch, h, w, c]);
          return (model.predict(xs) as tf.Tensor).dataSync() as Float32Array;
        });
        want.set(out, i * 10);
      }
      const a = argmaxRows(got, 10);
      const b = argmaxRows(want, 10);
      let differing = 0;
      for (let i = 0; i < count; i++) if (a[i] !== b[i]) differing++;
      expect(differing).toBe(0);
      expect(maxRelativeError(got, want, 10)).toBeLessThanOrEqual(1e-4);
      // Not a degenerate network: its predictions spread over several classes.
      expect(new Set(b).size).toBeGreaterThan(3);
      model.dispose();
    });
  }
});

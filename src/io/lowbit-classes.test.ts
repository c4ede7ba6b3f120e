// Classes lowbit registers with tfjs serialization go through the directory handler unchanged:
// a quantizer used as a layer's activation ('ste_sign', Larq's spelling) saves and loads by name.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import '../quantizers/index.js';
import { loadModel, saveModel } from './index.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-classes-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

it("a Dense with activation 'ste_sign' round-trips and still outputs sign(x W + b)", async () => {
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ units: 3, inputShape: [2], activation: 'ste_sign' as never, useBias: true })],
  });
  // x W + b with W = [[1, -1, 0.5], [2, 1, -3]], b = [0, 0.5, 1]; for x = [1, -1]: [-1, -1.5, 4.5].
  model.setWeights([
    tf.tensor2d([
      [1, -1, 0.5],
      [2, 1, -3],
    ]),
    tf.tensor1d([0, 0.5, 1]),
  ]);
  const dir = path.join(root, 'ste');
  await saveModel(model, dir);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  expect(json.modelTopology.config.layers[0].config.activation).toBe('ste_sign');
  const loaded = await loadModel(dir);
  const y = (loaded.predict(tf.tensor2d([[1, -1]])) as tf.Tensor).arraySync();
  expect(y).toEqual([[-1, -1, 1]]);
});

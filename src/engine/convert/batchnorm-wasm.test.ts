/**
 * The BatchNorm form of the engine's affine op rounds exactly as tfjs-backend-wasm's FusedBatchNorm
 * kernel (the backend the engine is compared with), and the converter uses it where a BatchNorm output
 * feeds a residual add. (The converter's folder: the only place under src/engine allowed to import tfjs.)
 */
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../util/random.js';
import { batchNormValue } from '../reference/float.js';
import { load } from '../runtime/net.js';
import { convert } from './convert.js';

let previous = '';
beforeAll(async () => {
  previous = tf.getBackend();
  await tf.setBackend('wasm');
});
afterAll(async () => {
  if (previous) await tf.setBackend(previous);
});

const f32 = Math.fround;

/** First index where the two arrays differ bit for bit (Object.is), or -1. */
function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe('BatchNorm form vs tfjs-backend-wasm', () => {
  it('batchNormValue equals tf.batchNorm on the wasm backend bit for bit (a folded x m + b does not)', () => {
    const rng = new Random(71);
    const c = 37;
    const n = 3000;
    const vec = (g: () => number) => Float32Array.from({ length: c }, g);
    const mean = vec(() => 2 * rng.normal());
    const variance = vec(() => 3 * rng.next() + (rng.next() < 0.2 ? 1e-5 : 0.1));
    const gamma = vec(() => rng.normal());
    const beta = vec(() => rng.normal());
    const x = Float32Array.from({ length: n * c }, (_, i) => mean[i % c] + 3 * rng.normal());
    for (const eps of [1e-3, 1e-5]) {
      const want = tf.tidy(() =>
        tf
          .batchNorm(
            tf.tensor4d(x, [n, 1, 1, c]),
            tf.tensor1d(mean),
            tf.tensor1d(variance),
            tf.tensor1d(beta),
            tf.tensor1d(gamma),
            eps,
          )
          .dataSync(),
      );
      const divisor = variance.map((v) => f32(Math.sqrt(f32(v + f32(eps)))));
      const got = x.map((v, i) => batchNormValue(v, gamma[i % c], beta[i % c], mean[i % c], divisor[i % c]));
      expect(firstMismatch(got, want)).toBe(-1);
      // The folded form (what optimizeGraph would make of it) rounds differently on many elements.
      let folded = 0;
      for (let i = 0; i < x.length; i++) {
        const m = f32(gamma[i % c] / Math.sqrt(variance[i % c] + eps));
        const b = f32(beta[i % c] - mean[i % c] * m);
        if (f32(f32(x[i] * m) + b) !== want[i]) folded++;
      }
      expect(folded).toBeGreaterThan(x.length / 10);
    }
  });

  it('a BatchNorm feeding an add converts to the BatchNorm form: the engine equals tfjs-wasm bit for bit; elsewhere it is folded', async () => {
    const rng = new Random(72);
    // input -> BN -> add(input, BN) (a residual sum of the BatchNorm output) -> 1x1 conv -> BN.
    const input = tfl.input({ shape: [5, 4, 6] });
    const bn = tfl.layers.batchNormalization({ epsilon: 1e-3 });
    const y = bn.apply(input) as tfl.SymbolicTensor;
    const sum = tfl.layers.add().apply([input, y]) as tfl.SymbolicTensor;
    const bn2 = tfl.layers.batchNormalization({ epsilon: 1e-3 });
    const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(sum) as tfl.SymbolicTensor;
    const out = bn2.apply(conv) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    for (const layer of [bn, bn2]) {
      const c = layer === bn ? 6 : 3;
      const v = (g: () => number) => tf.tensor1d(Array.from({ length: c }, g));
      layer.setWeights([
        v(() => rng.normal()),
        v(() => rng.normal()),
        v(() => rng.normal()),
        v(() => 0.5 + rng.next()),
      ]);
    }
    const { bytes, graph } = convert(model);
    const affines = graph.nodes.filter((n) => n.op === 'affine');
    // The BatchNorm before the add keeps its form; the last one folds into the conv.
    expect(affines).toHaveLength(1);
    expect(affines[0].op === 'affine' && affines[0].divisor).toBeTruthy();
    const net = await load(bytes);
    const n = 40;
    const x = Float32Array.from({ length: n * 120 }, () => rng.normal());
    const trace = net.trace(x, [n, 5, 4, 6]);
    const probe = tfl.model({ inputs: input, outputs: [y, sum] });
    const [wantBn, wantSum] = tf.tidy(() =>
      (probe.predict(tf.tensor4d(x, [n, 5, 4, 6])) as tf.Tensor[]).map((t) => t.dataSync()),
    );
    expect(firstMismatch(trace.get(affines[0].name)!.data, wantBn)).toBe(-1);
    const add = graph.nodes.find((n) => n.op === 'add')!;
    expect(firstMismatch(trace.get(add.name)!.data, wantSum)).toBe(-1);
  });
});

/** Bop: hand-worked flips and moving averages, schedules of the step, errors, state and config. */
import * as tf from '@tensorflow/tfjs-core';
import '../backend/index.js';
import '../constraints/index.js';
import '../quantizers/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { quantDense } from '../layers/index.js';
import type { QuantizerIdentifier } from '../quantizers/index.js';
import { Random } from '../util/random.js';
import { Bop, ExponentialDecay, isBinaryVariable } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A built QuantDense(3) on 2 inputs whose kernel (shape [2, 3]) is binary, set to `kernel`. */
function binaryKernel(kernel: number[][], quantizer: QuantizerIdentifier = 'ste_sign'): tf.Variable {
  const layer = quantDense({
    units: 3,
    kernelQuantizer: quantizer,
    kernelConstraint: 'weight_clip',
    useBias: false,
  });
  layer.build([null, 2]);
  layer.setWeights([tf.tensor2d(kernel)]);
  return (layer as unknown as { kernel: { read(): tf.Variable } }).kernel.read();
}

const rows = (t: tf.Tensor) => t.arraySync() as number[][];
const close = (actual: number[][], expected: number[][]) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    row.forEach((x, j) => {
      expect(x).toBeCloseTo(expected[i][j], 6);
    });
  });
};

describe.each(['cpu', 'wasm'])('Bop update on %s, worked by hand (gamma 0.5, threshold 0.1)', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    expect(tf.getBackend()).toBe(backend);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  // Two steps. m <- m + gamma (g - m); w flips to -sign(w) where w m > threshold, else becomes sign(w).
  const w0 = [
    [1, -1, 1],
    [-1, 0.3, 0],
  ];
  const g1 = [
    [0.4, 0.4, -0.1],
    [-0.5, 0.1, 0.2],
  ];
  // m1 = 0.5 g1
  const m1 = [
    [0.2, 0.2, -0.05],
    [-0.25, 0.05, 0.1],
  ];
  // w0 m1 = [[0.2, -0.2, -0.05], [0.25, 0.015, 0]]: flips at (0,0) and (1,0); 0.3 -> 1, 0 -> +1.
  const w1 = [
    [-1, -1, 1],
    [1, 1, 1],
  ];
  const g2 = [
    [0.4, -0.6, -0.5],
    [0, 0.2, 0.3],
  ];
  // m2 = m1 + 0.5 (g2 - m1)
  const m2 = [
    [0.3, -0.2, -0.275],
    [-0.125, 0.125, 0.2],
  ];
  // w1 m2 = [[-0.3, 0.2, -0.275], [-0.125, 0.125, 0.2]]: flips at (0,1), (1,1), (1,2).
  const w2 = [
    [-1, 1, 1],
    [1, -1, -1],
  ];

  it('flips exactly the weights with w m > threshold and keeps m', async () => {
    const w = binaryKernel(w0);
    const bop = new Bop({ gamma: 0.5, threshold: 0.1 });
    bop.applyGradients({ [w.name]: tf.tensor2d(g1) });
    expect(rows(w)).toEqual(w1);
    let weights = await bop.getWeights();
    expect(weights.map((x) => x.name)).toEqual(['iter', `${w.name}/m`]);
    close(rows(weights[1].tensor), m1);

    // The NamedTensor[] form (what model.fit passes) works the same.
    bop.applyGradients([{ name: w.name, tensor: tf.tensor2d(g2) }]);
    expect(rows(w)).toEqual(w2);
    weights = await bop.getWeights();
    expect(weights[0].tensor.dataSync()[0]).toBe(2);
    close(rows(weights[1].tensor), m2);
    expect(bop.iterations).toBe(2);
  });

  it('gamma and threshold follow schedules of the step (step = iterations before the update)', () => {
    const w = binaryKernel(w0);
    const seen: number[] = [];
    // Step 0 uses gamma 0.5 (as above); step 1 gamma 1 (m2 = g2) and threshold 0.35.
    const bop = new Bop({
      gamma: (step) => {
        seen.push(step);
        return [0.5, 1][step];
      },
      threshold: new ExponentialDecay({ initialValue: 0.1, decaySteps: 1, decayRate: 3.5 }),
    });
    bop.applyGradients({ [w.name]: tf.tensor2d(g1) });
    expect(rows(w)).toEqual(w1);
    bop.applyGradients({ [w.name]: tf.tensor2d(g2) });
    // w1 g2 = [[-0.4, 0.6, -0.5], [0, 0.2, 0.3]] > 0.35 only at (0,1).
    expect(rows(w)).toEqual([
      [-1, 1, 1],
      [1, 1, 1],
    ]);
    expect(seen).toEqual([0, 1]);
  });

  it('changing gamma between steps takes effect (as a scheduler does)', () => {
    const w = binaryKernel([
      [1, 1, 1],
      [1, 1, 1],
    ]);
    const bop = new Bop({ gamma: 0, threshold: 0 });
    bop.applyGradients({ [w.name]: tf.fill([2, 3], 5) });
    expect(rows(w)).toEqual([
      [1, 1, 1],
      [1, 1, 1],
    ]); // m stays 0: no flip
    bop.gamma = 0.1;
    bop.applyGradients({ [w.name]: tf.fill([2, 3], 5) });
    expect(rows(w)).toEqual([
      [-1, -1, -1],
      [-1, -1, -1],
    ]); // m = 0.5 > 0
  });
});

describe('Bop against a scalar reference implementation', () => {
  it('matches, element by element, over 6 steps of seeded gradients on a 7 x 13 kernel', async () => {
    const rng = new Random(42);
    const [rows_, cols] = [7, 13];
    const layer = quantDense({
      units: cols,
      kernelQuantizer: 'ste_sign',
      kernelConstraint: 'weight_clip',
      useBias: false,
    });
    layer.build([null, rows_]);
    const start = Array.from({ length: rows_ * cols }, () => (rng.next() < 0.5 ? -1 : 1));
    layer.setWeights([tf.tensor2d(start, [rows_, cols])]);
    const w = (layer as unknown as { kernel: { read(): tf.Variable } }).kernel.read();
    const gamma = (step: number) => 0.3 / (step + 1);
    const threshold = 0.01;
    const bop = new Bop({ gamma, threshold });

    // Reference: one float32 operation at a time, as the tensor ops round.
    const f = Math.fround;
    const ref: { w: number[]; m: number[] } = { w: [...start], m: start.map(() => 0) };
    for (let step = 0; step < 6; step++) {
      const g = start.map(() => rng.normal() * 0.05);
      bop.applyGradients({ [w.name]: tf.tensor2d(g, [rows_, cols]) });
      const gm = f(gamma(step));
      for (let i = 0; i < g.length; i++) {
        ref.m[i] = f(ref.m[i] + f(gm * f(f(g[i]) - ref.m[i])));
        const s = ref.w[i] >= 0 ? 1 : -1;
        ref.w[i] = f(ref.w[i] * ref.m[i]) > f(threshold) ? -s : s;
      }
      expect(Array.from(w.dataSync())).toEqual(ref.w);
    }
    const m = Array.from((await bop.getWeights())[1].tensor.dataSync());
    expect(m).toEqual(ref.m);
    // Some weights flipped and some did not: the comparison is not vacuous.
    const flipped = ref.w.filter((x, i) => x !== start[i]).length;
    expect(flipped).toBeGreaterThan(0);
    expect(flipped).toBeLessThan(start.length);
  });
});

describe('Bop trains binary variables only', () => {
  it('isBinaryVariable: precision 1 kernels only', () => {
    const binary = binaryKernel([
      [1, 1, 1],
      [1, 1, 1],
    ]);
    const ternary = binaryKernel(
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
      'ste_tern',
    );
    const float = tf.variable(tf.zeros([2]), true, 'bop_test_float');
    expect(isBinaryVariable(binary)).toBe(true);
    expect(Bop.isBinaryVariable(binary.name)).toBe(true);
    expect(isBinaryVariable(ternary)).toBe(false);
    // Larq's way to mark a variable binary without quantizing it: NoOp(precision=1).
    const marked = binaryKernel(
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
      { className: 'NoOp', config: { precision: 1 } },
    );
    expect(isBinaryVariable(marked)).toBe(true);
    expect(
      isBinaryVariable(
        binaryKernel(
          [
            [1, 1, 1],
            [1, 1, 1],
          ],
          { className: 'NoOp', config: { precision: 8 } },
        ),
      ),
    ).toBe(false);
    expect(isBinaryVariable(float)).toBe(false);
  });

  it('a non-binary variable is an error naming it, and nothing is updated', () => {
    const binary = binaryKernel([
      [0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5],
    ]);
    const float = tf.variable(tf.tensor1d([0.5, -0.5]), true, 'bop_test_float_2');
    const bop = new Bop();
    const step = () => bop.applyGradients({ [binary.name]: tf.ones([2, 3]), [float.name]: tf.ones([2]) });
    expect(step).toThrow(ConfigError);
    expect(step).toThrow(
      /^Bop: precision of variable 'bop_test_float_2': received 32; expected 1 \(Bop trains binary variables only/,
    );
    expect(Array.from(binary.dataSync())).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(bop.iterations).toBe(0);
  });

  it('bad options are ConfigErrors naming the option', () => {
    expect(() => new Bop({ gamma: 'fast' as unknown as number })).toThrow(
      /Bop option gamma: received "fast"/,
    );
    expect(() => new Bop({ threshold: Number.NaN })).toThrow(ConfigError);
    expect(() => new Bop({ lr: 1 } as unknown as object)).toThrow(/Bop: unknown option: received "lr"/);
    const bop = new Bop({ gamma: () => Number.POSITIVE_INFINITY });
    const w = binaryKernel([
      [1, 1, 1],
      [1, 1, 1],
    ]);
    expect(() => bop.applyGradients({ [w.name]: tf.ones([2, 3]) })).toThrow(
      /gamma at step 0: received Infinity/,
    );
  });
});

describe('Bop state and config', () => {
  it('setWeights restores m and iterations: the next step matches an uninterrupted run', async () => {
    const start = [
      [1, -1, 1],
      [-1, 1, -1],
    ];
    const ga = [
      [0.3, -0.2, 0.2],
      [0.1, 0.05, -0.4],
    ];
    const gb = [
      [0.2, -0.3, -0.1],
      [0.4, 0.2, 0.1],
    ];
    const a = binaryKernel(start);
    const ref = new Bop({ gamma: 0.5, threshold: 0.05 });
    ref.applyGradients({ [a.name]: tf.tensor2d(ga) });
    // m = 0.5 ga; w m = [[0.15, 0.1, 0.1], [-0.05, 0.025, 0.2]] > 0.05 at (0,0), (0,1), (0,2), (1,2).
    const afterFirst = [
      [-1, 1, -1],
      [-1, 1, 1],
    ];
    expect(rows(a)).toEqual(afterFirst);
    const saved = (await ref.getWeights()).map((x) => ({ name: x.name, tensor: tf.clone(x.tensor) }));
    ref.applyGradients({ [a.name]: tf.tensor2d(gb) });

    const b = binaryKernel(afterFirst);
    const restored = new Bop({ gamma: 0.5, threshold: 0.05 });
    await restored.setWeights(saved);
    expect(restored.iterations).toBe(1);
    restored.applyGradients({ [b.name]: tf.tensor2d(gb) });
    expect(rows(b)).toEqual(rows(a));
    close(rows((await restored.getWeights())[1].tensor), rows((await ref.getWeights())[1].tensor));
  });

  it('getConfig / fromConfig round trip, schedules included; tfjs finds it by class name', () => {
    const bop = new Bop({
      threshold: 1e-6,
      gamma: new ExponentialDecay({ initialValue: 1e-3, decaySteps: 100, decayRate: 0.5, staircase: true }),
      name: 'bop_1',
    });
    const config = bop.getConfig();
    expect(config).toEqual({
      threshold: 1e-6,
      gamma: {
        className: 'ExponentialDecay',
        config: { initialValue: 1e-3, decaySteps: 100, decayRate: 0.5, staircase: true },
      },
      name: 'bop_1',
    });
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap.Bop;
    const copy = fromConfig(cls, { ...config, customObjects: {} }) as Bop;
    expect(copy).toBeInstanceOf(Bop);
    expect(copy.getConfig()).toEqual(config);
    expect((copy.gamma as ExponentialDecay).value(250)).toBeCloseTo(1e-3 * 0.25, 12);
    expect(new Bop().getConfig()).toEqual({ threshold: 1e-8, gamma: 1e-4, name: 'Bop' });
  });

  it('a function schedule cannot be saved: clear error', () => {
    expect(() => new Bop({ gamma: (s) => 1 / (s + 1) }).getConfig()).toThrow(
      /a plain function cannot be saved/,
    );
  });
});

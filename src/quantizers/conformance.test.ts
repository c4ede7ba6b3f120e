/**
 * Conformance of every registered quantizer: forward values and pseudo-gradients (via tf.grad)
 * against numbers written from Larq's formulas, on the cpu and wasm backends. A registered
 * quantizer without a case fails the completeness test.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ApproxSign,
  DoReFa,
  FunctionQuantizer,
  get,
  MagnitudeAwareSign,
  NoOp,
  QuantizedRelu,
  type Quantizer,
  registeredQuantizers,
  SteHeaviside,
  SteSign,
  SteTern,
  SwishSign,
  setPrecision,
} from './index.js';

interface Case {
  name: string;
  make: () => Quantizer;
  precision: number;
  x: number[];
  shape?: number[];
  forward: number[];
  /** d(sum q(x))/dx, i.e. the pseudo-gradient times dy = 1. */
  gradient: number[];
}

const X = [-2, -1, -0.5, 0, 0.5, 1, 2];
const SIGN_X = [-1, -1, -1, 1, 1, 1, 1];
const CLIPPED_1 = [0, 1, 1, 1, 1, 1, 0];

const identitySign = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.sign(x),
  gradFunc: (dy: tf.Tensor) => dy,
})) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

const CASES: Record<string, Case[]> = {
  SteSign: [
    {
      name: 'default clip 1',
      make: () => new SteSign(),
      precision: 1,
      x: X,
      forward: SIGN_X,
      gradient: CLIPPED_1,
    },
    {
      name: 'clip 1.25 edges',
      make: () => new SteSign({ clipValue: 1.25 }),
      precision: 1,
      x: [-1.5, -1.25, -1, 0, 1.25, 1.5],
      forward: [-1, -1, -1, 1, 1, 1],
      gradient: [0, 1, 1, 1, 1, 0],
    },
    {
      name: 'clip null passes everything',
      make: () => new SteSign({ clipValue: null }),
      precision: 1,
      x: [-5, 0, 5],
      forward: [-1, 1, 1],
      gradient: [1, 1, 1],
    },
  ],
  ApproxSign: [
    {
      name: '2 - 2|x| inside [-1, 1]',
      make: () => new ApproxSign(),
      precision: 1,
      x: [-2, -1, -0.5, -0.25, 0, 0.25, 0.5, 1, 2],
      forward: [-1, -1, -1, -1, 1, 1, 1, 1, 1],
      gradient: [0, 0, 1, 1.5, 2, 1.5, 1, 0, 0],
    },
  ],
  SwishSign: [
    {
      name: 'beta 5',
      make: () => new SwishSign(),
      precision: 1,
      x: [-2, -1, -0.2, 0, 0.2, 1, 2],
      forward: [-1, -1, -1, 1, 1, 1, 1],
      gradient: [
        -0.003631252444292286, -0.194992254900325, 3.023661188100153, 5, 3.023661188100153,
        -0.194992254900325, -0.003631252444292286,
      ],
    },
    {
      name: 'beta 1 at 0 is beta',
      make: () => new SwishSign({ beta: 1 }),
      precision: 1,
      x: [0],
      forward: [1],
      gradient: [1],
    },
  ],
  SteHeaviside: [
    {
      name: 'default clip 1',
      make: () => new SteHeaviside(),
      precision: 1,
      x: X,
      forward: [0, 0, 0, 0, 1, 1, 1],
      gradient: CLIPPED_1,
    },
    {
      name: 'clip 0.5',
      make: () => new SteHeaviside({ clipValue: 0.5 }),
      precision: 1,
      x: X,
      forward: [0, 0, 0, 0, 1, 1, 1],
      gradient: [0, 0, 1, 1, 1, 0, 0],
    },
  ],
  MagnitudeAwareSign: [
    {
      // per-column scales mean|x| over axis 0: [1.5, 1, 0.125]
      name: 'per output channel scale',
      make: () => new MagnitudeAwareSign(),
      precision: 1,
      x: [-2, 0.5, 0, 1, -1.5, 0.25],
      shape: [2, 3],
      forward: [-1.5, 1, 0.125, 1.5, -1, 0.125],
      gradient: [0, 1, 0.125, 1.5, 0, 0.125],
    },
  ],
  SteTern: [
    {
      name: 'threshold 0.05, both edges',
      make: () => new SteTern(),
      precision: 2,
      x: [-2, -1, -0.05, -0.04, 0, 0.04, 0.05, 0.5, 2],
      forward: [-1, -1, -1, 0, 0, 0, 1, 1, 1],
      gradient: [0, 1, 1, 1, 1, 1, 1, 1, 0],
    },
    {
      // d = 0.7 * mean|x| = 0.7 * 0.4 = 0.28
      name: 'ternary weight networks threshold',
      make: () => new SteTern({ ternaryWeightNetworks: true }),
      precision: 2,
      x: [-1, -0.5, 0.2, 0.1, 0.6, 0],
      forward: [-1, -1, 0, 0, 1, 0],
      gradient: [1, 1, 1, 1, 1, 1],
    },
  ],
  DoReFa: [
    {
      // round(3 clip(x, 0, 1)) / 3 with round half to even: 1.5 -> 2
      name: 'activations, 2 bits',
      make: () => new DoReFa(),
      precision: 2,
      x: [-1, 0, 0.2, 0.5, 0.7, 1, 1.5],
      forward: [0, 0, 1 / 3, 2 / 3, 2 / 3, 1, 1],
      gradient: [0, 1, 1, 1, 1, 1, 0],
    },
    {
      name: 'activations, 1 bit, 0.5 rounds to even',
      make: () => new DoReFa({ kBit: 1 }),
      precision: 1,
      x: [0.25, 0.5, 0.75],
      forward: [0, 0, 1],
      gradient: [1, 1, 1],
    },
    {
      // x' = tanh(w) / (2 max|tanh w|) + 0.5 = [0.1050, 0.5, 0.7397, 1]; q = 2 round(3 x') / 3 - 1
      name: 'weights, 2 bits',
      make: () => new DoReFa({ mode: 'weights' }),
      precision: 2,
      x: [-1, 0, 0.5, 2],
      forward: [-1, 1 / 3, 1 / 3, 1],
      gradient: [0.4356455668840894, 1.0373147207275482, 0.8157938104883643, 0.07328714065173117],
    },
    {
      name: 'weights, all zero (0/0 = 0)',
      make: () => new DoReFa({ mode: 'weights', kBit: 2 }),
      precision: 2,
      x: [0, 0],
      forward: [1 / 3, 1 / 3],
      gradient: [0, 0],
    },
  ],
  QuantizedRelu: [
    {
      // 0, then alpha ceil(x / alpha) up to 3 alpha = 1.5; clipped-ReLU STE passes on (0, 1.5)
      name: '2 bits, alpha 0.5, clipped ReLU STE',
      make: () => new QuantizedRelu({ kBit: 2, alpha: 0.5 }),
      precision: 2,
      x: [-1, 0, 0.25, 0.5, 0.6, 1, 1.2, 1.5, 2],
      forward: [0, 0, 0.5, 0.5, 1, 1, 1.5, 1.5, 1.5],
      gradient: [0, 0, 1, 1, 1, 1, 1, 0, 0],
    },
    {
      name: '2 bits, ReLU STE',
      make: () => new QuantizedRelu({ kBit: 2, alpha: 0.5, ste: 'relu' }),
      precision: 2,
      x: [-1, 0, 0.25, 1.5, 2],
      forward: [0, 0, 0.5, 1.5, 1.5],
      gradient: [0, 0, 1, 1, 1],
    },
    {
      name: '4 bits, identity STE',
      make: () => new QuantizedRelu({ kBit: 4, alpha: 0.25, ste: 'identity' }),
      precision: 4,
      x: [-1, 0.1, 3.7, 5],
      forward: [0, 0.25, 3.75, 3.75],
      gradient: [1, 1, 1, 1],
    },
  ],
  NoOp: [
    {
      name: 'identity, marks precision',
      make: () => new NoOp({ precision: 1 }),
      precision: 1,
      x: X,
      forward: X,
      gradient: [1, 1, 1, 1, 1, 1, 1],
    },
  ],
  QuantizerFunction: [
    {
      // Larq's documentation example: tf.sign (0 at 0) with an identity gradient.
      name: 'identity-gradient sign, untagged',
      make: () => get(identitySign)!,
      precision: 32,
      x: X,
      forward: [-1, -1, -1, 0, 1, 1, 1],
      gradient: [1, 1, 1, 1, 1, 1, 1],
    },
    {
      name: 'identity-gradient sign, tagged 1-bit',
      make: () => new FunctionQuantizer({ fn: setPrecision(1, (x: tf.Tensor) => identitySign(x)) }),
      precision: 1,
      x: [-0.5, 3],
      forward: [-1, 1],
      gradient: [1, 1],
    },
  ],
};

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-6 * Math.max(1, Math.abs(expected[i]));
    expect(
      Math.abs(actual[i] - expected[i]),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    ).toBeLessThanOrEqual(tol);
  }
}

describe('quantizer registry completeness', () => {
  it('every registered quantizer has a conformance case', () => {
    const missing = registeredQuantizers()
      .map((e) => e.className)
      .filter((c) => !(CASES[c]?.length > 0));
    expect(missing).toEqual([]);
  });
});

for (const backend of ['cpu', 'wasm']) {
  describe(`quantizers on ${backend}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
      await tf.ready();
    });

    for (const [className, cases] of Object.entries(CASES)) {
      for (const c of cases) {
        it(`${className}: ${c.name}`, () => {
          const q = c.make();
          expect(q.getClassName()).toBe(className);
          expect(q.precision).toBe(c.precision);
          const x = tf.tensor(c.x, c.shape ?? [c.x.length]);
          expectClose(q.quantize(x).dataSync(), c.forward, 'forward');
          const g = tf.grad((t: tf.Tensor) => tf.sum(q.quantize(t)))(x);
          expectClose(g.dataSync(), c.gradient, 'gradient');
          // The config round trip gives a quantizer with the same forward function.
          if (className !== 'QuantizerFunction') {
            const again = get({ className, config: q.getConfig() })!;
            expect(again.precision).toBe(c.precision);
            expectClose(again.quantize(x).dataSync(), c.forward, 'forward after fromConfig');
          }
        });
      }
    }
  });
}

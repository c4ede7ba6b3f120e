/** Schedules of the step: values from their formulas, worked by hand; config round trips; errors. */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import {
  CosineDecay,
  deserializeHyperparameter,
  ExponentialDecay,
  hyperparameterAt,
  InverseTimeDecay,
  PiecewiseConstant,
  type Schedule,
  serializeHyperparameter,
} from './index.js';

describe('schedule values', () => {
  it('ExponentialDecay: v0 r^(t/T), floored exponent with staircase', () => {
    const s = new ExponentialDecay({ initialValue: 1, decaySteps: 10, decayRate: 0.5 });
    expect(s.value(0)).toBe(1);
    expect(s.value(10)).toBe(0.5);
    expect(s.value(5)).toBeCloseTo(Math.SQRT1_2, 12);
    const stairs = new ExponentialDecay({ initialValue: 2, decaySteps: 10, decayRate: 0.5, staircase: true });
    expect([0, 9, 10, 15, 20].map((t) => stairs.value(t))).toEqual([2, 2, 1, 1, 0.5]);
  });

  it('InverseTimeDecay: v0 / (1 + r t / T) (Larq test: 3 / (1 + 0.5 t))', () => {
    const s = new InverseTimeDecay({ initialValue: 3, decaySteps: 1, decayRate: 0.5 });
    expect([0, 1, 2, 4].map((t) => s.value(t))).toEqual([3, 2, 1.5, 1]);
    const stairs = new InverseTimeDecay({ initialValue: 3, decaySteps: 2, decayRate: 1, staircase: true });
    expect([0, 1, 2, 3].map((t) => stairs.value(t))).toEqual([3, 3, 1.5, 1.5]);
  });

  it('PiecewiseConstant: values[i] for boundaries[i-1] < t <= boundaries[i]', () => {
    const s = new PiecewiseConstant({ boundaries: [10, 20], values: [1, 0.5, 0.1] });
    expect([0, 10, 11, 20, 21, 1000].map((t) => s.value(t))).toEqual([1, 1, 0.5, 0.5, 0.1, 0.1]);
  });

  it('CosineDecay: v0 ((1 - a) (1 + cos(pi min(t, T) / T)) / 2 + a)', () => {
    const s = new CosineDecay({ initialValue: 2, decaySteps: 100, alpha: 0.1 });
    expect(s.value(0)).toBeCloseTo(2, 12);
    expect(s.value(50)).toBeCloseTo(1.1, 12);
    expect(s.value(100)).toBeCloseTo(0.2, 12);
    expect(s.value(400)).toBeCloseTo(0.2, 12);
  });
});

describe('serialization', () => {
  const schedules: Schedule[] = [
    new ExponentialDecay({ initialValue: 1e-3, decaySteps: 7, decayRate: 0.9, staircase: true }),
    new InverseTimeDecay({ initialValue: 3, decaySteps: 1, decayRate: 0.5 }),
    new PiecewiseConstant({ boundaries: [5], values: [1, 2] }),
    new CosineDecay({ initialValue: 1, decaySteps: 10 }),
  ];
  it.each(schedules.map((s) => [s.getClassName(), s] as const))(
    '%s round trips with the same values',
    (_, s) => {
      const saved = JSON.parse(JSON.stringify(serializeHyperparameter(s, 'test')));
      const copy = deserializeHyperparameter(saved, 'test') as Schedule;
      expect(copy.getClassName()).toBe(s.getClassName());
      expect(copy.getConfig()).toEqual(s.getConfig());
      for (const t of [0, 3, 8, 30]) expect(copy.value(t)).toBe(s.value(t));
    },
  );

  it('numbers pass through; functions and unknown classes are clear errors', () => {
    expect(serializeHyperparameter(0.5, 'x')).toBe(0.5);
    expect(deserializeHyperparameter(0.5, 'x')).toBe(0.5);
    expect(() => serializeHyperparameter((t) => t, 'Bop gamma')).toThrow(/Bop gamma \(serializing\)/);
    expect(() => deserializeHyperparameter({ className: 'Nope', config: {} }, 'Bop config gamma')).toThrow(
      /Bop config gamma className: received "Nope"; expected one of .*ExponentialDecay/,
    );
    expect(() => deserializeHyperparameter('fast', 'g')).toThrow(ConfigError);
    expect(tf.serialization.SerializationMap.getMap().classNameMap.PiecewiseConstant).toBeDefined();
  });
});

describe('bad options', () => {
  it('ConfigErrors say what was received and what is valid', () => {
    expect(() => new ExponentialDecay({ initialValue: 1, decaySteps: 0, decayRate: 0.5 })).toThrow(
      'ExponentialDecay option decaySteps: received 0; expected a positive number.',
    );
    expect(() => new ExponentialDecay({ initialValue: 1, decaySteps: 1 } as never)).toThrow(
      'ExponentialDecay option decayRate: received undefined; expected a value (required).',
    );
    expect(() => new PiecewiseConstant({ boundaries: [1, 2], values: [1, 2] })).toThrow(
      /values: received an array of length 2; expected an array of 3 values/,
    );
    expect(() => new PiecewiseConstant({ boundaries: [2, 1], values: [1, 2, 3] })).toThrow(
      /strictly increasing/,
    );
    expect(() => hyperparameterAt(() => Number.NaN, 3, 'Bop gamma')).toThrow(
      'Bop gamma at step 3: received NaN; expected a finite number.',
    );
  });
});

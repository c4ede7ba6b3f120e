import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { Random } from '../../util/random.js';
import { coarseGradientDescent } from './descent.js';
import { angle, criticalPoints, expectedCoarseGradient, lossGradientV, randomTeacher } from './model.js';
import { batchStatistics, sampleInputs } from './sampled.js';
import { lincomb, norm, scale } from './vec.js';

const T = randomTeacher(new Random(21), 4, 6);
const v0 = Float64Array.from([0.5, -0.3, 1.2, 0.1]);
const w0 = Float64Array.from([0.3, -1, 0.4, 2, 0.2, -0.5]);

describe('Algorithm 1 (population)', () => {
  it('one step is v - eta df/dv, w - eta E[g]', () => {
    const eta = 0.05;
    const res = coarseGradientDescent({ teacher: T, v0, w0, ste: 'relu', stepSize: eta, iterations: 1 });
    const g = expectedCoarseGradient(T, v0, w0, 'relu');
    const gv = lossGradientV(T, v0, angle(w0, T.wStar));
    expect(Array.from(res.v)).toEqual(Array.from(lincomb(1, v0, -eta, gv)));
    expect(Array.from(res.w)).toEqual(Array.from(lincomb(1, w0, -eta, g.w)));
    expect(res.records.map((r) => r.iteration)).toEqual([0, 1]);
  });

  for (const ste of ['relu', 'clipped_relu'] as const) {
    it(`${ste}: f decreases monotonically with a small step and the coarse gradient vanishes`, () => {
      const res = coarseGradientDescent({
        teacher: T,
        v0,
        w0: scale(3 / norm(w0), w0),
        ste,
        stepSize: 0.02,
        iterations: 20000,
        tolerance: 1e-7,
      });
      expect(res.minWNorm).toBeGreaterThan(0.3);
      expect(res.lossIncreases).toBe(0);
      expect(res.stop).toBe('tolerance');
      const last = res.records[res.records.length - 1];
      expect(last.coarseNorm).toBeLessThan(1e-7);
      // A critical point in the paper's sense: df/dv = 0 and theta in {0, pi} (or df/dw = 0).
      expect(last.criticality).toBeLessThan(1e-5);
    });
  }

  it('identity STE started at the spurious minimum leaves it; ReLU stays', () => {
    const cp = criticalPoints(T);
    const id = coarseGradientDescent({
      teacher: T,
      v0: cp.spurious.v,
      w0: cp.spurious.w,
      ste: 'identity',
      stepSize: 0.01,
      iterations: 50,
    });
    const relu = coarseGradientDescent({
      teacher: T,
      v0: cp.spurious.v,
      w0: cp.spurious.w,
      ste: 'relu',
      stepSize: 0.01,
      iterations: 50,
    });
    expect(norm(lincomb(1, id.w, -1, cp.spurious.w))).toBeGreaterThan(1e-3);
    expect(norm(lincomb(1, relu.w, -1, cp.spurious.w))).toBeLessThan(1e-13);
  });

  it('records every k-th iterate plus the last, and honours the tolerance', () => {
    const res = coarseGradientDescent({
      teacher: T,
      v0,
      w0,
      ste: 'identity',
      stepSize: 0.01,
      iterations: 10,
      recordEvery: 4,
    });
    expect(res.records.map((r) => r.iteration)).toEqual([0, 4, 8, 10]);
  });
});

describe('Algorithm 1 (empirical)', () => {
  it('a step on a fixed batch uses the batch means', () => {
    const batch = sampleInputs(new Random(3), 50, 4, 6);
    const res = coarseGradientDescent({
      teacher: T,
      v0,
      w0,
      ste: 'clipped_relu',
      stepSize: 0.1,
      iterations: 1,
      mode: 'empirical',
      batch,
    });
    const s = batchStatistics(batch, T, v0, w0, 'clipped_relu');
    expect(Array.from(res.w)).toEqual(Array.from(lincomb(1, w0, -0.1, s.coarseW)));
    expect(Array.from(res.v)).toEqual(Array.from(lincomb(1, v0, -0.1, s.gradV)));
    expect(res.records[0].empiricalLoss).toBeCloseTo(s.loss, 14);
  });

  it('fresh batches are reproducible from the seed', () => {
    const run = () =>
      coarseGradientDescent({
        teacher: T,
        v0,
        w0,
        ste: 'relu',
        stepSize: 0.05,
        iterations: 20,
        mode: 'empirical',
        batchSize: 64,
        rng: new Random(4),
      });
    expect(Array.from(run().w)).toEqual(Array.from(run().w));
  });
});

describe('validation', () => {
  it('rejects bad options with typed errors', () => {
    const base = { teacher: T, v0, w0, ste: 'relu' as const, stepSize: 0.1, iterations: 1 };
    expect(() => coarseGradientDescent({ ...base, stepSize: 0 })).toThrow(ConfigError);
    expect(() => coarseGradientDescent({ ...base, iterations: 1.5 })).toThrow(ConfigError);
    expect(() => coarseGradientDescent({ ...base, mode: 'empirical' })).toThrow(/batchSize/);
    expect(() => coarseGradientDescent({ ...base, v0: [1] })).toThrow(/length 4/);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { Random } from '../../util/random.js';
import { randomTeacher, teacher } from './model.js';
import {
  batchStatistics,
  empiricalLoss,
  empiricalLossAlongLine,
  type InputBatch,
  monteCarlo,
  sampleInputs,
} from './sampled.js';
import { lincomb } from './vec.js';

describe('batch statistics on a hand-made batch (m = 2, n = 2)', () => {
  // Teacher v* = (1, 2), w* = e1; student v = (0.5, -1), w = e2.
  // Z1 = [[1, 2], [-1, 1]]: Z1 w = (2, 1) -> sigma = (1, 1), y = -0.5; Z1 w* = (1, -1) -> y* = 1; r = -1.5.
  // Z2 = [[2, -1], [3, 4]]: Z2 w = (-1, 4) -> sigma = (0, 1), y = -1; Z2 w* = (2, 3) -> y* = 3; r = -4.
  const t = teacher([1, 2], [1, 0]);
  const batch: InputBatch = { count: 2, m: 2, n: 2, data: Float64Array.from([1, 2, -1, 1, 2, -1, 3, 4]) };
  const v = [0.5, -1];
  const w = [0, 1];

  it('loss and dl/dv', () => {
    const s = batchStatistics(batch, t, v, w, 'relu');
    // l = r^2 / 2: 1.125 and 8.
    expect(s.loss).toBeCloseTo((1.125 + 8) / 2, 15);
    expect(s.lossStdError).toBeCloseTo(Math.abs(8 - 1.125) / 2, 15); // sd of two values / sqrt 2
    // dl/dv = sigma r: (-1.5, -1.5) and (0, -4).
    expect(Array.from(s.gradV)).toEqual([-0.75, -2.75]);
    expect(empiricalLoss(batch, t, v, w)).toBeCloseTo(4.5625, 15);
  });

  it('coarse gradients of each STE', () => {
    // g = Z^T (mu'(Zw) .* v) r.
    // identity: Z1^T v r = (0.5 - (-1)... ) -> Z1^T (0.5, -1) = (0.5 + 1, 1 - 1) = (1.5, 0), times -1.5 = (-2.25, 0);
    //           Z2^T (0.5, -1) = (1 - 3, -0.5 - 4) = (-2, -4.5), times -4 = (8, 18). Mean (2.875, 9).
    expect(Array.from(batchStatistics(batch, t, v, w, 'identity').coarseW)).toEqual([2.875, 9]);
    // relu: mu' = 1{Zw > 0}: sample 1 both rows (same as identity: (-2.25, 0)); sample 2 only row 2:
    //       (3, 4) * (-1) * (-4) = (12, 16). Mean (4.875, 8).
    expect(Array.from(batchStatistics(batch, t, v, w, 'relu').coarseW)).toEqual([4.875, 8]);
    // clipped relu: mu' = 1{0 < Zw < 1}: sample 1 Zw = (2, 1): none; sample 2 Zw = (-1, 4): none. Zero.
    expect(Array.from(batchStatistics(batch, t, v, w, 'clipped_relu').coarseW)).toEqual([0, 0]);
  });

  it('standard errors are NaN for a single sample', () => {
    const one: InputBatch = { count: 1, m: 2, n: 2, data: batch.data.slice(0, 4) };
    expect(Number.isNaN(batchStatistics(one, t, v, w, 'relu').lossStdError)).toBe(true);
  });
});

describe('sampling', () => {
  it('is reproducible from the seed and has unit variance', () => {
    const a = sampleInputs(new Random(5), 100, 3, 4);
    const b = sampleInputs(new Random(5), 100, 3, 4);
    expect(a.data).toEqual(b.data);
    let s2 = 0;
    for (const x of a.data) s2 += x * x;
    // chi-square with 1200 dof: mean 1, sd sqrt(2 / 1200) = 0.041; 5 sd.
    expect(Math.abs(s2 / a.data.length - 1)).toBeLessThan(5 * Math.sqrt(2 / 1200));
  });

  it('the line search equals the empirical loss at each step size', () => {
    const rng = new Random(6);
    const t = randomTeacher(rng, 4, 6);
    const batch = sampleInputs(rng, 200, 4, 6);
    const v = [0.3, -1, 2, 0.1];
    const w = [1, 0.5, -0.2, 0.3, 0, -1];
    const dv = [1, 1, -1, 0.5];
    const dw = [3, -2, 1, 0, 5, 1];
    const etas = [0, 0.013, 0.1, 0.2, 0.5];
    const line = empiricalLossAlongLine(batch, t, v, w, dv, dw, etas);
    etas.forEach((e, k) => {
      expect(line[k]).toBeCloseTo(empiricalLoss(batch, t, lincomb(1, v, -e, dv), lincomb(1, w, -e, dw)), 12);
    });
  });

  it('Monte Carlo pools chunks exactly like one batch', () => {
    const t = randomTeacher(new Random(8), 3, 4);
    const v = [1, -1, 0.5];
    const w = [0.2, 1, -0.3, 0.4];
    const mc = monteCarlo(new Random(9), t, v, w, 'relu', 5000);
    // Rebuild the same stream: the first chunk is 4096 draws, then 904.
    const rng = new Random(9);
    const first = sampleInputs(rng, 4096, 3, 4);
    const second = sampleInputs(rng, 904, 3, 4);
    const all: InputBatch = {
      count: 5000,
      m: 3,
      n: 4,
      data: new Float64Array([...first.data, ...second.data]),
    };
    const direct = batchStatistics(all, t, v, w, 'relu');
    expect(mc.loss).toBeCloseTo(direct.loss, 12);
    expect(mc.coarseWStdError[2]).toBeCloseTo(direct.coarseWStdError[2], 12);
  });

  it('rejects bad sizes and mismatched batches', () => {
    const t = teacher([1, 2], [1, 0]);
    expect(() => sampleInputs(new Random(1), 0, 2, 2)).toThrow(ConfigError);
    expect(() => empiricalLoss(sampleInputs(new Random(1), 2, 3, 2), t, [1, 1], [1, 0])).toThrow(/2 x 2/);
    expect(() => monteCarlo(new Random(1), t, [1, 1], [1, 0], 'relu', 1)).toThrow(ConfigError);
  });
});

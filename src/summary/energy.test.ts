/** FLOPs / low-bit ops and the energy estimate, against hand computations from the Horowitz table. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { quantDense } from '../layers/index.js';
import { setWarningHandler } from '../util/log.js';
import {
  countOps,
  efficiencyReport,
  energyAsReadable,
  energyPerMac,
  estimateEnergy,
  HOROWITZ_45NM,
  profile,
  summary,
} from './index.js';
import { larqIntroCnn, larqProfileLayers } from './testing.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  setWarningHandler(() => {});
});

describe('operation counts', () => {
  it('keeps float, binary, ternary and k-bit operations apart, 2 per MAC each', () => {
    const ops = countOps([
      { bits: 1, count: 10 },
      { bits: 2, count: 5 },
      { bits: 4, count: 3 },
      { bits: 32, count: 7 },
    ]);
    expect(ops.flops).toBe(14);
    expect(ops.binaryOps).toBe(20);
    expect(ops.lowBitOps).toBe(16);
    expect(ops.groups.map((g) => [g.precision, g.kind, g.ops])).toEqual([
      [1, 'binary', 20],
      [2, 'ternary', 10],
      [4, 'integer', 6],
      [32, 'float', 14],
    ]);
    expect(ops.groups[0].label).toMatch(/XNOR \+ popcount/);
    expect(ops.groups[3].label).toMatch(/^FLOPs \(32-bit float/);
  });

  it('larq-intro-cnn: 389,376 FLOPs (first conv only) and 5,199,104 binary ops', () => {
    const p = profile(larqIntroCnn());
    // 2 x 194,688 float MACs; 2 x 2,599,552 binary MACs.
    expect(p.ops.flops).toBe(389376);
    expect(p.ops.binaryOps).toBe(5199104);
    expect(p.ops.lowBitOps).toBe(0);
  });
});

describe('energy per MAC (Horowitz, ISSCC 2014, 45 nm)', () => {
  it.each([
    [32, 3.7 + 0.9],
    [16, 1.1 + 0.4],
    [8, 0.2 + 0.03],
    // 0.2 x (4/8)^2 + 0.03 = 0.05 + 0.03
    [4, 0.08],
    // 0.2 x (2/8)^2 + 0.03 = 0.0125 + 0.03
    [2, 0.0425],
    // 2 full adders at 0.03 / 8 pJ each
    [1, 0.0075],
  ])('%i-bit: %f pJ', (bits, pj) => {
    expect(energyPerMac(bits)).toBeCloseTo(pj, 12);
  });

  it('the table holds the published figures', () => {
    expect(HOROWITZ_45NM).toMatchObject({
      float32Mult: 3.7,
      float32Add: 0.9,
      int8Mult: 0.2,
      int8Add: 0.03,
      sramRead32: 5,
      dramRead32: 640,
    });
  });
});

describe('estimateEnergy', () => {
  it('larq-intro-cnn, worked by hand', () => {
    const e = estimateEnergy(larqIntroCnn());
    // compute: 2,599,552 x 0.0075 + 194,688 x 4.6 = 19,496.64 + 895,564.8 = 915,061.44 pJ
    expect(e.compute.map((t) => [t.precision, t.macs])).toEqual([
      [1, 2599552],
      [32, 194688],
    ]);
    expect(e.computePj).toBeCloseTo(915061.44, 6);
    // weights: 93,088 + 468 x 32 = 108,064 bits = 3,377 32-bit words
    expect(e.weightBits).toBe(108064);
    expect(e.weightReads32).toBe(3377);
    expect(e.weightsSramPj).toBeCloseTo(3377 * 5, 9); // 16,885 pJ
    expect(e.weightsDramPj).toBeCloseTo(3377 * 640, 9); // 2,161,280 pJ
    expect(e.totalSramPj).toBeCloseTo(931946.44, 6);
    expect(e.totalDramPj).toBeCloseTo(3076341.44, 6);
    expect(e.estimate).toBe(true);
    expect(e.source).toMatch(/Horowitz.*ISSCC 2014/);
    expect(e.assumptions.join('\n')).toMatch(/binary MAC = 0.0075 pJ/);
  });

  it('profile(model).energy is the same estimate, and survives JSON', () => {
    const p = JSON.parse(JSON.stringify(profile(larqIntroCnn())));
    expect(p.energy.estimate).toBe(true);
    expect(p.energy.computePj).toBeCloseTo(915061.44, 6);
    expect(p.energy.totalDramPj).toBeCloseTo(3076341.44, 6);
    // A table override reaches the profile: binary MACs at 0 pJ leave 194,688 x 4.6 = 895,564.8.
    const custom = profile(larqIntroCnn(), { energy: { table: { binaryMac: 0 } } });
    expect(custom.energy.computePj).toBeCloseTo(895564.8, 6);
  });

  it("Larq's profile model: 1-, 2- and 32-bit MACs", () => {
    const e = estimateEnergy(tfl.sequential({ layers: larqProfileLayers() }));
    // 158,752 x 0.0075 + 34,848 x 0.0425 + 1,218,368 x 4.6 = 1,190.64 + 1,481.04 + 5,604,492.8
    expect(e.computePj).toBeCloseTo(5607164.48, 5);
    // 1600 x 1 + 288 x 2 + 38,858 x 32 = 1,245,632 bits = 38,926 words x 5 pJ
    expect(e.weightsSramPj).toBeCloseTo(194630, 6);
  });

  it('accepts a profile, a table override, and rejects bad entries', () => {
    const model = tfl.sequential({
      layers: [
        quantDense({
          units: 4,
          inputShape: [8],
          useBias: false,
          inputQuantizer: 'ste_sign',
          kernelQuantizer: 'ste_sign',
        }),
      ],
    });
    // 32 binary MACs at 0.01 pJ; 32 bits = 1 word at 1 pJ (SRAM) and 100 pJ (DRAM).
    const e = estimateEnergy(profile(model), { table: { binaryMac: 0.01, sramRead32: 1, dramRead32: 100 } });
    expect(e.computePj).toBeCloseTo(0.32, 12);
    expect(e.totalSramPj).toBeCloseTo(1.32, 12);
    expect(e.totalDramPj).toBeCloseTo(100.32, 12);
    expect(() => estimateEnergy(model, { table: { binaryMac: -1 } })).toThrow(ConfigError);
    expect(() => estimateEnergy(model, { table: { watts: 1 } as never })).toThrow(/received "watts"/);
  });
});

describe('summary with metrics', () => {
  it('prints the operations and efficiency tables and the assumptions; the report is JSON', () => {
    const out: string[] = [];
    const report = summary(larqIntroCnn(), { metrics: ['flops', 'energy'], printFn: (s) => out.push(s) });
    expect(out).toHaveLength(5);
    expect(out[2]).toMatch(/^\+larq_intro_cnn operations/);
    expect(out[2]).toMatch(/\| Total\s+5,199,104\s+389,376\s+915,061\.4\s+16,885\.0\s+2,161,280\.0 \|/);
    expect(out[3]).toContain('| FLOPs (float, 2 per MAC)                 389,376   |');
    expect(out[3]).toContain('| Binary ops (XNOR + popcount, 2 per MAC)  5,199,104 |');
    expect(out[3]).toContain('| Energy per inference, SRAM (estimate)    931.95 nJ |');
    expect(out[3]).toContain('| Energy per inference, DRAM (estimate)    3.08 uJ   |');
    expect(out[4]).toMatch(/^Energy is an estimate \(source: M\. Horowitz/);
    const json = JSON.parse(JSON.stringify(report));
    expect(json.energy.totalSramPj).toBeCloseTo(931946.44, 6);
    expect(json.profile.ops.binaryOps).toBe(5199104);
    expect(json.profile.paramsByBits).toEqual([
      { bits: 1, count: 93088 },
      { bits: 32, count: 468 },
    ]);
  });

  it("'flops' alone prints operations without energy; 'energy' alone prints energy without operation columns", () => {
    const flops: string[] = [];
    summary(larqIntroCnn(), { metrics: ['flops'], printFn: (s) => flops.push(s) });
    expect(flops).toHaveLength(4);
    expect(flops.join('\n')).not.toMatch(/Energy|pJ/);
    expect(flops[2]).toMatch(/\| Total\s+5,199,104\s+389,376 \|/);
    const energy: string[] = [];
    summary(larqIntroCnn(), { metrics: ['energy'], printFn: (s) => energy.push(s) });
    expect(energy).toHaveLength(5);
    expect(energy[2]).not.toMatch(/FLOPs|binary ops/);
    expect(energy[2]).toMatch(/\| Total\s+915,061\.4\s+16,885\.0\s+2,161,280\.0 \|/);
    expect(energy[3]).not.toMatch(/FLOPs/);
  });

  it('without metrics prints only the two Larq tables', () => {
    const out: string[] = [];
    summary(larqIntroCnn(), { printFn: (s) => out.push(s) });
    expect(out).toHaveLength(2);
    expect(efficiencyReport(larqIntroCnn()).energy).toBeUndefined();
  });

  it('energyAsReadable picks pJ, nJ, uJ', () => {
    expect(energyAsReadable(4.8)).toBe('4.80 pJ');
    expect(energyAsReadable(915061.44)).toBe('915.06 nJ');
    expect(energyAsReadable(3076341.44)).toBe('3.08 uJ');
  });
});

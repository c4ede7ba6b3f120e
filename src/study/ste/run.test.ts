import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { curveShape } from './experiments.js';
import { checkSteClaims, runSteStudy, type SteStudyResult } from './run.js';

describe('curveShape', () => {
  it('counts sign changes, rises and flat steps', () => {
    // diffs: -1, 0, +2, -3, -1 -> non-flat signs -, +, -, - : 2 sign changes, 1 rise, 1 flat step.
    const s = curveShape([5, 4, 4, 6, 3, 2]);
    expect(s.signChanges).toBe(2);
    expect(s.increases).toBe(1);
    expect(s.flatSteps).toBe(1);
    // TV = 1 + 2 + 3 + 1 = 7, net change 3.
    expect(s.roughness).toBeCloseTo(7 / 3, 15);
    expect(s.monotoneDecreasing).toBe(false);
    expect(curveShape([3, 2, 2, 1])).toMatchObject({
      signChanges: 0,
      roughness: 1,
      monotoneDecreasing: true,
    });
  });
});

describe('runSteStudy quick (experiments 1-5)', () => {
  let dir: string;
  let result: SteStudyResult;
  let extraCalled = false;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lowbit-ste-'));
    result = await runSteStudy({
      quick: true,
      outDir: dir,
      extraSections: [
        (report, ctx) => {
          extraCalled = ctx.quick && ctx.teacher.m === 10;
          report.section('ste-extra', '6. Appended later').text('More experiments.');
        },
      ],
    });
    // Generous: quick mode takes well under 2 minutes on an idle 2-core machine, but CI machines are shared.
  }, 1_200_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the report, its data and every chart as SVG and PNG', async () => {
    const files = await readdir(dir);
    for (const f of [
      'report.md',
      'report.json',
      'ste-figure1.svg',
      'ste-figure1.png',
      'ste-instability-at.png',
      'ste-instability-near.svg',
    ]) {
      expect(files).toContain(f);
    }
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('## 1. Empirical loss along the negative coarse gradient (Figure 1)');
    expect(md.indexOf('## 6. Appended later')).toBeGreaterThan(md.indexOf('## 5. Beyond the paper'));
    expect(md).toContain('## 4. Deep networks: LeNet-5 with quantized-ReLU activations (Table 1)');
    for (const f of [
      'ste-deep-mnist-loss.png',
      'ste-deep-quantized-relu-shapes.svg',
      'ste-restart-2bit-lr1e-5.png',
      'ste-binary-shapes.png',
      'ste-binary-binary-mlp-loss.svg',
    ]) {
      expect(files).toContain(f);
    }
    expect(extraCalled).toBe(true);
    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
    expect(json.sections.map((s: { id: string }) => s.id)).toEqual([
      'ste-figure1',
      'ste-convergence',
      'ste-instability',
      'ste-claims',
      'ste-deep',
      'ste-restart',
      'ste-deep-claims',
      'ste-binary',
      'ste-extra',
    ]);
  });

  it('Figure 1: the loss curve is more jagged with 10 samples than with 1000', () => {
    const s = result.figure1.summary.relu;
    expect(s[10].medianRoughness).toBeGreaterThan(s[1000].medianRoughness);
    expect(s[10].medianRelativeMaxRise).toBeGreaterThan(s[1000].medianRelativeMaxRise);
    // With 1000 samples the curve is close to monotone: its rises are a few percent of the decrease.
    expect(s[1000].medianRoughness).toBeLessThan(1.1);
    // The population loss along the expected coarse gradient is smooth: at most one turn.
    expect(curveShape(result.figure1.population.relu).signChanges).toBeLessThanOrEqual(1);
  });

  it('Theorem 1: ReLU and clipped ReLU decrease f monotonically while |w_t| stays away from 0', () => {
    for (const ste of ['relu', 'clipped_relu'] as const) {
      const bounded = result.convergence.runs.filter((r) => r.ste === ste && r.minWNorm >= r.wNorm0 / 10);
      expect(bounded.length).toBeGreaterThan(0);
      for (const r of bounded) expect(r.lossIncreases).toBe(0);
    }
    // and the final coarse gradients are small compared with the start (they approach a critical point).
    const ends = result.convergence.runs.filter((r) => r.ste !== 'identity' && r.end !== 'not converged');
    expect(ends.length).toBeGreaterThan(0);
  });

  it('Lemma 9: the identity STE leaves the spurious minimum, ReLU and clipped ReLU stay', () => {
    const at = (ste: string) => result.instability.runs.find((r) => r.start === 'at' && r.ste === ste)!;
    expect(at('identity').displacement).toBeGreaterThan(0.1);
    expect(at('identity').maxLoss).toBeGreaterThan(at('identity').initialLoss);
    expect(at('relu').displacement).toBeLessThan(1e-9);
    expect(at('clipped_relu').displacement).toBeLessThan(1e-9);
    // Started near it, ReLU and clipped ReLU return to it without raising f.
    for (const ste of ['relu', 'clipped_relu']) {
      const near = result.instability.runs.find((r) => r.start === 'near' && r.ste === ste)!;
      expect(near.maxLoss).toBeLessThanOrEqual(near.initialLoss);
      expect(near.finalPiMinusTheta).toBeLessThan(1e-3);
    }
    expect(result.instability.identityNormAtSpurious).toBeCloseTo(result.instability.lemma9Norm, 12);
    for (const r of result.instability.teacherRuns) {
      if (r.ste === 'identity') expect(r.displacement).toBeGreaterThan(1e-3);
      else expect(r.displacement).toBeLessThan(1e-9);
    }
  });

  it('the claims table agrees with the assertions above', () => {
    const checks = checkSteClaims(result.figure1, result.convergence, result.instability);
    expect(checks.find((c) => c.claim.includes('more jagged'))!.holds).toBe('yes');
    expect(checks.filter((c) => c.claim.startsWith('Lemma 9')).every((c) => c.holds === 'yes')).toBe(true);
  });

  it('experiment 4: every LeNet-5 row trains and ends far above chance', () => {
    const deep = result.deep!;
    expect(deep.datasets.map((d) => d.dataset)).toEqual(['mnist']);
    const rows = deep.datasets[0].rows;
    // 2 bit widths x 3 STEs.
    expect(rows.map((r) => `${r.bits}:${r.ste}`).sort()).toEqual(
      ['2:clipped_relu', '2:identity', '2:relu', '4:clipped_relu', '4:identity', '4:relu'].sort(),
    );
    for (const r of rows) {
      // The inference-mode training loss decreases from the float start, clearly.
      expect(r.endTrainLoss).toBeLessThan(0.9 * r.startTrainLoss);
      // Ten classes: chance is 10%.
      expect(r.testAccuracy).toBeGreaterThan(0.5);
      expect(r.epochs.map((e) => e.learningRate)).toEqual([0.1, 0.1 * 0.1 ** 1]);
    }
    expect(deep.datasets[0].float.testAccuracy).toBeGreaterThan(0.5);
  });

  it('experiment 4 (Figure 2): the identity-STE restart at lr 1e-5 barely changes the training loss', () => {
    const rs = result.deep!.restarts;
    expect(rs.length).toBe(1);
    const arm = (ste: string) => rs[0].arms.find((a) => a.ste === ste)!.curve;
    const id = arm('identity');
    const ctl = arm('clipped_relu');
    // Both arms start from the same clipped-ReLU solution.
    expect(id[0].trainLoss).toBe(ctl[0].trainLoss);
    // The training-mode loss over an epoch moves by less than 10% between restart epochs ...
    const first = id[1].runningLoss!;
    const last = id[id.length - 1].runningLoss!;
    expect(Math.abs(last / first - 1)).toBeLessThan(0.1);
    // ... and the identity STE does not improve the inference loss beyond what the control gets from
    // BatchNorm's moving statistics alone.
    expect(id[id.length - 1].trainLoss).toBeGreaterThan(0.9 * ctl[ctl.length - 1].trainLoss);
  });

  it('experiment 5: every binary quantizer trains binary-mlp far above chance', () => {
    const bin = result.binary!;
    expect(bin.quantizers).toEqual(['ste_sign', 'approx_sign', 'swish_sign', 'identity_sign']);
    expect(bin.runs.length).toBe(4);
    for (const r of bin.runs) {
      expect(r.endTrainLoss).toBeLessThan(0.9 * r.startTrainLoss);
      expect(r.testAccuracy).toBeGreaterThan(0.3);
      expect(r.epochs[1].loss).toBeLessThan(r.epochs[0].loss);
    }
  });

  it('reuses finished results of experiments 4 and 5 (e.g. run in other processes)', async () => {
    const dir2 = await mkdtemp(join(tmpdir(), 'lowbit-ste-reuse-'));
    try {
      const again = await runSteStudy({
        quick: true,
        outDir: dir2,
        deep: result.deep!,
        binary: result.binary!,
      });
      expect(again.deep).toBe(result.deep);
      expect(again.report.meta.deepReused).toBe(true);
      expect(again.report.meta.binaryReused).toBe(true);
      const md = await readFile(join(dir2, 'report.md'), 'utf8');
      expect(md).toContain('## 4b. Restarting from the clipped-ReLU solution');
      expect(md).toContain("## 5. Beyond the paper: Larq's binary quantizers");
      const none = await runSteStudy({ quick: true, outDir: dir2, deep: false, binary: false });
      expect(none.report.sections.map((s) => s.id)).not.toContain('ste-deep');
    } finally {
      await rm(dir2, { recursive: true, force: true });
    }
  });

  it('rejects bad options', async () => {
    await expect(runSteStudy({ quick: 'yes' as unknown as boolean, outDir: dir })).rejects.toThrow(
      ConfigError,
    );
    await expect(runSteStudy({ quick: true, outDir: '' })).rejects.toThrow(ConfigError);
    await expect(runSteStudy({ quick: true, outDir: dir, seed: -1 })).rejects.toThrow(/seed/);
  });
});

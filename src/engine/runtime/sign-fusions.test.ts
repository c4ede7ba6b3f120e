import { describe, expect, it } from 'vitest';
import { Random } from '../../util/random.js';
import { GraphBuilder } from '../builder.js';
import type { FloatTransform } from '../ir.js';
import { wordsFor } from '../shapes.js';
import { randomNormal, randomPacked, randomTransform } from '../testing/models.js';
import { loadGraph } from './net.js';

/** Bit-exact equality (Object.is per element), reporting the first difference. */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  expect(got.length, `${label} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) expect(`${label}[${i}] = ${got[i]}`).toBe(`${label}[${i}] = ${want[i]}`);
}

/**
 * dense (float input, +-1 weights) -> chain of affine (plain or BatchNorm form, any sign) / relu ->
 * binarize -> bdense (float output). predict() runs the dense, the chain and the binarize as denseSigns;
 * trace() runs sgemm and every node on its own (tfjs's order). A single differing bit changes every
 * output of the bdense by 2.
 */
function graph(rng: Random, k: number, units: number, mean?: (c: number) => number, packed = true) {
  const b = new GraphBuilder('x', [k]);
  const transform: FloatTransform =
    rng.next() < 0.5
      ? { kind: 'float' }
      : {
          kind: 'float',
          multiplier: b.constant('dm', 'float32', [units], randomNormal(rng, units)),
          bias: b.constant('db', 'float32', [units], randomNormal(rng, units, 3)),
          ...(rng.next() < 0.3 ? { outClamp: [-1 - rng.next(), 2 * rng.next()] as [number, number] } : {}),
        };
  let x = b.node({
    op: 'dense',
    inputs: [b.input],
    units,
    weights: packed
      ? b.constant('w', 'uint32', [units, wordsFor(k)], randomPacked(rng, units, k))
      : b.constant('w', 'float32', [k, units], randomNormal(rng, k * units)),
    transform,
  });
  const steps = mean || !packed ? 1 + rng.int(3) : rng.int(4);
  for (let s = 0; s < steps; s++) {
    const kind = mean ? 0 : rng.int(3);
    const gamma = randomNormal(rng, units).map((v, c) => (c % 13 === 7 ? 0 : v));
    if (kind === 0)
      x = b.node({
        op: 'affine',
        inputs: [x],
        multiplier: b.constant(`g${s}`, 'float32', [units], gamma),
        bias: b.constant(
          `be${s}`,
          'float32',
          [units],
          mean ? new Float32Array(units) : randomNormal(rng, units),
        ),
        mean: b.constant(
          `mu${s}`,
          'float32',
          [units],
          Float32Array.from({ length: units }, (_, c) => (mean ? mean(c) : rng.normal() * Math.sqrt(k))),
        ),
        divisor: b.constant(
          `d${s}`,
          'float32',
          [units],
          Float32Array.from({ length: units }, () => Math.fround(Math.sqrt(0.5 + 4 * rng.next()))),
        ),
      });
    else if (kind === 1)
      x = b.node({
        op: 'affine',
        inputs: [x],
        multiplier: b.constant(`g${s}`, 'float32', [units], gamma),
        bias: b.constant(`be${s}`, 'float32', [units], randomNormal(rng, units, 2)),
      });
    else x = b.node({ op: 'relu', inputs: [x] });
  }
  const bits = b.node({ op: 'binarize', inputs: [x] });
  const y = b.node({
    op: 'bdense',
    inputs: [bits],
    units: 12,
    weights: b.constant('w2', 'uint32', [12, wordsFor(units)], randomPacked(rng, 12, units)),
    transform: randomTransform(b, rng, 't2', 12, units, 'float'),
  });
  return { graph: b.build([y]), dense: 'dense_0', y };
}

/**
 * n image-like rows of k inputs: each on a background value (-1, 0, -0 or 0.25: the row's minimum)
 * with a random share of foreground above it, runs of background as wide as a group of 8 or wider
 * included; with `outliers`, a row whose minimum lies below its background (no group then equals it),
 * a row all background and a row with a NaN.
 */
function backgroundRows(rng: Random, n: number, k: number, outliers: boolean): Float32Array {
  const x = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    const bg = [-1, 0, -0, 0.25][rng.int(4)];
    const share = rng.next();
    for (let t = 0; t < k; t++) {
      const run = Math.floor(t / 16) % 3 === 0; // every third run of 16 inputs stays background
      x[r * k + t] = !run && rng.next() < share ? bg + Math.abs(rng.normal()) * 2 : bg;
    }
  }
  if (outliers && n >= 3) {
    x[rng.int(k)] = -7;
    x.fill(x[k + 1], k, 2 * k);
    x[2 * k + rng.int(k)] = Number.NaN;
  }
  return x;
}

/**
 * n rows of k 8-bit levels x = f32(q * scale + offset), q in [0, 255], on the background q = 0 (runs of
 * 16 inputs, as backgroundRows), odd rows topping out at q = 254 (one level short of the range); with
 * `outliers`, a row off the levels (normal noise) and a row with a NaN.
 */
function levelRows(rng: Random, n: number, k: number, scale: number, offset: number, outliers: boolean) {
  const x = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    const share = rng.next();
    const top = r % 2 ? 254 : 255;
    for (let t = 0; t < k; t++) {
      const run = Math.floor(t / 16) % 3 === 0;
      const q = !run && rng.next() < share ? 1 + rng.int(top) : 0;
      x[r * k + t] = q * scale + offset;
    }
    x[r * k + rng.int(k)] = top * scale + offset;
  }
  if (outliers && n >= 4) {
    for (let t = 0; t < k; t++) x[k + t] = rng.normal();
    x[3 * k + rng.int(k)] = Number.NaN;
  }
  return x;
}

/**
 * The graph of `seed` (k inputs, `units` units) with each unit's BatchNorm mean at sgemm's sum of row 0
 * of x, which puts every unit of that row exactly at 0 (bit 0, sign(0) = +1), where the fast sum alone
 * would give either bit: predict() equals trace() on the n rows and on row 0 alone (batch 1: one row
 * per table entry, the row kernel).
 */
async function expectDecidedAtThreshold(
  seed: number,
  x: Float32Array,
  n: number,
  k: number,
  units: number,
  label: string,
) {
  const probe = graph(new Random(seed), k, units);
  const sums = (await loadGraph(probe.graph)).trace(x.subarray(0, k), [1, k]).get(probe.dense)!.data;
  const { graph: g, y } = graph(new Random(seed), k, units, (c) => sums[c]);
  const net = await loadGraph(g);
  expectSame(net.predict(x, [n, k]).data, net.trace(x, [n, k]).get(y)!.data, label);
  const one = x.subarray(0, k);
  expectSame(net.predict(one, [1, k]).data, net.trace(one, [1, k]).get(y)!.data, `${label}, row 0 alone`);
}

describe('binarizing chains fused by thresholds (denseSigns, thresholdSigns) give the unfused bits', () => {
  it('over random sizes, chains and batch sizes (1 to 11: blocks of 4 rows and their remainders)', async () => {
    const rng = new Random(91);
    for (let trial = 0; trial < 30; trial++) {
      const k = 1 + rng.int(trial % 3 === 0 ? 900 : 70);
      const units = 1 + rng.int(80);
      const { graph: g, y } = graph(rng, k, units);
      const net = await loadGraph(g);
      expect(net.info.fused, `trial ${trial}`).toEqual([
        'dense+binarize dense_0 binarize_' + (g.nodes.length - 2),
      ]);
      const n = 1 + rng.int(11);
      const scale = [1, 1e-3, 1e4][trial % 3];
      const x = randomNormal(rng, n * k, scale);
      const want = net.trace(x, [n, k]).get(y)!.data;
      expectSame(net.predict(x, [n, k]).data, want, `trial ${trial} (k ${k}, units ${units}, n ${n})`);
    }
  });

  it('decides outputs at the threshold itself by the exact sum (BatchNorm mean = the sgemm sum)', async () => {
    // Large and small inputs mixed: the table-lookup sum rounds differently from sgemm's sequential
    // sum, and a BatchNorm whose mean is sgemm's sum of row 0 puts every unit's value at exactly 0 (bit
    // 0, sign(0) = +1), where the fast sum alone would give either bit.
    const rng = new Random(92);
    for (let trial = 0; trial < 6; trial++) {
      const k = 200 + rng.int(600);
      const units = 40 + rng.int(40);
      const n = 1 + rng.int(9);
      const x = Float32Array.from({ length: n * k }, () => rng.normal() * (rng.next() < 0.1 ? 1e5 : 1));
      await expectDecidedAtThreshold(500 + trial, x, n, k, units, `trial ${trial}`);
    }
  });

  it('rows on a background value (skipped groups, shifted sums) at every batch size: the unfused bits', async () => {
    const rng = new Random(96);
    for (let trial = 0; trial < 30; trial++) {
      const k = 1 + rng.int(trial % 2 === 0 ? 900 : 70);
      const units = 1 + rng.int(80);
      const { graph: g, y } = graph(rng, k, units);
      const net = await loadGraph(g);
      const n = 1 + rng.int(11);
      const x = backgroundRows(rng, n, k, trial % 3 === 0);
      expectSame(
        net.predict(x, [n, k]).data,
        net.trace(x, [n, k]).get(y)!.data,
        `trial ${trial} (k ${k}, n ${n})`,
      );
    }
  });

  it('rows on a background value at the threshold itself (BatchNorm mean = the sgemm sum): the exact sums decide', async () => {
    const rng = new Random(97);
    for (let trial = 0; trial < 6; trial++) {
      const k = 200 + rng.int(600);
      const units = 40 + rng.int(40);
      const n = 1 + rng.int(9);
      const x = backgroundRows(rng, n, k, false);
      await expectDecidedAtThreshold(600 + trial, x, n, k, units, `trial ${trial}`);
    }
  });

  it('rows of 8-bit levels (integer tables) on several scalings, off-level rows among them: the unfused bits', async () => {
    const rng = new Random(98);
    for (let trial = 0; trial < 24; trial++) {
      const k = 1 + rng.int(trial % 2 === 0 ? 900 : 70);
      const units = 1 + rng.int(80);
      const { graph: g, y } = graph(rng, k, units);
      const net = await loadGraph(g);
      const n = 2 + rng.int(19);
      const [scale, offset] = [
        [1 / 127.5, -1],
        [1 / 255, 0],
        [0.37, -5],
        [3e-4, 2],
      ][trial % 4];
      const x = levelRows(rng, n, k, scale, offset, trial % 3 === 0);
      expectSame(
        net.predict(x, [n, k]).data,
        net.trace(x, [n, k]).get(y)!.data,
        `trial ${trial} (k ${k}, n ${n})`,
      );
    }
  });

  it('rows of 8-bit levels at the threshold itself (BatchNorm mean = the sgemm sum): the exact sums decide', async () => {
    const rng = new Random(99);
    for (let trial = 0; trial < 6; trial++) {
      const k = 200 + rng.int(600);
      const units = 40 + rng.int(40);
      const n = 2 + rng.int(14);
      const x = levelRows(rng, n, k, 1 / 127.5, -1, false);
      // Every row a copy of row 0: every unit of every row at its threshold.
      for (let r = 1; r < n; r++) x.copyWithin(r * k, 0, k);
      await expectDecidedAtThreshold(800 + trial, x, n, k, units, `trial ${trial}`);
    }
  });

  it('NaN, infinities and sums beyond 2^100 in a row: summed exactly, as the unfused graph', async () => {
    const rng = new Random(93);
    for (let trial = 0; trial < 8; trial++) {
      const k = 1 + rng.int(100);
      const units = 1 + rng.int(40);
      const { graph: g, y } = graph(rng, k, units);
      const net = await loadGraph(g);
      const n = 5;
      const x = randomNormal(rng, n * k);
      x[rng.int(k)] = Number.NaN;
      x[k + rng.int(k)] = Number.POSITIVE_INFINITY;
      x[2 * k + rng.int(k)] = Number.NEGATIVE_INFINITY;
      x[3 * k + rng.int(k)] = 3e38;
      x[4 * k + rng.int(k)] = -0;
      expectSame(net.predict(x, [n, k]).data, net.trace(x, [n, k]).get(y)!.data, `trial ${trial}`);
    }
  });

  it('split over two threads: the same bits', async () => {
    const rng = new Random(94);
    const { graph: g, y } = graph(rng, 784, 256);
    const net = await loadGraph(g, { threads: 2 });
    const x = randomNormal(rng, 64 * 784);
    expectSame(net.predict(x, [64, 784]).data, net.trace(x, [64, 784]).get(y)!.data, 'batch 64');
    net.dispose();
  });

  it('after float weights: the affine / relu chain + binarize by thresholds (thresholdSigns), NaN and infinities included', async () => {
    const rng = new Random(95);
    for (let trial = 0; trial < 20; trial++) {
      const k = 1 + rng.int(60);
      const units = 1 + rng.int(70);
      const { graph: g, y } = graph(rng, k, units, undefined, false);
      const net = await loadGraph(g);
      expect(net.info.fused.length, `trial ${trial}`).toBe(1);
      expect(net.info.fused[0], `trial ${trial}`).toMatch(/^(affine|relu)\+binarize /);
      const n = 1 + rng.int(6);
      const x = randomNormal(rng, n * k, [1, 1e19, 1e-3][trial % 3]);
      if (trial % 4 === 1)
        for (const v of [Number.NaN, Infinity, -Infinity, 3e38, -0]) x[rng.int(x.length)] = v;
      expectSame(net.predict(x, [n, k]).data, net.trace(x, [n, k]).get(y)!.data, `trial ${trial}`);
    }
  });

  it('8-bit input: the dequantized floats q / 127.5 - 1 (integer tables on their levels), ties included', async () => {
    const scaling = { scale: 1 / 127.5, offset: -1 };
    const rng = new Random(96);
    for (let trial = 0; trial < 6; trial++) {
      const k = 100 + rng.int(700);
      const units = 20 + rng.int(60);
      const n = 1 + rng.int(9);
      const bytes = Uint8Array.from({ length: n * k }, () => rng.int(256));
      const floats = Float32Array.from(bytes, (q) => q * scaling.scale + scaling.offset);
      const probe = graph(new Random(700 + trial), k, units);
      const sums = (await loadGraph(probe.graph)).trace(floats.subarray(0, k), [1, k]).get(probe.dense)!.data;
      // Half the trials: every unit's BatchNorm mean at row 0's float sum (value exactly 0 there).
      const { graph: g, y } = graph(
        new Random(700 + trial),
        k,
        units,
        trial % 2 ? (c) => sums[c] : undefined,
      );
      const net = await loadGraph(g);
      const want = net.trace(floats, [n, k]).get(y)!.data;
      g.inputs[0].uint8 = scaling;
      const u8 = await loadGraph(g);
      expect(u8.info.uint8Nodes, `trial ${trial}`).toEqual([]);
      expectSame(u8.predict(bytes, [n, k]).data, want, `trial ${trial} (k ${k}, units ${units}, n ${n})`);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { FormatError, ShapeError } from '../../errors.js';
import { Random } from '../../util/random.js';
import { GraphBuilder } from '../builder.js';
import { decodeModel, encodeModel } from '../format/lbm.js';
import type { Graph } from '../ir.js';
import { wordsFor } from '../shapes.js';
import { randomPacked, randomTransform } from '../testing/models.js';
import { Kernels } from './kernels.js';
import { load } from './net.js';
import { u8DenseTables } from './prepare.js';

/** Bit-exact equality (Object.is per element), reporting the first difference. */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  expect(got.length, `${label} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) expect(`${label}[${i}] = ${got[i]}`).toBe(`${label}[${i}] = ${want[i]}`);
}

describe('denseU8 (integer dense on 8-bit input with +-1 weights)', () => {
  // k not a multiple of 4 or 32, units not a multiple of 16, groups past 32 (i16 flush), bytes 0 and 255.
  for (const [m, k, units] of [
    [1, 1, 1],
    [2, 7, 17],
    [3, 130, 33],
    [5, 784, 40],
    [1, 1000, 3],
  ] as [number, number, number][])
    it(`${m} x ${k} -> ${units}: the exact integer products, scaled once in float64`, async () => {
      const rng = new Random(m * 1000 + k + units);
      const kern = await Kernels.create();
      const words = wordsFor(k);
      const w = randomPacked(rng, units, k);
      const q = Uint8Array.from({ length: m * k }, (_, i) =>
        i % 11 === 0 ? 255 : i % 13 === 0 ? 0 : rng.int(256),
      );
      const ldb = Math.ceil(units / 4) * 4;
      const { idx, colsum } = u8DenseTables(kern, w, k, units);
      const pq = kern.alloc(q.length);
      new Uint8Array(kern.memory.buffer, pq, q.length).set(q);
      const pc = kern.alloc(m * ldb * 4);
      kern.f32(pc, m * ldb).fill(Number.NaN);
      const scale = 1 / 127.5;
      const offset = -1;
      kern.x.denseU8(
        pq,
        idx,
        pc,
        m,
        k,
        units,
        ldb,
        kern.alloc(Math.ceil(k / 4) * 32 + 128),
        colsum,
        scale,
        offset,
      );
      const got = kern.f32(pc, m * ldb);
      for (let r = 0; r < m; r++)
        for (let j = 0; j < ldb; j++) {
          let d = 0;
          let c = 0;
          for (let i = 0; i < k; i++) {
            const s = (w[j * words + (i >> 5)] >>> (i & 31)) & 1 ? -1 : 1;
            if (j < units) {
              d += q[r * k + i] * s;
              c += s;
            }
          }
          const want = j < units ? Math.fround(scale * d + offset * c) : 0;
          expect(got[r * ldb + j], `row ${r} col ${j}`).toBe(want);
        }
    });
});

/**
 * input [h, w, 1] -> flatten -> dense (+-1 weights) -> binarize -> bdense, and dense -> relu (a second
 * consumer: the dense values themselves are used, so it runs as denseU8 rather than as denseSigns;
 * without it, `signsOnly`, denseSigns reads the dequantized floats); `also`: the input feeds a second
 * branch.
 */
function mlp(
  rng: Random,
  shape: number[],
  units: number,
  also: boolean,
  signsOnly = false,
): { graph: Graph; dense: string } {
  const b = new GraphBuilder('x', shape);
  const kk = shape.reduce((a, v) => a * v, 1);
  const flat = b.node({ op: 'flatten', inputs: [b.input] });
  const dense = b.node({
    op: 'dense',
    inputs: [flat],
    units,
    weights: b.constant('w', 'uint32', [units, wordsFor(kk)], randomPacked(rng, units, kk)),
    transform: randomTransform(b, rng, 't', units, 1, 'float') as never,
  });
  const y = b.node({
    op: 'bdense',
    inputs: [b.node({ op: 'binarize', inputs: [dense] })],
    units: 10,
    weights: b.constant('w2', 'uint32', [10, wordsFor(units)], randomPacked(rng, 10, units)),
    transform: randomTransform(b, rng, 't2', 10, units, 'float'),
  });
  const outs = signsOnly ? [y] : [y, b.node({ op: 'relu', inputs: [dense] })];
  if (also) outs.push(b.node({ op: 'relu', inputs: [flat] }));
  return { graph: b.build(outs), dense };
}

describe('predict(Uint8Array) on models with an 8-bit input scaling', () => {
  it('with scale 1 and offset 0 the integer dense equals the float dense bit for bit; otherwise within float32 rounding', async () => {
    const rng = new Random(91);
    for (const [shape, units, also] of [
      [[7, 9, 1], 37, false],
      [[28, 28, 1], 64, true],
    ] as [number[], number, boolean][]) {
      const { graph, dense } = mlp(rng, shape, units, also);
      const n = 3;
      const kk = shape.reduce((a, v) => a * v, 1);
      const q = Uint8Array.from({ length: n * kk }, () => rng.int(256));
      for (const [scale, offset] of [
        [1, 0],
        [1 / 127.5, -1],
      ]) {
        graph.inputs[0].uint8 = { scale, offset };
        const net = await load(encodeModel(graph));
        expect(net.info.uint8Nodes).toEqual([dense]);
        const x = Float32Array.from(q, (v) => v * scale + offset);
        const ti = net.trace(q, [n, ...shape]);
        const tf = net.trace(x, [n, ...shape]);
        expectSame(ti.get('x')!.data, x, 'dequantized input');
        const a = ti.get(dense)!.data;
        const b = tf.get(dense)!.data;
        if (scale === 1) expectSame(a, b, `${dense} (integer inputs)`);
        else
          for (let i = 0; i < a.length; i++)
            expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4 * (1 + Math.abs(b[i])));
        // predict() (float input not materialized unless another node reads it) equals trace().
        const out = net.predictAll(q, [n, ...shape]);
        for (const name of graph.outputs) expectSame(out[name].data, ti.get(name)!.data, name);
      }
    }
  });

  it('a valid conv with +-1 weights fused with its max pool runs on the bytes (convPoolU8): exact for integer inputs, within float32 rounding otherwise', async () => {
    const rng = new Random(94);
    for (let trial = 0; trial < 12; trial++) {
      const cin = [1, 2, 3, 14][trial % 4];
      const h = 6 + rng.int(8);
      const w = 6 + rng.int(8);
      const kk = 1 + rng.int(3);
      const stride = 1 + rng.int(2);
      const cout = 1 + rng.int(40);
      const b = new GraphBuilder('x', [h, w, cin]);
      const conv = b.node({
        op: 'conv2d',
        inputs: [b.input],
        kernelSize: [kk, kk],
        strides: [stride, stride],
        dilations: [1, 1],
        padding: trial === 11 ? 'same' : 'valid',
        filters: cout,
        padValue: 0,
        weights: b.constant(
          'w',
          'uint32',
          [cout, kk, kk, wordsFor(cin)],
          randomPacked(rng, cout * kk * kk, cin),
        ),
        // Odd trials: positive multipliers (the kernel pools before the transform).
        transform: (trial % 2
          ? {
              kind: 'float',
              multiplier: b.constant(
                'cm',
                'float32',
                [cout],
                Float32Array.from({ length: cout }, () => 0.01 + rng.next()),
              ),
              bias: b.constant(
                'cb',
                'float32',
                [cout],
                Float32Array.from({ length: cout }, () => rng.normal()),
              ),
              outClamp: [0, null],
            }
          : randomTransform(b, rng, 'c', cout, 1, 'float')) as never,
      });
      const pk = 1 + rng.int(2);
      const pool = b.node({
        op: 'maxpool2d',
        inputs: [conv],
        kernelSize: [pk, pk],
        strides: [pk, pk],
        padding: 'valid',
      });
      const graph = b.build([pool]);
      const n = 1 + rng.int(5);
      const q = Uint8Array.from({ length: n * h * w * cin }, () => rng.int(256));
      for (const [scale, offset] of [
        [1, 0],
        [1 / 127.5, -1],
      ]) {
        graph.inputs[0].uint8 = { scale, offset };
        const net = await load(encodeModel(graph));
        // 'same' padding reads padded taps: not on the bytes.
        expect(net.info.uint8Nodes, `trial ${trial}`).toEqual(trial === 11 ? [] : [conv]);
        const got = net.predict(q, [n, h, w, cin]).data;
        const want = net.trace(q, [n, h, w, cin]).get(pool)!.data;
        if (scale === 1) expectSame(got, want, `trial ${trial} pool`);
        else
          for (let i = 0; i < got.length; i++)
            expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-4 * (1 + Math.abs(want[i])));
      }
    }
  });

  it('convPoolU8 with 2x2 pools (pooled on the integer sums when the transform is non-decreasing), on noise and on images with a background: bit for bit the formula', async () => {
    const rng = new Random(95);
    for (let trial = 0; trial < 10; trial++) {
      const cin = [1, 3][trial % 2];
      const [h, w] = [7 + rng.int(9), 7 + rng.int(9)];
      const kk = 2 + rng.int(2);
      const stride = 1 + (trial % 3 === 2 ? 1 : 0);
      const cout = [1, 5, 16, 23, 32, 37][rng.int(6)];
      const b = new GraphBuilder('x', [h, w, cin]);
      const packed = randomPacked(rng, cout * kk * kk, cin);
      // Trials 0-7: positive multipliers (pooled before the transform); 8-9: some negative.
      const m = Float32Array.from(
        { length: cout },
        () => (trial >= 8 && rng.next() < 0.5 ? -1 : 1) * (0.01 + rng.next()),
      );
      const bias = Float32Array.from({ length: cout }, () => rng.normal());
      const conv = b.node({
        op: 'conv2d',
        inputs: [b.input],
        kernelSize: [kk, kk],
        strides: [stride, stride],
        dilations: [1, 1],
        padding: 'valid',
        filters: cout,
        padValue: 0,
        weights: b.constant('w', 'uint32', [cout, kk, kk, wordsFor(cin)], packed),
        transform: {
          kind: 'float',
          multiplier: b.constant('m', 'float32', [cout], m),
          bias: b.constant('b', 'float32', [cout], bias),
          outClamp: trial % 2 ? [0, null] : undefined,
        },
      });
      const pool = b.node({
        op: 'maxpool2d',
        inputs: [conv],
        kernelSize: [2, 2],
        strides: [2, 2],
        padding: 'valid',
      });
      const graph = b.build([pool]);
      const [scale, offset] = [1 / 127.5, -1];
      graph.inputs[0].uint8 = { scale, offset };
      const net = await load(encodeModel(graph));
      expect(net.info.uint8Nodes).toEqual([conv]);
      const n = 1 + rng.int(4);
      const q = Uint8Array.from({ length: n * h * w * cin }, () => rng.int(256));
      // Trials 3-9: images on a background byte (their smallest) with a rectangle of foreground, so
      // that pooled pixels on the background take the background's value (computed once per image).
      if (trial >= 3)
        for (let s = 0; s < n; s++) {
          const bg = [0, 17][s % 2];
          const [y0, x0] = [rng.int(h), rng.int(w)];
          const [y1, x1] = [y0 + rng.int(h - y0), x0 + rng.int(w - x0)];
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++)
              for (let ci = 0; ci < cin; ci++) {
                const inside = y >= y0 && y <= y1 && x >= x0 && x <= x1;
                q[((s * h + y) * w + x) * cin + ci] = inside ? bg + rng.int(256 - bg) : bg;
              }
        }
      const got = net.predict(q, [n, h, w, cin]).data;
      // The formula: D = sum over taps of q w (w = -1 for a set bit), conv value f32(f32(D) f32(scale) +
      // f32(offset sum w)), then the transform clamp(f32(v m) + b) and the max over the 2x2 window.
      const [oh, ow] = [Math.floor((h - kk) / stride) + 1, Math.floor((w - kk) / stride) + 1];
      const [poh, pow] = [Math.floor(oh / 2), Math.floor(ow / 2)];
      const words = wordsFor(cin);
      const wt = (o: number, ky: number, kx: number, ci: number) =>
        (packed[((o * kk + ky) * kk + kx) * words + (ci >> 5)] >>> (ci & 31)) & 1 ? -1 : 1;
      const f = Math.fround;
      for (let s = 0; s < n; s++)
        for (let py = 0; py < poh; py++)
          for (let px = 0; px < pow; px++)
            for (let o = 0; o < cout; o++) {
              let want = Number.NEGATIVE_INFINITY;
              let wsum = 0;
              for (let ky = 0; ky < kk; ky++)
                for (let kx = 0; kx < kk; kx++) for (let ci = 0; ci < cin; ci++) wsum += wt(o, ky, kx, ci);
              for (const [dy, dx] of [
                [0, 0],
                [0, 1],
                [1, 0],
                [1, 1],
              ]) {
                const [oy, ox] = [2 * py + dy, 2 * px + dx];
                let d = 0;
                for (let ky = 0; ky < kk; ky++)
                  for (let kx = 0; kx < kk; kx++)
                    for (let ci = 0; ci < cin; ci++)
                      d +=
                        q[((s * h + oy * stride + ky) * w + ox * stride + kx) * cin + ci] * wt(o, ky, kx, ci);
                const v = f(f(d * f(scale)) + f(offset * wsum));
                let y = f(f(v * m[o]) + bias[o]);
                if (trial % 2 && y < 0) y = 0;
                want = Math.max(want, y);
              }
              const i = ((s * poh + py) * pow + px) * cout + o;
              if (!Object.is(got[i], want))
                expect(`trial ${trial} [${i}] ${got[i]}`).toBe(`trial ${trial} [${i}] ${want}`);
            }
    }
  });

  it('2 threads (samples split over a worker, each part dequantizing its own) give exactly the single-thread values', async () => {
    const rng = new Random(93);
    for (const signsOnly of [false, true]) {
      const { graph } = mlp(rng, [28, 28, 1], 200, false, signsOnly);
      graph.inputs[0].uint8 = { scale: 1 / 127.5, offset: -1 };
      const bytes = encodeModel(graph);
      const one = await load(bytes);
      const two = await load(bytes, { threads: 2 });
      try {
        expect(two.info.threads).toBe(2);
        expect(two.info.uint8Nodes).toEqual(signsOnly ? [] : ['dense_1']);
        // Twice: the second run reuses the recorded parts with new bytes.
        for (let run = 0; run < 2; run++) {
          const q = Uint8Array.from({ length: 64 * 784 }, () => rng.int(256));
          const label = `signsOnly ${signsOnly}, run ${run}`;
          expectSame(two.predict(q, [64, 28, 28, 1]).data, one.predict(q, [64, 28, 28, 1]).data, label);
        }
      } finally {
        two.dispose();
      }
    }
  });

  it('bad input: a Uint8Array without scaling, wrong dtypes and lengths, bad scalings in files', async () => {
    const rng = new Random(92);
    const { graph } = mlp(rng, [4, 4, 1], 8, false);
    const plain = await load(encodeModel(graph));
    expect(() => plain.predict(new Uint8Array(16), [1, 4, 4, 1])).toThrow(ShapeError);
    expect(() => plain.predict(new Uint8Array(16), [1, 4, 4, 1])).toThrow(/uint8Input/);
    graph.inputs[0].uint8 = { scale: 0.5, offset: 0 };
    const net = await load(encodeModel(graph));
    expect(() => net.predict(new Uint8Array(15), [1, 4, 4, 1])).toThrow(/15 values for shape \[1, 4, 4, 1\]/);
    expect(() => net.predict(new Int8Array(16) as unknown as Uint8Array, [1, 4, 4, 1])).toThrow(
      /Int8Array.*Uint8Array/,
    );
    expect(decodeModel(encodeModel(graph)).graph.inputs[0].uint8).toEqual({ scale: 0.5, offset: 0 });
    for (const bad of [
      { scale: 0, offset: 0 },
      { scale: -1, offset: 0 },
      { scale: 1, offset: Number.NaN },
      { scale: 1 },
    ])
      expect(
        () => encodeModel({ ...graph, inputs: [{ ...graph.inputs[0], uint8: bad as never }] }),
        JSON.stringify(bad),
      ).toThrow(FormatError);
  });
});

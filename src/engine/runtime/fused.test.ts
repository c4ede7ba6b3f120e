import { describe, expect, it } from 'vitest';
import { Random } from '../../util/random.js';
import { GraphBuilder } from '../builder.js';
import { encodeModel } from '../format/lbm.js';
import { windowAxis, wordsFor } from '../shapes.js';
import { randomInput, randomNormal, randomPacked, randomTransform } from '../testing/models.js';
import { load } from './net.js';

/** Bit-exact equality (Object.is per element), reporting the first difference. */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  expect(got.length, `${label} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) expect(`${label}[${i}] = ${got[i]}`).toBe(`${label}[${i}] = ${want[i]}`);
}

/**
 * conv2d (float) -> maxpool2d -> affine -> binarize -> bdense, outputs [bdense, pool]. The fused
 * kernels (conv2d+maxpool2d, affine+binarize) run in predict(); trace() runs every node on its own.
 */
function chain(rng: Random, trial: number) {
  const h = 5 + rng.int(9);
  const w = 5 + rng.int(9);
  const cin = 1 + rng.int(5);
  const b = new GraphBuilder('x', [h, w, cin]);
  const cout = 1 + rng.int(40);
  const k = 1 + rng.int(4);
  const stride = 1 + rng.int(2);
  const dil = k > 1 && rng.next() < 0.3 ? 2 : 1;
  const padding = rng.next() < 0.5 ? ('same' as const) : ('valid' as const);
  const packed = trial % 2 === 0;
  const weights = packed
    ? b.constant('w', 'uint32', [cout, k, k, wordsFor(cin)], randomPacked(rng, cout * k * k, cin))
    : b.constant('w', 'float32', [k, k, cin, cout], randomNormal(rng, k * k * cin * cout));
  // Odd trials: every multiplier > 0, where the fused kernel pools before the transform (monotone).
  const t =
    trial % 2 === 1
      ? {
          kind: 'float' as const,
          multiplier: b.constant(
            'cm',
            'float32',
            [cout],
            randomNormal(rng, cout).map((v) => Math.abs(v) + 0.01),
          ),
          bias: b.constant('cb', 'float32', [cout], randomNormal(rng, cout)),
        }
      : randomTransform(b, rng, 'c', cout, 1, 'float');
  const conv = b.node({
    op: 'conv2d',
    inputs: [b.input],
    kernelSize: [k, k],
    strides: [stride, stride],
    dilations: [dil, dil],
    padding,
    filters: cout,
    padValue: trial % 3 === 2 ? 0.5 : 0,
    weights,
    transform: (trial % 4 === 1 ? { ...t, outClamp: [0, null] } : t) as never,
  });
  const pk: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
  const pool = b.node({
    op: 'maxpool2d',
    inputs: [conv],
    kernelSize: pk,
    strides: [pk[0] + rng.int(2), pk[1] + rng.int(2)],
    padding: rng.next() < 0.5 ? 'same' : 'valid',
  });
  const aff = b.node({
    op: 'affine',
    inputs: [pool],
    multiplier: b.constant('am', 'float32', [cout], randomNormal(rng, cout)),
    bias: b.constant('ab', 'float32', [cout], randomNormal(rng, cout)),
  });
  const bits = b.node({ op: 'binarize', inputs: [aff] });
  return { b, pool, bits };
}

/** A bdense of 1 to 9 units with random packed weights and float output over packed bits of `shape`. */
function bdenseOver(b: GraphBuilder, rng: Random, bits: string, shape: number[]): string {
  const flat = shape.reduce((x, y) => x * y, 1);
  const c = shape[shape.length - 1];
  const units = 1 + rng.int(9);
  return b.node({
    op: 'bdense',
    inputs: [bits],
    units,
    weights: b.constant(
      'dw',
      'uint32',
      [units, ...shape.slice(0, -1), wordsFor(c)],
      randomPacked(rng, (units * flat) / c, c),
    ),
    transform: randomTransform(b, rng, 'dt', units, flat, 'float'),
  });
}

describe('fused kernels give bit for bit the unfused results', () => {
  it('conv2d+maxpool2d and affine+binarize over random shapes, strides, dilations, paddings and pools', async () => {
    const rng = new Random(77);
    for (let trial = 0; trial < 40; trial++) {
      const { b, pool, bits } = chain(rng, trial);
      const ins = (await load(encodeModel(b.build([pool])))).info.nodes;
      const y = bdenseOver(b, rng, bits, ins.find((n) => n.op === 'maxpool2d')!.shape);
      const graph = b.build([y, pool]);
      const net = await load(encodeModel(graph));
      expect(
        net.info.fused.map((f) => f.split(' ')[0]),
        `trial ${trial}`,
      ).toEqual(['conv2d+maxpool2d', 'affine+binarize']);
      const input = randomInput(graph, 1 + rng.int(3), trial);
      // Some trials with NaN, infinities and -0 in the image (NaN must win every max, as Math.max).
      const special = new Random(1000 + trial);
      if (trial % 5 === 3)
        for (let i = 0; i < 6; i++)
          input.data[special.int(input.data.length)] = [Number.NaN, Infinity, -Infinity, -0][i % 4];
      const want = net.trace(input.data, input.shape);
      const got = net.predictAll(input.data, input.shape);
      expectSame(got[y].data, want.get(y)!.data, `trial ${trial} output`);
      expectSame(got[pool].data, want.get(pool)!.data, `trial ${trial} pool`);
    }
  });

  it('conv2d+maxpool2d on images with a background (pooled pixels whose taps all read it): the unfused results', async () => {
    const rng = new Random(78);
    for (let trial = 0; trial < 40; trial++) {
      const { b, pool } = chain(rng, trial);
      const graph = b.build([pool]);
      const net = await load(encodeModel(graph));
      const input = randomInput(graph, 1 + rng.int(3), trial);
      const [n, h, w, c] = input.shape;
      const size = h * w * c;
      for (let i = 0; i < n; i++) {
        // The background: the image's minimum; 0 and 0.5 are also the pad values of some trials.
        const bg = [-1, 0, 0.5, -0.25][rng.int(4)];
        const y0 = rng.int(h);
        const x0 = rng.int(w);
        const y1 = y0 + rng.int(h - y0);
        const x1 = x0 + rng.int(w - x0);
        for (let p = 0; p < size; p++) {
          const y = Math.floor(p / (w * c));
          const x = Math.floor(p / c) % w;
          const inside = y >= y0 && y <= y1 && x >= x0 && x <= x1;
          input.data[i * size + p] = inside && rng.next() < 0.8 ? bg + Math.abs(rng.normal()) : bg;
        }
        if (trial % 7 === 3) input.data[i * size + rng.int(size)] = Number.NaN;
        if (trial % 7 === 5) input.data[i * size + rng.int(size)] = bg - 3;
      }
      expectSame(
        net.predict(input.data, input.shape).data,
        net.trace(input.data, input.shape).get(pool)!.data,
        `trial ${trial}`,
      );
    }
  });

  it('bconv2d+maxpool2d on packed bits (only the conv pixels the pool reads, a few images per step, 1 and 2 threads)', async () => {
    const rng = new Random(79);
    for (let trial = 0; trial < 36; trial++) {
      const h = 4 + rng.int(13);
      const w = 4 + rng.int(13);
      const cin = 1 + rng.int(70);
      const cout = 1 + rng.int(70);
      const k = 1 + rng.int(3);
      const b = new GraphBuilder('x', [h, w, cin]);
      const padding = rng.next() < 0.5 ? ('same' as const) : ('valid' as const);
      const convAttrs = {
        kernelSize: [k, k] as [number, number],
        strides: [1 + rng.int(2), 1 + rng.int(2)] as [number, number],
        dilations: (k > 1 && padding === 'same' && rng.next() < 0.3 ? [2, 2] : [1, 1]) as [number, number],
        padding,
      };
      const conv = b.node({
        op: 'bconv2d',
        inputs: [b.node({ op: 'binarize', inputs: [b.input] })],
        ...convAttrs,
        filters: cout,
        // Pad value 0 with same padding: the zero-padding correction, where every conv pixel is computed.
        padValue: (trial % 3 === 0 ? 0 : 1) as 0 | 1,
        weights: b.constant('w', 'uint32', [cout, k, k, wordsFor(cin)], randomPacked(rng, cout * k * k, cin)),
        transform: randomTransform(b, rng, 't', cout, k * k * cin, 'bits'),
      });
      // Pools that leave conv rows and columns unread (valid, stride > size), overlap (stride < size) or pad.
      const pk: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
      const poolAttrs = {
        kernelSize: pk,
        strides: [1 + rng.int(3), 1 + rng.int(3)] as [number, number],
        padding: rng.next() < 0.3 ? ('same' as const) : ('valid' as const),
      };
      const out = (i: 0 | 1, size: number) => {
        const c = windowAxis(size, k, convAttrs.strides[i], convAttrs.dilations[i], padding).out;
        return windowAxis(c, pk[i], poolAttrs.strides[i], 1, poolAttrs.padding).out;
      };
      // A valid pool window larger than the conv output: a same pool.
      if (out(0, h) < 1 || out(1, w) < 1) poolAttrs.padding = 'same';
      const pool = b.node({ op: 'maxpool2d', inputs: [conv], ...poolAttrs });
      const y = bdenseOver(b, rng, pool, [out(0, h), out(1, w), cout]);
      // Every pool bit reaches every output unit (a wrong bit moves its dot product by 2).
      const graph = b.build([y]);
      const net = await load(encodeModel(graph), trial % 4 === 1 ? { threads: 2 } : {});
      expect(net.info.fused, `trial ${trial}`).toEqual([`bconv2d+maxpool2d ${conv} ${pool}`]);
      // Up to 40 images: steps of several small images, split over the threads.
      const input = randomInput(graph, 1 + rng.int(40), trial);
      expectSame(
        net.predict(input.data, input.shape).data,
        net.trace(input.data, input.shape).get(y)!.data,
        `trial ${trial}`,
      );
      net.dispose();
    }
  });

  it('does not fuse overlapping pools or values with a second consumer', async () => {
    const rng = new Random(78);
    // Overlapping pool windows (stride 1 < size 2): not fused.
    const g1 = new GraphBuilder('x', [8, 8, 2]);
    const c1 = g1.node({
      op: 'conv2d',
      inputs: [g1.input],
      kernelSize: [3, 3],
      strides: [1, 1],
      dilations: [1, 1],
      padding: 'same',
      filters: 5,
      padValue: 0,
      weights: g1.constant('w', 'float32', [3, 3, 2, 5], randomNormal(rng, 90)),
      transform: { kind: 'float' },
    });
    const p1 = g1.node({
      op: 'maxpool2d',
      inputs: [c1],
      kernelSize: [2, 2],
      strides: [1, 1],
      padding: 'valid',
    });
    const net1 = await load(encodeModel(g1.build([p1])));
    expect(net1.info.fused).toEqual([]);
    // The conv output is also a graph output, the affine output feeds two nodes: not fused.
    const g2 = new GraphBuilder('x', [8, 8, 2]);
    const c2 = g2.node({
      op: 'conv2d',
      inputs: [g2.input],
      kernelSize: [3, 3],
      strides: [1, 1],
      dilations: [1, 1],
      padding: 'same',
      filters: 5,
      padValue: 0,
      weights: g2.constant('w', 'float32', [3, 3, 2, 5], randomNormal(rng, 90)),
      transform: { kind: 'float' },
    });
    const p2 = g2.node({
      op: 'maxpool2d',
      inputs: [c2],
      kernelSize: [2, 2],
      strides: [2, 2],
      padding: 'valid',
    });
    const a2 = g2.node({
      op: 'affine',
      inputs: [p2],
      multiplier: g2.constant('m', 'float32', [5], randomNormal(rng, 5)),
    });
    const s2 = g2.node({
      op: 'bdense',
      inputs: [g2.node({ op: 'binarize', inputs: [a2] })],
      units: 3,
      weights: g2.constant('dw', 'uint32', [3, 4, 4, 1], randomPacked(rng, 48, 5)),
      transform: { kind: 'float' },
    });
    const r2 = g2.node({ op: 'relu', inputs: [a2] });
    const graph2 = g2.build([c2, s2, r2]);
    const net2 = await load(encodeModel(graph2));
    expect(net2.info.fused).toEqual([]);
    const input = randomInput(graph2, 2, 5);
    const want = net2.trace(input.data, input.shape);
    const got = net2.predictAll(input.data, input.shape);
    for (const v of [c2, s2, r2]) expectSame(got[v].data, want.get(v)!.data, v);
  });
});

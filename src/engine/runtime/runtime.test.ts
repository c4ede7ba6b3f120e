import { describe, expect, it } from 'vitest';
import { ConfigError, FormatError, LowbitError, ShapeError } from '../../errors.js';
import { Random } from '../../util/random.js';
import { GraphBuilder } from '../builder.js';
import { decodeModel, encodeModel } from '../format/lbm.js';
import { type Graph, OP_NAMES, type OutputTransform } from '../ir.js';
import { optimizeGraph } from '../optimize.js';
import { runNode, runReference } from '../reference/run.js';
import type { FloatTensor } from '../reference/tensor.js';
import { wordsFor } from '../shapes.js';
import { craftLbm, mutateJson, splitLbm } from '../testing/craft.js';
import {
  binaryMlp,
  larqIntroCnn,
  quicknetLike,
  randomInput,
  randomNormal,
  randomPacked,
  randomTransform,
} from '../testing/models.js';
import { Kernels } from './kernels.js';
import { load, Net } from './net.js';

// Ops whose float sums run in another order than the reference (float32 GEMM); all others must match exactly.
const FLOAT_OPS = new Set(['conv2d', 'dense']);

/**
 * Norm-wise relative error max|a - b| / max|b|: float32 sums in another order than the float64
 * reference differ by about K * 2^-24 of the largest terms, which element-wise relative error would
 * overstate for sums that cancel to near 0.
 */
function maxRelError(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return scale === 0 ? worst : worst / scale;
}

/**
 * Checks every node of the runtime in isolation: the reference op applied to the runtime's own
 * inputs must give exactly the runtime's output for binary parts (packed bits, and the integer dot
 * products of binary ops with their float32 transform) and within 1e-5 relative for float ops.
 */
/** Bit-exact equality of two arrays (Object.is per element), reporting the first difference. */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  expect(got.length, `${label} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) expect(`${label}[${i}] = ${got[i]}`).toBe(`${label}[${i}] = ${want[i]}`);
}

/** Every op some test compared against the reference (the completeness test reads it). */
const covered = new Set<string>();

function checkEveryNode(net: Net, graph: Graph, input: { data: Float32Array; shape: number[] }): number {
  const trace = net.trace(input.data, input.shape);
  let checked = 0;
  for (const node of graph.nodes) {
    covered.add(node.op === 'maxpool2d' ? `maxpool2d/${trace.get(node.inputs[0])!.kind}` : node.op);
    const ins = node.inputs.map((n) => trace.get(n)!);
    const want = runNode(node, ins, graph.constants);
    const got = trace.get(node.name)!;
    expect(got.shape, node.name).toEqual(want.shape);
    expect(got.kind, node.name).toBe(want.kind);
    if (FLOAT_OPS.has(node.op))
      expect(maxRelError(got.data as Float32Array, want.data as Float32Array), node.name).toBeLessThan(1e-5);
    else expectSame(got.data, want.data, `${node.op} ${node.name}`);
    checked++;
  }
  return checked;
}

/**
 * x -> affine in the BatchNorm form (random gamma, beta, mean, divisor; `withGamma` false: no multiplier
 * or bias) -> add(x, .) -> binarize -> its sign bits back as floats through a +-1 dense (K = C).
 */
function batchNormResidual(rng: Random, shape: number[], withGamma: boolean): Graph {
  const c = shape[shape.length - 1];
  const b = new GraphBuilder('x', shape);
  const vec = (f: () => number) => Float32Array.from({ length: c }, f);
  const bn = b.node({
    op: 'affine',
    inputs: [b.input],
    ...(withGamma
      ? {
          multiplier: b.constant(
            'gamma',
            'float32',
            [c],
            vec(() => rng.normal()),
          ),
          bias: b.constant(
            'beta',
            'float32',
            [c],
            vec(() => 0.1 * rng.normal()),
          ),
        }
      : {}),
    mean: b.constant(
      'mean',
      'float32',
      [c],
      vec(() => 0.5 * rng.normal()),
    ),
    divisor: b.constant(
      'divisor',
      'float32',
      [c],
      vec(() => Math.fround(Math.sqrt(0.01 + rng.next()))),
    ),
  });
  const sum = b.node({ op: 'add', inputs: [b.input, bn] });
  const bits = b.node({ op: 'binarize', inputs: [sum] });
  const k = shape.reduce((p, q) => p * q, 1);
  const out = b.node({
    op: 'bdense',
    inputs: [bits],
    units: 5,
    weights: b.constant(
      'w',
      'uint32',
      [5, ...shape.slice(0, -1), wordsFor(c)],
      randomPacked(rng, (5 * k) / c, c),
    ),
    transform: { kind: 'float' },
  });
  return b.build([out]);
}

const same = (k: number, s: number, d: number) => ({
  kernelSize: [k, k] as [number, number],
  strides: [s, s] as [number, number],
  dilations: [d, d] as [number, number],
  padding: 'same' as const,
});

function transformFor(
  b: GraphBuilder,
  rng: Random,
  name: string,
  c: number,
  k: number,
  choice: number,
): OutputTransform {
  if (choice === 0) return { kind: 'float' };
  if (choice === 1) return randomTransform(b, rng, name, c, k, 'bits');
  const t = randomTransform(b, rng, name, c, k, 'float');
  return { ...t, dotClamp: [-Math.floor(k / 3), Math.floor(k / 2)], outClamp: [0, null] } as OutputTransform;
}

describe('engine runtime (WASM) against the reference ops', () => {
  it('binary conv2d over random shapes, strides, dilations, both pad values and all transforms', async () => {
    const rng = new Random(31);
    for (let trial = 0; trial < 24; trial++) {
      const cin = [3, 31, 32, 33, 50, 64, 65, 96][trial % 8];
      const h = 4 + rng.int(8);
      const w = 4 + rng.int(8);
      const k = [1, 2, 3, 5][rng.int(4)];
      const b = new GraphBuilder('x', [h, w, cin]);
      const cout = 1 + rng.int(70);
      const padding = rng.next() < 0.7 ? 'same' : 'valid';
      const attrs = { ...same(k, 1 + rng.int(2), 1 + rng.int(2)), padding: padding as 'same' | 'valid' };
      const extent = (k - 1) * attrs.dilations[0] + 1;
      if (padding === 'valid' && extent > Math.min(h, w)) attrs.dilations = [1, 1];
      const bits = b.node({ op: 'binarize', inputs: [b.input] });
      const y = b.node({
        op: 'bconv2d',
        inputs: [bits],
        ...attrs,
        filters: cout,
        padValue: (trial % 2) as 0 | 1,
        weights: b.constant('w', 'uint32', [cout, k, k, wordsFor(cin)], randomPacked(rng, cout * k * k, cin)),
        transform: transformFor(b, rng, 't', cout, k * k * cin, trial % 3),
      });
      const graph = b.build([trial % 3 === 1 ? b.input : y]);
      const net = await load(encodeModel(graph));
      expect(checkEveryNode(net, graph, randomInput(graph, 1 + rng.int(3), trial))).toBe(2);
    }
  });

  it('affine in the BatchNorm form (float64 quotient and sum, one rounding) feeding a residual add and a sign: bit for bit the reference', async () => {
    const rng = new Random(38);
    for (const [trial, c] of [1, 3, 4, 7, 37, 64].entries()) {
      const graph = batchNormResidual(rng, [2 + rng.int(4), 1 + rng.int(5), c], trial % 2 === 0);
      const net = await load(encodeModel(graph));
      // Inputs near the means as well, so that sums land near 0 before the sign.
      const input = randomInput(graph, 1 + rng.int(9), trial);
      for (let i = 0; i < input.data.length; i += 3) input.data[i] *= 1e-6;
      expect(checkEveryNode(net, graph, input)).toBe(4);
    }
  });

  it('binary dense on rank-2 and flattened packed rank-4 inputs, float and packed-bit outputs', async () => {
    const rng = new Random(32);
    for (const [trial, shape] of [[5, 5, 37], [100], [1], [2, 3, 64], [4, 4, 33], [1024]].entries()) {
      const b = new GraphBuilder('x', shape);
      const units = 1 + rng.int(80);
      const c = shape[shape.length - 1];
      const groups = shape.length === 3 ? shape[0] * shape[1] : 1;
      const k = groups * c;
      const y = b.node({
        op: 'bdense',
        inputs: [b.node({ op: 'binarize', inputs: [b.input] })],
        units,
        weights: b.constant(
          'w',
          'uint32',
          [units, ...shape.slice(0, -1), wordsFor(c)],
          randomPacked(rng, units * groups, c),
        ),
        transform: transformFor(b, rng, 't', units, k, trial % 3),
      });
      const graph = b.build([trial % 3 === 1 ? b.input : y]);
      const net = await load(encodeModel(graph));
      expect(checkEveryNode(net, graph, randomInput(graph, 1 + rng.int(5), trial))).toBe(2);
    }
  });

  it('float conv2d and dense with float or packed +-1 weights, pools, add, affine, relu, softmax', async () => {
    const rng = new Random(33);
    for (let trial = 0; trial < 8; trial++) {
      const cin = [1, 3, 7, 16][trial % 4];
      const b = new GraphBuilder('x', [9, 8, cin]);
      const cout = 1 + rng.int(20);
      const k = 1 + rng.int(3);
      const packed = trial % 2 === 0;
      const weights = packed
        ? b.constant('w', 'uint32', [cout, k, k, wordsFor(cin)], randomPacked(rng, cout * k * k, cin))
        : b.constant('w', 'float32', [k, k, cin, cout], randomNormal(rng, k * k * cin * cout));
      const stride = 1 + (trial % 3 === 0 ? 1 : 0);
      let x = b.node({
        op: 'conv2d',
        inputs: [b.input],
        ...same(k, stride, 1 + rng.int(2)),
        filters: cout,
        padValue: trial % 4 === 3 ? 0.5 : 0,
        weights,
        transform: randomTransform(b, rng, 'c', cout, 1, 'float') as never,
      });
      const pool = {
        kernelSize: [2, 3] as [number, number],
        strides: [1, 2] as [number, number],
        padding: trial % 2 ? ('same' as const) : ('valid' as const),
      };
      const m = b.node({ op: 'maxpool2d', inputs: [x], ...pool });
      const a = b.node({ op: 'avgpool2d', inputs: [x], ...pool });
      x = b.node({ op: 'add', inputs: [m, a, m] });
      // Concatenate, then a 1x1 conv back to cout channels.
      const cat = b.node({ op: 'concat', inputs: [x, a, m] });
      x = b.node({
        op: 'conv2d',
        inputs: [cat],
        ...same(1, 1, 1),
        filters: cout,
        padValue: 0,
        weights: b.constant('cw', 'float32', [1, 1, 3 * cout, cout], randomNormal(rng, 3 * cout * cout)),
        transform: { kind: 'float' },
      });
      x = b.node({
        op: 'affine',
        inputs: [x],
        multiplier: b.constant('am', 'float32', [cout], randomNormal(rng, cout)),
        bias: b.constant('ab', 'float32', [cout], randomNormal(rng, cout)),
      });
      x = b.node({ op: 'relu', inputs: [x] });
      const pooled =
        trial % 2 ? b.node({ op: 'globalavgpool', inputs: [x] }) : b.node({ op: 'flatten', inputs: [x] });
      const kk = trial % 2 ? cout : undefined;
      const units = 1 + rng.int(12);
      const graph0 = b.build([pooled]);
      const flatK = kk ?? (await load(encodeModel(graph0))).info.nodes.at(-1)!.shape[0];
      const dw =
        trial % 4 < 2
          ? b.constant('dw', 'float32', [flatK, units], randomNormal(rng, flatK * units))
          : b.constant('dw', 'uint32', [units, wordsFor(flatK)], randomPacked(rng, units, flatK));
      x = b.node({
        op: 'dense',
        inputs: [pooled],
        units,
        weights: dw,
        transform: { kind: 'float', outClamp: [-0.5, 2] },
      });
      const graph = b.build([b.node({ op: 'softmax', inputs: [x] })]);
      const net = await load(encodeModel(graph));
      expect(checkEveryNode(net, graph, randomInput(graph, 3, trial))).toBe(11);
    }
  });

  it('binary max pool on packed data', async () => {
    const rng = new Random(34);
    for (const padding of ['valid', 'same'] as const) {
      const b = new GraphBuilder('x', [7, 6, 70]);
      const bits = b.node({ op: 'binarize', inputs: [b.input] });
      b.node({ op: 'maxpool2d', inputs: [bits], kernelSize: [3, 3], strides: [2, 2], padding });
      const graph = b.build([b.input]);
      const net = await load(encodeModel(graph));
      expect(checkEveryNode(net, graph, randomInput(graph, 2, rng.int(100)))).toBe(2);
    }
  });
});

describe('engine runtime on whole networks', () => {
  const models: [string, Graph][] = [
    ['larq-intro-cnn', larqIntroCnn()],
    ['binary-mlp', binaryMlp()],
    ['quicknet-like', quicknetLike()],
  ];
  for (const [name, graph] of models)
    it(`${name}: every node matches the reference, outputs match end to end, both popcount strategies agree`, async () => {
      const bytes = encodeModel(graph);
      const input = randomInput(graph, 5);
      const scalar = await load(bytes, { popcount: 'scalar' });
      const simd = await load(bytes, { popcount: 'simd' });
      expect(scalar.info.popcount).toBe('scalar');
      expect(simd.info.popcount).toBe('simd');
      checkEveryNode(scalar, graph, input);
      const a = scalar.trace(input.data, input.shape);
      const b = simd.trace(input.data, input.shape);
      for (const [k, v] of a) expectSame(b.get(k)!.data, v.data, k);
      const ref = runReference(graph, input.data, input.shape).get(graph.outputs[0]) as FloatTensor;
      const out = scalar.predict(input.data, input.shape);
      expect(out.shape).toEqual([5, 10]);
      expect(maxRelError(out.data, ref.data)).toBeLessThan(1e-5);
    });

  it('batch sizes 1 to many and chunked batches give identical results', async () => {
    const graph = quicknetLike();
    const bytes = encodeModel(graph);
    const net = await load(bytes);
    const chunked = await load(bytes, { maxChunkBytes: 1 });
    const input = randomInput(graph, 17);
    const all = net.predict(input.data, input.shape);
    expect(Array.from(chunked.predict(input.data, input.shape).data)).toEqual(Array.from(all.data));
    const per = 28 * 28;
    for (const i of [0, 7, 16]) {
      const one = net.predict(input.data.subarray(i * per, (i + 1) * per), [1, 28, 28, 1]);
      expect(Array.from(one.data)).toEqual(Array.from(all.data.subarray(i * 10, (i + 1) * 10)));
    }
  });

  it('predictAll returns every graph output', async () => {
    const b = new GraphBuilder('x', [6]);
    const r = b.node({ op: 'relu', inputs: [b.input] });
    const s = b.node({ op: 'softmax', inputs: [b.input] });
    const net = await load(encodeModel(b.build([r, s])), { maxChunkBytes: 1 });
    const x = Float32Array.from([1, -2, 3, -4, 0, 2, -1, 1, 0, 0, 5, -5]);
    const all = net.predictAll(x, [2, 6]);
    expect(Object.keys(all)).toEqual([r, s]);
    expect(Array.from(all[r].data)).toEqual([1, 0, 3, 0, 0, 2, 0, 1, 0, 0, 5, 0]);
    expect(all[s].shape).toEqual([2, 6]);
    expect(Array.from(net.predict(x, [2, 6]).data)).toEqual(Array.from(all[r].data));
  });

  it("reports the network's sizes: larq-intro-cnn has 93,088 binary weights and 2,599,552 binary MACs", async () => {
    const graph = larqIntroCnn();
    const bytes = encodeModel(graph);
    const net = await load(bytes);
    expect(net.info.binaryWeights).toBe(93_088);
    expect(net.info.binaryMacs).toBe(2_599_552);
    expect(net.info.floatMacs).toBe(26 * 26 * 32 * 9);
    expect(net.info.fileBytes).toBe(bytes.length);
    expect(net.info.inputShape).toEqual([28, 28, 1]);
    expect(net.info.outputShape).toEqual([10]);
    expect(net.info.opCounts).toEqual({
      conv2d: 1,
      maxpool2d: 2,
      affine: 2,
      binarize: 2,
      bconv2d: 2,
      bdense: 2,
      softmax: 1,
    });
    expect(net.info.calibration?.strategy).toBe(net.info.popcount);
  });
});

describe('completeness', () => {
  it('every op of the IR (and max pool on both kinds) was compared against the reference above', () => {
    const expected = OP_NAMES.flatMap((op) =>
      op === 'maxpool2d' ? ['maxpool2d/float', 'maxpool2d/bits'] : [op],
    );
    expect([...covered].sort()).toEqual([...expected].sort());
  });
});

describe('popcount strategies by row length', () => {
  it('every split of strategies between 65-128-byte rows and longer ones gives the forced-scalar values', async () => {
    // Binary rows of 36 bytes (3x3 on 32 channels), 72 (3x3 on 64), 128 (1024 inputs) and 148 (37 x 32).
    const rng = new Random(39);
    const b = new GraphBuilder('x', [6, 6, 32]);
    let x = b.node({ op: 'binarize', inputs: [b.input] });
    for (const [cin, cout] of [
      [32, 64],
      [64, 37],
    ])
      x = b.node({
        op: 'bconv2d',
        inputs: [x],
        ...same(3, 1, 1),
        filters: cout,
        padValue: 1,
        weights: b.constant(
          `w${cin}`,
          'uint32',
          [cout, 3, 3, wordsFor(cin)],
          randomPacked(rng, cout * 9, cin),
        ),
        transform: randomTransform(b, rng, `t${cin}`, cout, 9 * cin, 'bits'),
      });
    const d1 = b.node({
      op: 'bdense',
      inputs: [x],
      units: 1024,
      weights: b.constant('d1', 'uint32', [1024, 6, 6, wordsFor(37)], randomPacked(rng, 1024 * 36, 37)),
      transform: randomTransform(b, rng, 'td1', 1024, 36 * 37, 'bits'),
    });
    const d2 = b.node({
      op: 'bdense',
      inputs: [d1],
      units: 9,
      weights: b.constant('d2', 'uint32', [9, 32], randomPacked(rng, 9, 1024)),
      transform: randomTransform(b, rng, 'td2', 9, 1024, 'float'),
    });
    const graph = b.build([d2]);
    const bytes = encodeModel(graph);
    const input = randomInput(graph, 5);
    const want = (await load(bytes, { popcount: 'scalar' })).predict(input.data, input.shape).data;
    const s = { scalar: 1, simd: 1 };
    for (const [strategy, midStrategy] of [
      ['scalar', 'simd'],
      ['simd', 'scalar'],
      ['simd', 'simd'],
    ] as const) {
      const cal = { strategy, seconds: s, midStrategy, midSeconds: s };
      const net = new Net(await Kernels.create(), decodeModel(bytes), strategy, bytes.length, cal, 2 ** 25);
      expectSame(net.predict(input.data, input.shape).data, want, `${strategy} / ${midStrategy}`);
    }
  });
});

describe('engine runtime with worker threads', () => {
  it('2 and 3 threads (worker_threads on a shared memory, chunks claimed by compare-and-swap) give exactly the single-thread values', async () => {
    const graph = quicknetLike();
    const bytes = encodeModel(graph);
    // Batch 16: the binary GEMMs have 16 * 14 * 14 rows, enough to be split over the threads.
    const input = randomInput(graph, 16);
    const one = await load(bytes, { popcount: 'scalar' });
    for (const [popcount, threads] of [
      ['scalar', 2],
      ['simd', 3],
    ] as const) {
      const two = await load(bytes, { popcount, threads });
      try {
        expect(two.info.threads).toBe(threads);
        expect(two.info.threadFallback).toBeNull();
        const a = one.trace(input.data, input.shape);
        const b = two.trace(input.data, input.shape);
        for (const [k, v] of a) expectSame(b.get(k)!.data, v.data, k);
      } finally {
        two.dispose();
      }
    }
  });
});

describe('engine runtime with worker threads: batches split over the threads', () => {
  it('each thread runs the whole network on its share: bit for bit the single-thread values at every batch size', async () => {
    // A graph whose concat feeds another node cannot be split (concat runs in JavaScript after the
    // workers); it runs node by node and must still give the same values.
    const rng = new Random(37);
    const b = new GraphBuilder('x', [6, 6, 5]);
    const left = b.node({ op: 'relu', inputs: [b.input] });
    const cat = b.node({ op: 'concat', inputs: [left, b.input] });
    const dense = b.node({
      op: 'dense',
      inputs: [cat],
      units: 7,
      weights: b.constant('w', 'float32', [360, 7], randomNormal(rng, 360 * 7)),
      transform: { kind: 'float' },
    });
    const catFed = b.build([b.node({ op: 'softmax', inputs: [dense] })]);
    for (const [name, graph, splits] of [
      ['larq-intro-cnn', larqIntroCnn(), true],
      ['binary-mlp', binaryMlp(), true],
      ['quicknet-like', quicknetLike(4, 8), true],
      ['BatchNorm-form residual', batchNormResidual(rng, [3, 4, 37], true), true],
      ['concat feeding a dense', catFed, false],
    ] as const) {
      const bytes = encodeModel(graph);
      const one = await load(bytes, { popcount: 'scalar' });
      for (const threads of [2, 3]) {
        const many = await load(bytes, { popcount: 'scalar', threads });
        try {
          expect(many.info.threads).toBe(threads);
          expect(many.info.batchSplit, name).toBe(splits);
          // Below, at and above 4 samples per thread, shares of unequal sizes.
          for (const n of [1, 5, 8, 13, 4 * threads + 1]) {
            const input = randomInput(graph, n);
            expectSame(
              many.predict(input.data, input.shape).data,
              one.predict(input.data, input.shape).data,
              `${name}, ${threads} threads, batch ${n}`,
            );
          }
        } finally {
          many.dispose();
        }
      }
    }
  });
});

describe('engine runtime with worker threads: recorded programs reused', () => {
  it('batches of one size reuse the recorded parts with new inputs; other runs in between (other sizes, trace, bytes) invalidate them', async () => {
    const graph = optimizeGraph(larqIntroCnn(5)).graph;
    graph.inputs[0].uint8 = { scale: 1 / 127.5, offset: -1 };
    const bytes = encodeModel(graph);
    const one = await load(bytes, { popcount: 'scalar' });
    const two = await load(bytes, { popcount: 'scalar', threads: 2 });
    try {
      expect(two.info.batchSplit).toBe(true);
      const floats = (n: number, seed: number) => randomInput(graph, n, seed);
      const bytesOf = (x: { data: Float32Array; shape: number[] }) => ({
        data: Uint8Array.from(x.data, (v) => Math.round((v + 1) * 127.5)),
        shape: x.shape,
      });
      const steps: Array<[string, { data: Float32Array | Uint8Array; shape: number[] }]> = [
        ['16 a', floats(16, 1)],
        ['16 b (reused)', floats(16, 2)],
        ['16 c (reused)', floats(16, 3)],
        ['3 (not split)', floats(3, 4)],
        ['16 d', floats(16, 5)],
        ['16 bytes', bytesOf(floats(16, 6))],
        ['16 bytes (reused)', bytesOf(floats(16, 7))],
        ['16 floats again', floats(16, 8)],
        ['12', floats(12, 9)],
        ['16 e', floats(16, 10)],
      ];
      for (const [label, x] of steps) {
        if (label === '16 e') two.trace(x.data, x.shape);
        expectSame(two.predict(x.data, x.shape).data, one.predict(x.data, x.shape).data, label);
      }
    } finally {
      two.dispose();
    }
  });
});

describe('engine runtime with worker threads: row-range jobs', () => {
  it('fused conv+pool, im2col and output transforms (zero-padding corrections included) split over 2 threads give exactly the single-thread values', async () => {
    const rng = new Random(36);
    const b = new GraphBuilder('x', [12, 12, 40]);
    const bits = b.node({ op: 'binarize', inputs: [b.input] });
    const attrs = same(3, 1, 1);
    const y1 = b.node({
      op: 'bconv2d',
      inputs: [bits],
      ...attrs,
      filters: 70,
      padValue: 0,
      weights: b.constant('w1', 'uint32', [70, 3, 3, wordsFor(40)], randomPacked(rng, 70 * 9, 40)),
      transform: randomTransform(b, rng, 't1', 70, 9 * 40, 'bits'),
    });
    const y2 = b.node({
      op: 'bconv2d',
      inputs: [y1],
      ...attrs,
      filters: 33,
      padValue: 0,
      weights: b.constant('w2', 'uint32', [33, 3, 3, wordsFor(70)], randomPacked(rng, 33 * 9, 70)),
      transform: randomTransform(b, rng, 't2', 33, 9 * 70, 'float'),
    });
    for (const graph of [b.build([y2]), larqIntroCnn()]) {
      const bytes = encodeModel(graph);
      const input = randomInput(graph, 64);
      const one = await load(bytes, { popcount: 'scalar' });
      const two = await load(bytes, { popcount: 'scalar', threads: 2 });
      try {
        expect(two.info.threads).toBe(2);
        const a = one.trace(input.data, input.shape);
        const c = two.trace(input.data, input.shape);
        for (const [k, v] of a) expectSame(c.get(k)!.data, v.data, k);
        const out = graph.outputs[0];
        expectSame(two.predict(input.data, input.shape).data, a.get(out)!.data, `${out} (fused)`);
      } finally {
        two.dispose();
      }
    }
  });
});

describe('engine runtime on hostile files', () => {
  it('files with random header mutations and a valid checksum either fail with a LowbitError or load and predict', async () => {
    const rng = new Random(35);
    const base = splitLbm(encodeModel(quicknetLike(9, 8)));
    let ran = 0;
    for (let trial = 0; trial < 150; trial++) {
      const h = structuredClone(base.header);
      mutateJson(h, () => rng.next());
      try {
        const net = await load(craftLbm(h, base.data));
        const input = new Float32Array(net.info.inputShape.reduce((a, b) => a * b, 2));
        const out = net.predict(input, [2, ...net.info.inputShape]);
        expect(out.shape[0]).toBe(2);
        ran++;
      } catch (e) {
        expect(e, `trial ${trial}: ${(e as Error).message}`).toBeInstanceOf(LowbitError);
      }
    }
    expect(ran).toBeGreaterThan(0);
  });
});

describe('engine runtime errors', () => {
  it('wrong shapes, lengths and dtypes give ShapeError', async () => {
    const net = await load(encodeModel(binaryMlp()));
    const good = new Float32Array(2 * 784);
    expect(() => net.predict(good, [2, 28, 28])).toThrow(ShapeError);
    expect(() => net.predict(good, [2, 28, 28, 2])).toThrow(
      /received shape \[2, 28, 28, 2\]; expected \[batch >= 1, 28, 28, 1\]/,
    );
    expect(() => net.predict(good, [0, 28, 28, 1])).toThrow(ShapeError);
    expect(() => net.predict(good, [3, 28, 28, 1])).toThrow(
      /1568 values for shape \[3, 28, 28, 1\]; expected 2352 values/,
    );
    expect(() => net.predict(new Float64Array(784) as unknown as Float32Array, [1, 28, 28, 1])).toThrow(
      /dtype float32/,
    );
  });

  it('bad options give ConfigError and corrupt files FormatError', async () => {
    const bytes = encodeModel(binaryMlp());
    await expect(load(bytes, { threads: 0 })).rejects.toThrow(ConfigError);
    await expect(load(bytes, { popcount: 'avx' as never })).rejects.toThrow(
      /expected one of auto, scalar, simd/,
    );
    await expect(load(bytes.subarray(0, 100))).rejects.toThrow(FormatError);
    const net = await load(bytes.buffer.slice(0) as ArrayBuffer);
    expect(net.info.threads).toBe(1);
  });
});

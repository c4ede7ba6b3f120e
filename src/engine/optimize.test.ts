import { describe, expect, it } from 'vitest';
import { Random } from '../util/random.js';
import { GraphBuilder } from './builder.js';
import { encodeModel } from './format/lbm.js';
import type { Graph } from './ir.js';
import { optimizeGraph } from './optimize.js';
import { runReference } from './reference/run.js';
import type { FloatTensor } from './reference/tensor.js';
import { load } from './runtime/net.js';
import { wordsFor } from './shapes.js';
import { randomAffine, randomInput, randomPacked } from './testing/models.js';

/**
 * larq-intro-cnn as a converter would first emit it: one node per Keras layer, no fusion. `bnForm`:
 * every BatchNorm as an affine in the BatchNorm form (gamma, beta, mean, divisor).
 */
function naiveIntroCnn(seed: number, negativeAfterPool = false, bnForm = false): Graph {
  const rng = new Random(seed);
  const b = new GraphBuilder('image', [28, 28, 1]);
  const v3 = {
    kernelSize: [3, 3] as [number, number],
    strides: [1, 1] as [number, number],
    dilations: [1, 1] as [number, number],
    padding: 'valid' as const,
  };
  const pool = {
    kernelSize: [2, 2] as [number, number],
    strides: [2, 2] as [number, number],
    padding: 'valid' as const,
  };
  let id = 0;
  const bn = (x: string, c: number, positive: boolean) => {
    const { gamma, beta } = randomAffine(rng, c, 3);
    const m = positive ? gamma.map(Math.abs) : gamma;
    const form = bnForm
      ? {
          mean: b.constant(
            `bn${id}/mean`,
            'float32',
            [c],
            beta.map(() => 4 * rng.normal()),
          ),
          divisor: b.constant(
            `bn${id}/d`,
            'float32',
            [c],
            beta.map(() => 0.1 + 3 * rng.next()),
          ),
        }
      : {};
    return b.node({
      op: 'affine',
      inputs: [x],
      multiplier: b.constant(`bn${id}/m`, 'float32', [c], m),
      bias: b.constant(`bn${id++}/b`, 'float32', [c], beta),
      ...form,
    });
  };
  const bin = (x: string) => b.node({ op: 'binarize', inputs: [x] });
  let x = b.node({
    op: 'conv2d',
    inputs: [b.input],
    ...v3,
    filters: 32,
    padValue: 0,
    weights: b.constant('c1', 'uint32', [32, 3, 3, 1], randomPacked(rng, 288, 1)),
    transform: { kind: 'float' },
  });
  x = bin(bn(b.node({ op: 'maxpool2d', inputs: [x], ...pool }), 32, true));
  x = b.node({
    op: 'bconv2d',
    inputs: [x],
    ...v3,
    filters: 64,
    padValue: 1,
    weights: b.constant('c2', 'uint32', [64, 3, 3, 1], randomPacked(rng, 576, 32)),
    transform: { kind: 'float' },
  });
  x = bin(bn(b.node({ op: 'maxpool2d', inputs: [x], ...pool }), 64, !negativeAfterPool));
  x = b.node({
    op: 'bconv2d',
    inputs: [x],
    ...v3,
    filters: 64,
    padValue: 1,
    weights: b.constant('c3', 'uint32', [64, 3, 3, 2], randomPacked(rng, 576, 64)),
    transform: { kind: 'float' },
  });
  x = bin(bn(x, 64, false));
  x = b.node({
    op: 'bdense',
    inputs: [x],
    units: 64,
    weights: b.constant('d1', 'uint32', [64, 3, 3, 2], randomPacked(rng, 576, 64)),
    transform: { kind: 'float' },
  });
  x = bin(b.node({ op: 'relu', inputs: [bn(x, 64, false)] }));
  x = b.node({
    op: 'bdense',
    inputs: [x],
    units: 10,
    weights: b.constant('d2', 'uint32', [10, wordsFor(64)], randomPacked(rng, 10, 64)),
    transform: { kind: 'float' },
  });
  return b.build([b.node({ op: 'softmax', inputs: [bn(x, 10, false)] })]);
}

function opCounts(g: Graph): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of g.nodes) c[n.op] = (c[n.op] ?? 0) + 1;
  return c;
}

describe('optimizeGraph', () => {
  it('fuses BN and sign into bit outputs (max-pools move onto packed bits) and folds the last BN', () => {
    const naive = naiveIntroCnn(61);
    const { graph, log } = optimizeGraph(naive);
    expect(opCounts(naive)).toEqual({
      conv2d: 1,
      maxpool2d: 2,
      affine: 5,
      binarize: 4,
      bconv2d: 2,
      bdense: 2,
      relu: 1,
      softmax: 1,
    });
    expect(opCounts(graph)).toEqual({
      conv2d: 1,
      maxpool2d: 2,
      affine: 1,
      binarize: 1,
      bconv2d: 2,
      bdense: 2,
      softmax: 1,
    });
    expect(log).toHaveLength(4);
    const bconvs = graph.nodes.filter((n) => n.op === 'bconv2d' || n.op === 'bdense');
    expect(bconvs.map((n) => n.transform.kind)).toEqual(['bits', 'bits', 'bits', 'float']);
    expect(naive.nodes).toHaveLength(18); // the input graph is not modified
  });

  for (const [seed, bnForm] of [
    [62, false],
    [64, false],
    [65, false],
    [66, false],
    [67, true],
    [68, true],
  ] as const)
    it(`the fused graph computes exactly the same bits and the same outputs within float32 rounding (seed ${seed}${bnForm ? ', BatchNorm form' : ''})`, async () => {
      const naive = naiveIntroCnn(seed, false, bnForm);
      const { graph } = optimizeGraph(naive);
      const input = randomInput(naive, 6);
      const a = runReference(naive, input.data, input.shape, true);
      const b = runReference(graph, input.data, input.shape, true);
      // Every binarize name survives as the name of the value that replaces it.
      for (const n of naive.nodes.filter((n) => n.op === 'binarize'))
        expect(Array.from(b.get(n.name)!.data), n.name).toEqual(Array.from(a.get(n.name)!.data));
      const out = naive.outputs[0];
      const want = a.get(out)!.data as Float32Array;
      const got = (await load(encodeModel(graph))).predict(input.data, input.shape).data;
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-6);
      expect((b.get(out) as FloatTensor).data.length).toBe(want.length);
    });

  it('turns chains with BatchNorm-form affines into bit outputs too, but never folds one into a float transform', () => {
    const { graph, log } = optimizeGraph(naiveIntroCnn(69, false, true));
    // As above, except that the last BatchNorm (before the softmax) stays an affine of its own.
    expect(opCounts(graph)).toMatchObject({ affine: 2, binarize: 1, bconv2d: 2, bdense: 2 });
    expect(log).toHaveLength(3);
    const last = graph.nodes.find((n) => n.op === 'bdense' && n.transform.kind === 'float');
    expect(last && 'transform' in last && last.transform).toEqual({ kind: 'float' });
    expect(graph.nodes.filter((n) => n.op === 'affine' && n.divisor !== undefined)).toHaveLength(2);
  });

  it('keeps a max-pool chain unfused when a multiplier after the pool is negative (max does not commute)', () => {
    const { graph } = optimizeGraph(naiveIntroCnn(63, true));
    const second = graph.nodes.filter((n) => n.op === 'bconv2d')[0];
    expect(second.op === 'bconv2d' && second.transform.kind).toBe('float');
    expect(opCounts(graph).binarize).toBe(2);
  });

  it('folds a ReLU into a float op as outClamp and leaves graph outputs alone', () => {
    const b = new GraphBuilder('x', [4]);
    const d = b.node({
      op: 'dense',
      inputs: [b.input],
      units: 3,
      weights: b.constant('w', 'float32', [4, 3], [1, -1, 0, 2, 0, -1, 0, 1, 1, -2, 3, 0]),
      transform: { kind: 'float', outClamp: [null, 5] },
    });
    const r = b.node({ op: 'relu', inputs: [d] });
    const g = b.build([r, d]);
    // d is also an output: nothing may fuse.
    expect(optimizeGraph(g).log).toEqual([]);
    const g2 = b.build([r]);
    const { graph } = optimizeGraph(g2);
    expect(graph.nodes).toHaveLength(1);
    expect(graph.nodes[0]).toMatchObject({ name: r, transform: { outClamp: [0, 5] } });
    const x = Float32Array.from([1, 2, -3, 0.5]);
    expect(Array.from(runReference(graph, x, [1, 4]).get(r)!.data)).toEqual(
      Array.from(runReference(g2, x, [1, 4]).get(r)!.data),
    );
  });
});

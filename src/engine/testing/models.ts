import { Random } from '../../util/random.js';
import { GraphBuilder } from '../builder.js';
import type { FloatTransform, Graph, OutputTransform } from '../ir.js';
import { thresholdsFromAffine } from '../reference/transform.js';
import { sizeOf, wordsFor } from '../shapes.js';

/**
 * Seeded random models in the engine's IR, with the structure of the benchmark networks
 * (benchmarks.md) and a QuickNet-like residual binary CNN. Weights are random, so these check that
 * the runtime equals the reference, not accuracy; the converter produces trained ones.
 */

/** Random packed signs: `groups` groups of ceil(c/32) words holding c random bits each (padding bits 0). */
export function randomPacked(rng: Random, groups: number, c: number): Uint32Array {
  const words = wordsFor(c);
  const out = new Uint32Array(groups * words);
  for (let g = 0; g < groups; g++)
    for (let i = 0; i < c; i++) if (rng.next() < 0.5) out[g * words + (i >> 5)] |= 1 << (i & 31);
  return out;
}

/** n normal samples scaled by `scale`. */
export function randomNormal(rng: Random, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** A random folded-BatchNorm (multiplier, bias) pair where some multipliers are negative or zero. */
export function randomAffine(
  rng: Random,
  c: number,
  biasScale: number,
): { gamma: Float32Array; beta: Float32Array } {
  const gamma = Float32Array.from({ length: c }, (_, i) =>
    i % 11 === 5 ? 0 : (rng.next() < 0.2 ? -1 : 1) * (0.05 + rng.next()),
  );
  const beta = randomNormal(rng, c, biasScale);
  return { gamma, beta };
}

/** A float or bits transform for a binary op of dot range K with random BN parameters. */
export function randomTransform(
  b: GraphBuilder,
  rng: Random,
  prefix: string,
  c: number,
  k: number,
  kind: 'float' | 'bits',
): OutputTransform {
  const { gamma, beta } = randomAffine(rng, c, Math.sqrt(k));
  if (kind === 'bits') {
    const t = thresholdsFromAffine(k, gamma, beta);
    return {
      kind: 'bits',
      sign: b.constant(`${prefix}/sign`, 'int32', [c], t.sign),
      threshold: b.constant(`${prefix}/threshold`, 'int32', [c], t.threshold),
    };
  }
  return {
    kind: 'float',
    multiplier: b.constant(`${prefix}/mult`, 'float32', [c], gamma),
    bias: b.constant(`${prefix}/bias`, 'float32', [c], beta),
  };
}

/**
 * larq-intro-cnn (benchmarks.md) in engine form: float-input binary-weight conv 32 -> maxpool -> BN ->
 * binarize -> bconv 64 -> maxpool -> BN -> binarize -> bconv 64 (bits out, BN folded into thresholds)
 * -> bdense 64 over the packed 3x3x64 tensor (bits out) -> bdense 10 (BN folded) -> softmax.
 * 93,088 binary weights, like the Keras model.
 */
export function larqIntroCnn(seed = 1): Graph {
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
  const bn = (x: string, name: string, c: number) => {
    const { gamma, beta } = randomAffine(rng, c, 1);
    return b.node({
      op: 'affine',
      inputs: [x],
      multiplier: b.constant(`${name}/mult`, 'float32', [c], gamma.map(Math.abs)),
      bias: b.constant(`${name}/bias`, 'float32', [c], beta),
    });
  };
  let x = b.node({
    op: 'conv2d',
    inputs: [b.input],
    ...v3,
    filters: 32,
    padValue: 0,
    weights: b.constant('conv1/w', 'uint32', [32, 3, 3, 1], randomPacked(rng, 32 * 9, 1)),
    transform: { kind: 'float' },
  });
  x = bn(b.node({ op: 'maxpool2d', inputs: [x], ...pool }), 'bn1', 32);
  x = b.node({ op: 'binarize', inputs: [x] });
  x = b.node({
    op: 'bconv2d',
    inputs: [x],
    ...v3,
    filters: 64,
    padValue: 1,
    weights: b.constant('conv2/w', 'uint32', [64, 3, 3, 1], randomPacked(rng, 64 * 9, 32)),
    transform: { kind: 'float' },
  });
  x = bn(b.node({ op: 'maxpool2d', inputs: [x], ...pool }), 'bn2', 64);
  x = b.node({ op: 'binarize', inputs: [x] });
  x = b.node({
    op: 'bconv2d',
    inputs: [x],
    ...v3,
    filters: 64,
    padValue: 1,
    weights: b.constant('conv3/w', 'uint32', [64, 3, 3, 2], randomPacked(rng, 64 * 9, 64)),
    transform: randomTransform(b, rng, 'bn3', 64, 576, 'bits'),
  });
  x = b.node({
    op: 'bdense',
    inputs: [x],
    units: 64,
    weights: b.constant('dense1/w', 'uint32', [64, 3, 3, 2], randomPacked(rng, 64 * 9, 64)),
    transform: randomTransform(b, rng, 'bn4', 64, 576, 'bits'),
  });
  x = b.node({
    op: 'bdense',
    inputs: [x],
    units: 10,
    weights: b.constant('dense2/w', 'uint32', [10, 2], randomPacked(rng, 10, 64)),
    transform: randomTransform(b, rng, 'bn5', 10, 64, 'float'),
  });
  return b.build([b.node({ op: 'softmax', inputs: [x] })], { name: 'larq-intro-cnn (random weights)' });
}

/** binary-mlp (benchmarks.md): float-input binary dense 1024 (BN folded) -> binarize -> bdense 1024 (bits) -> bdense 10 -> softmax. */
export function binaryMlp(seed = 2): Graph {
  const rng = new Random(seed);
  const b = new GraphBuilder('image', [28, 28, 1]);
  const { gamma, beta } = randomAffine(rng, 1024, 5);
  let x = b.node({
    op: 'dense',
    inputs: [b.input],
    units: 1024,
    weights: b.constant('dense1/w', 'uint32', [1024, wordsFor(784)], randomPacked(rng, 1024, 784)),
    transform: {
      kind: 'float',
      multiplier: b.constant('bn1/mult', 'float32', [1024], gamma),
      bias: b.constant('bn1/bias', 'float32', [1024], beta),
    },
  });
  x = b.node({ op: 'binarize', inputs: [x] });
  x = b.node({
    op: 'bdense',
    inputs: [x],
    units: 1024,
    weights: b.constant('dense2/w', 'uint32', [1024, 32], randomPacked(rng, 1024, 1024)),
    transform: randomTransform(b, rng, 'bn2', 1024, 1024, 'bits'),
  });
  x = b.node({
    op: 'bdense',
    inputs: [x],
    units: 10,
    weights: b.constant('dense3/w', 'uint32', [10, 32], randomPacked(rng, 10, 1024)),
    transform: randomTransform(b, rng, 'bn3', 10, 1024, 'float'),
  });
  return b.build([b.node({ op: 'softmax', inputs: [x] })], { name: 'binary-mlp (random weights)' });
}

/**
 * A QuickNet-like residual binary CNN (Bannink et al., "Larq Compute Engine", MLSys 2021): float stem
 * conv (stride 2, ReLU fused), residual blocks x + BN(bconv3x3(sign x)) with one-padding (one dilated),
 * a strided transition with zero-padding (exact correction) and a max-pool shortcut, global average
 * pool, float dense, softmax. Channel counts are not multiples of 32.
 */
export function quicknetLike(seed = 3, width = 24): Graph {
  const rng = new Random(seed);
  const b = new GraphBuilder('image', [28, 28, 1]);
  const same = (s: number, d = 1) => ({
    kernelSize: [3, 3] as [number, number],
    strides: [s, s] as [number, number],
    dilations: [d, d] as [number, number],
    padding: 'same' as const,
  });
  let c = width;
  let x = b.node({
    op: 'conv2d',
    inputs: [b.input],
    ...same(2),
    filters: c,
    padValue: 0,
    weights: b.constant('stem/w', 'float32', [3, 3, 1, c], randomNormal(rng, 9 * c, 0.5)),
    transform: { kind: 'float', outClamp: [0, null] } as FloatTransform,
  });
  let blockId = 0;
  const block = (inp: string, dil: number) => {
    const k = 9 * c;
    const y = b.node({
      op: 'bconv2d',
      inputs: [b.node({ op: 'binarize', inputs: [inp] })],
      ...same(1, dil),
      filters: c,
      padValue: 1,
      weights: b.constant(`block${blockId}/w`, 'uint32', [c, 3, 3, wordsFor(c)], randomPacked(rng, c * 9, c)),
      transform: randomTransform(b, rng, `block${blockId++}`, c, k, 'float'),
    });
    return b.node({ op: 'add', inputs: [inp, y] });
  };
  x = block(x, 1);
  x = block(x, 2);
  // Transition: strided binary conv with zero padding next to a max-pool + 1x1 float conv shortcut.
  const c2 = 2 * c - 8;
  const main = b.node({
    op: 'bconv2d',
    inputs: [b.node({ op: 'binarize', inputs: [x] })],
    ...same(2),
    filters: c2,
    padValue: 0,
    weights: b.constant('trans/w', 'uint32', [c2, 3, 3, wordsFor(c)], randomPacked(rng, c2 * 9, c)),
    transform: randomTransform(b, rng, 'trans', c2, 9 * c, 'float'),
  });
  const pooled = b.node({
    op: 'maxpool2d',
    inputs: [x],
    kernelSize: [2, 2],
    strides: [2, 2],
    padding: 'same',
  });
  const short = b.node({
    op: 'conv2d',
    inputs: [pooled],
    kernelSize: [1, 1],
    strides: [1, 1],
    dilations: [1, 1],
    padding: 'valid',
    filters: c2,
    padValue: 0,
    weights: b.constant('short/w', 'float32', [1, 1, c, c2], randomNormal(rng, c * c2, 0.3)),
    transform: { kind: 'float' },
  });
  x = b.node({ op: 'add', inputs: [main, short] });
  c = c2;
  x = block(x, 1);
  x = b.node({ op: 'relu', inputs: [x] });
  x = b.node({ op: 'globalavgpool', inputs: [x] });
  x = b.node({
    op: 'dense',
    inputs: [x],
    units: 10,
    weights: b.constant('head/w', 'float32', [c, 10], randomNormal(rng, c * 10, 0.2)),
    transform: { kind: 'float', bias: b.constant('head/b', 'float32', [10], randomNormal(rng, 10, 0.1)) },
  });
  return b.build([b.node({ op: 'softmax', inputs: [x] })], { name: 'quicknet-like (random weights)' });
}

/** Random inputs in [-1, 1] for a graph: [n, ...inputShape]. */
export function randomInput(graph: Graph, n: number, seed = 7): { data: Float32Array; shape: number[] } {
  const rng = new Random(seed);
  const shape = [n, ...graph.inputs[0].shape];
  return { data: Float32Array.from({ length: sizeOf(shape) }, () => 2 * rng.next() - 1), shape };
}

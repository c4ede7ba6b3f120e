import { validateGraph } from './format/validate-graph.js';
import type { Constant, FloatTransform, Graph, GraphNode, Range } from './ir.js';
import { chainValue } from './reference/float.js';
import { floatTransform, type ResolvedFloatTransform, thresholdsFromSign } from './reference/transform.js';
import { sizeOf } from './shapes.js';

/**
 * Graph rewrites a converter can rely on (LCE's converter does the same on TFLite graphs), so that a
 * converter may emit one node per Keras layer and let this pass fuse them:
 *
 * 1. Binary op (bconv2d/bdense, float output) -> any chain of affine / relu / float max-pool -> binarize
 *    becomes the binary op with a bits output (thresholds) followed by the same max-pools on packed
 *    bits. Exact: the thresholds are found from the float32 evaluation of the whole chain (see
 *    thresholdsFromSign), and max-pooling commutes with the monotone non-decreasing maps after it
 *    (max(f(x)) = f(max(x)), sign(max x) = max(sign x) = AND of sign bits), so a chain with a max-pool
 *    is rewritten only when every affine multiplier in it is >= 0.
 * 2. affine after an op with a float transform and no outClamp folds into multiplier and bias:
 *    (d m + b) a + c = d (m a) + (b a + c) (float32 rounding differs from the two-step evaluation by
 *    an ulp or so). An affine in the BatchNorm form (AffineNode.divisor) is kept: the converter emits it
 *    where tfjs's own rounding matters. In rule 1 it is evaluated as it is.
 * 3. relu after an op with a float transform becomes outClamp [max(lo, 0), max(hi, 0)].
 *
 * A node is only fused into its producer when it is the producer's single consumer and the producer is
 * not a graph output. Returns a new graph (validated) and a log line per rewrite.
 */
export function optimizeGraph(input: Graph): { graph: Graph; log: string[] } {
  const graph: Graph = {
    ...input,
    nodes: input.nodes.map((n) => structuredClone(n)),
    constants: { ...input.constants },
  };
  const log: string[] = [];
  validateGraph('optimizeGraph', graph.inputs, graph.nodes, graph.outputs, graph.constants);
  let changed = true;
  while (changed) {
    changed = fuseBinarize(graph, log) || foldAffine(graph, log) || foldRelu(graph, log);
  }
  validateGraph('optimizeGraph result', graph.inputs, graph.nodes, graph.outputs, graph.constants);
  return { graph, log };
}

function consumers(graph: Graph, name: string): GraphNode[] {
  return graph.nodes.filter((n) => n.inputs.includes(name));
}

/** True when `name` feeds exactly one node and is not a graph output. */
function single(graph: Graph, name: string): boolean {
  return !graph.outputs.includes(name) && consumers(graph, name).length === 1;
}

function producer(graph: Graph, name: string): GraphNode | undefined {
  return graph.nodes.find((n) => n.name === name);
}

function f32(graph: Graph, name: string | undefined): Float32Array | undefined {
  return name ? (graph.constants[name].data as Float32Array) : undefined;
}

function addConstant(graph: Graph, base: string, c: Constant): string {
  let name = base;
  for (let i = 1; Object.hasOwn(graph.constants, name); i++) name = `${base}_${i}`;
  graph.constants[name] = c;
  return name;
}

/** K of a binary op: the number of real bits in its dot product. */
function binaryK(graph: Graph, p: Extract<GraphNode, { op: 'bconv2d' | 'bdense' }>): number {
  const values = validateGraph(
    'optimizeGraph',
    graph.inputs,
    graph.nodes,
    graph.outputs,
    graph.constants,
  ).values;
  const x = values.get(p.inputs[0])!;
  return p.op === 'bconv2d' ? p.kernelSize[0] * p.kernelSize[1] * x.shape[2] : sizeOf(x.shape);
}

function fuseBinarize(graph: Graph, log: string[]): boolean {
  for (const bin of graph.nodes) {
    if (bin.op !== 'binarize') continue;
    const chain: GraphNode[] = [];
    let value = bin.inputs[0];
    let p = producer(graph, value);
    while (p && (p.op === 'affine' || p.op === 'relu' || p.op === 'maxpool2d') && single(graph, value)) {
      chain.unshift(p);
      value = p.inputs[0];
      p = producer(graph, value);
    }
    if (
      !p ||
      (p.op !== 'bconv2d' && p.op !== 'bdense') ||
      p.transform.kind !== 'float' ||
      !single(graph, value)
    )
      continue;
    const hasPool = chain.some((n) => n.op === 'maxpool2d');
    const affines = chain.filter((n): n is Extract<GraphNode, { op: 'affine' }> => n.op === 'affine');
    // Max commutes with a non-decreasing map: multipliers >= 0 (and, in the BatchNorm form, divisors > 0).
    if (
      hasPool &&
      affines.some(
        (a) =>
          (f32(graph, a.multiplier) ?? []).some((m) => !(m >= 0)) ||
          (f32(graph, a.divisor) ?? []).some((d) => !(d > 0)),
      )
    )
      continue;
    const t = p.transform;
    const resolved: ResolvedFloatTransform = {
      ...t,
      multiplier: f32(graph, t.multiplier),
      bias: f32(graph, t.bias),
    };
    const channels = p.op === 'bconv2d' ? p.filters : p.units;
    // The float32 value the unfused graph computes for channel c from an integer dot.
    const evaluate = (c: number, d: number): number =>
      chainValue(
        graph,
        chain,
        c,
        floatTransform(d, resolved.multiplier?.[c] ?? 1, resolved.bias?.[c] ?? 0, resolved),
      );
    const { sign, threshold } = thresholdsFromSign(binaryK(graph, p), channels, (c, d) => evaluate(c, d) < 0);
    p.transform = {
      kind: 'bits',
      sign: addConstant(graph, `${bin.name}/sign`, { dtype: 'int32', shape: [channels], data: sign }),
      threshold: addConstant(graph, `${bin.name}/threshold`, {
        dtype: 'int32',
        shape: [channels],
        data: threshold,
      }),
    };
    // Keep the max-pools (now on bits) in order; drop affine/relu/binarize. The last remaining node
    // takes the binarize's name, so the binarize's consumers stay connected; its old name had a single
    // consumer, which is dropped.
    const pools = chain.filter((n) => n.op === 'maxpool2d');
    const drop = new Set([...chain.filter((n) => n.op !== 'maxpool2d').map((n) => n.name), bin.name]);
    let prev = p.name;
    for (const pool of pools) {
      pool.inputs = [prev];
      prev = pool.name;
    }
    graph.nodes = graph.nodes.filter((n) => !drop.has(n.name));
    log.push(
      `${p.op} '${p.name}' + ${[...chain.map((n) => n.op), 'binarize'].join(' + ')} -> bits output${pools.length ? ` + ${pools.length} max-pool(s) on packed bits` : ''}`,
    );
    (pools.at(-1) ?? p).name = bin.name;
    return true;
  }
  return false;
}

function foldAffine(graph: Graph, log: string[]): boolean {
  for (const a of graph.nodes) {
    // The BatchNorm form rounds differently from a folded multiplier and bias: it stays as it is.
    if (a.op !== 'affine' || a.divisor) continue;
    const p = producer(graph, a.inputs[0]);
    if (
      !p ||
      !('transform' in p) ||
      p.transform.kind !== 'float' ||
      p.transform.outClamp ||
      !single(graph, p.name)
    )
      continue;
    const channels = p.op === 'bconv2d' || p.op === 'conv2d' ? p.filters : p.units;
    const t: FloatTransform = p.transform;
    const m = f32(graph, t.multiplier);
    const b = f32(graph, t.bias);
    const am = f32(graph, a.multiplier);
    const ab = f32(graph, a.bias);
    const mult = Float32Array.from({ length: channels }, (_, c) => (m?.[c] ?? 1) * (am?.[c] ?? 1));
    const bias = Float32Array.from(
      { length: channels },
      (_, c) => (b?.[c] ?? 0) * (am?.[c] ?? 1) + (ab?.[c] ?? 0),
    );
    t.multiplier = addConstant(graph, `${a.name}/folded_multiplier`, {
      dtype: 'float32',
      shape: [channels],
      data: mult,
    });
    t.bias = addConstant(graph, `${a.name}/folded_bias`, { dtype: 'float32', shape: [channels], data: bias });
    const oldName = p.name;
    graph.nodes = graph.nodes.filter((n) => n !== a);
    p.name = a.name;
    log.push(`affine '${a.name}' folded into ${p.op} '${oldName}'`);
    return true;
  }
  return false;
}

function foldRelu(graph: Graph, log: string[]): boolean {
  for (const r of graph.nodes) {
    if (r.op !== 'relu') continue;
    const p = producer(graph, r.inputs[0]);
    if (!p || !('transform' in p) || p.transform.kind !== 'float' || !single(graph, p.name)) continue;
    const [lo, hi]: Range = p.transform.outClamp ?? [null, null];
    p.transform.outClamp = [Math.max(lo ?? 0, 0), hi === null ? null : Math.max(hi, 0)];
    const oldName = p.name;
    graph.nodes = graph.nodes.filter((n) => n !== r);
    p.name = r.name;
    log.push(`relu '${r.name}' fused into ${p.op} '${oldName}' as outClamp`);
    return true;
  }
  return false;
}

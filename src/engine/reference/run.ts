import { checkInput } from '../input-check.js';
import type { Constant, Graph, GraphNode, OutputTransform } from '../ir.js';
import { bconv2d, bdense } from './binary.js';
import { packSigns } from './bits.js';
import {
  add,
  affine,
  avgPool2d,
  concat,
  conv2d,
  dense,
  flatten,
  globalAvgPool,
  maxPool2d,
  relu,
  softmax,
} from './float.js';
import type { BitTensor, FloatTensor, Tensor } from './tensor.js';
import type { ResolvedTransform } from './transform.js';

/** Resolves a transform's constant names to their data. */
export function resolveTransform(t: OutputTransform, constants: Record<string, Constant>): ResolvedTransform {
  if (t.kind === 'bits')
    return {
      kind: 'bits',
      sign: constants[t.sign].data as Int32Array,
      threshold: constants[t.threshold].data as Int32Array,
    };
  return {
    kind: 'float',
    multiplier: t.multiplier ? (constants[t.multiplier].data as Float32Array) : undefined,
    bias: t.bias ? (constants[t.bias].data as Float32Array) : undefined,
    dotClamp: t.dotClamp,
    outClamp: t.outClamp,
  };
}

/** Runs one node with the reference ops. */
export function runNode(node: GraphNode, ins: Tensor[], constants: Record<string, Constant>): Tensor {
  const x = ins[0];
  const c = (name: string | undefined) => (name ? constants[name].data : undefined);
  switch (node.op) {
    case 'bconv2d':
      return bconv2d(
        x as BitTensor,
        c(node.weights) as Uint32Array,
        node,
        resolveTransform(node.transform, constants),
      );
    case 'bdense':
      return bdense(
        x as BitTensor,
        c(node.weights) as Uint32Array,
        node.units,
        resolveTransform(node.transform, constants),
      );
    case 'conv2d':
      return conv2d(
        x as FloatTensor,
        c(node.weights) as Float32Array | Uint32Array,
        node,
        resolveTransform(node.transform, constants) as never,
      );
    case 'dense':
      return dense(
        x as FloatTensor,
        c(node.weights) as Float32Array | Uint32Array,
        node.units,
        resolveTransform(node.transform, constants) as never,
      );
    case 'binarize':
      return packSigns((x as FloatTensor).data, x.shape);
    case 'maxpool2d':
      return maxPool2d(x, node);
    case 'avgpool2d':
      return avgPool2d(x as FloatTensor, node);
    case 'globalavgpool':
      return globalAvgPool(x as FloatTensor);
    case 'flatten':
      return flatten(x as FloatTensor);
    case 'add':
      return add(ins as FloatTensor[]);
    case 'concat':
      return concat(ins as FloatTensor[]);
    case 'affine':
      return affine(
        x as FloatTensor,
        c(node.multiplier) as Float32Array | undefined,
        c(node.bias) as Float32Array | undefined,
        c(node.mean) as Float32Array | undefined,
        c(node.divisor) as Float32Array | undefined,
      );
    case 'relu':
      return relu(x as FloatTensor);
    case 'softmax':
      return softmax(x as FloatTensor);
  }
}

/**
 * Runs a validated graph with the plain-TypeScript reference ops (the spec the WASM runtime is tested
 * against). Returns every value when `keepAll` is set (for per-node comparisons), else only the outputs.
 */
export function runReference(
  graph: Graph,
  data: Float32Array,
  shape: number[],
  keepAll = false,
): Map<string, Tensor> {
  checkInput(graph.inputs[0], data, shape, 'runReference input');
  const values = new Map<string, Tensor>([
    [graph.inputs[0].name, { kind: 'float', shape: [...shape], data }],
  ]);
  for (const node of graph.nodes) {
    const ins = node.inputs.map((n) => values.get(n)!);
    values.set(node.name, runNode(node, ins, graph.constants));
  }
  if (keepAll) return values;
  return new Map(graph.outputs.map((o) => [o, values.get(o)!]));
}

import type { Constant, ConstData, Graph, GraphNode } from './ir.js';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** A node description without its name (the builder names it). */
export type NodeSpec = DistributiveOmit<GraphNode, 'name'> & { name?: string };

/**
 * Builds a {@link Graph} step by step: add constants, then nodes in topological order; each call
 * returns the name of the new value. `encodeModel(builder.build([out]))` validates the result.
 *
 * ```ts
 * const g = new GraphBuilder('image', [28, 28, 1]);
 * const w = g.constant('conv1/w', 'uint32', [32, 3, 3, 1], packedBits);
 * const y = g.node({ op: 'conv2d', inputs: [g.input], weights: w, ... });
 * const graph = g.build([g.node({ op: 'softmax', inputs: [y] })]);
 * ```
 */
export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly constants: Record<string, Constant> = {};
  private counter = 0;

  constructor(
    readonly input: string,
    readonly inputShape: number[],
  ) {}

  /** Adds a constant and returns its name. Float64 or plain arrays are converted to the dtype. */
  constant(
    name: string,
    dtype: Constant['dtype'],
    shape: number[],
    data: ConstData | ArrayLike<number>,
  ): string {
    const ctor = dtype === 'float32' ? Float32Array : dtype === 'int32' ? Int32Array : Uint32Array;
    this.constants[name] = {
      dtype,
      shape,
      data: data instanceof ctor ? data : ctor.from(data as ArrayLike<number>),
    };
    return name;
  }

  /** Adds a node (named `<op>_<k>` unless `name` is given) and returns the name of its output. */
  node(spec: NodeSpec): string {
    const name = spec.name ?? `${spec.op}_${this.counter++}`;
    this.nodes.push({ ...spec, name } as GraphNode);
    return name;
  }

  /** The finished graph with the given outputs. */
  build(outputs: string[], metadata?: Record<string, string>): Graph {
    const g: Graph = {
      inputs: [{ name: this.input, shape: [...this.inputShape] }],
      nodes: [...this.nodes],
      outputs,
      constants: { ...this.constants },
    };
    if (metadata) g.metadata = metadata;
    return g;
  }
}

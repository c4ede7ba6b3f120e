import type {
  BitsTransform,
  Constant,
  FloatTransform,
  GraphInput,
  GraphNode,
  OutputTransform,
  Padding,
  ValueInfo,
  Window2D,
} from '../ir.js';
import { OP_NAMES } from '../ir.js';
import { sizeOf, windowAxis, wordsFor } from '../shapes.js';
import { JsonChecker } from './json-check.js';

/** Largest number of elements one sample of a value may hold (bounds the runtime's allocations). */
export const MAX_VALUE_ELEMENTS = 1 << 26;
/** Largest dimension anywhere in a graph. */
export const MAX_DIM = 1 << 24;
/** Largest number of nodes in a graph. */
export const MAX_NODES = 100_000;

/** A graph whose every attribute, reference and shape has been checked, with its inferred value shapes. */
export interface CheckedGraph {
  inputs: GraphInput[];
  nodes: GraphNode[];
  outputs: string[];
  values: Map<string, ValueInfo>;
}

const WINDOW_KEYS = ['kernelSize', 'strides', 'padding'];
const KEYS: Record<string, readonly string[]> = {
  bconv2d: [...WINDOW_KEYS, 'filters', 'dilations', 'padValue', 'weights', 'transform'],
  bdense: ['units', 'weights', 'transform'],
  conv2d: [...WINDOW_KEYS, 'filters', 'dilations', 'padValue', 'weights', 'transform'],
  dense: ['units', 'weights', 'transform'],
  binarize: [],
  maxpool2d: WINDOW_KEYS,
  avgpool2d: WINDOW_KEYS,
  globalavgpool: [],
  flatten: [],
  add: [],
  concat: [],
  affine: ['multiplier', 'bias', 'mean', 'divisor'],
  relu: [],
  softmax: [],
};

/**
 * Validates an untrusted graph description (parsed JSON or a Graph built in code) against its
 * constants: op names and attributes, references (each input defined earlier, names unique),
 * kinds (float or bits) and shapes of every value, constant dtypes and shapes, zero padding bits in
 * packed weights, and the sign values of bit-output thresholds. Throws FormatError naming the node.
 */
export function validateGraph(
  source: string,
  rawInputs: unknown,
  rawNodes: unknown,
  rawOutputs: unknown,
  constants: Record<string, Constant>,
): CheckedGraph {
  const j: JsonChecker = new JsonChecker(source);
  const values = new Map<string, ValueInfo>();

  const inputsArr = j.array(rawInputs, 'inputs', 16);
  if (inputsArr.length !== 1) j.fail('inputs', `${inputsArr.length} inputs`, 'exactly one graph input');
  const inputs: GraphInput[] = inputsArr.map((raw, i) => {
    const o = j.object(raw, `inputs[${i}]`);
    j.keys(o, `inputs[${i}]`, ['name', 'shape', 'uint8']);
    const name = j.string(o.name, `inputs[${i}].name`);
    const shapeArr = j.array(o.shape, `inputs[${i}].shape`, 3);
    if (shapeArr.length !== 1 && shapeArr.length !== 3)
      j.fail(`inputs[${i}].shape`, `rank ${shapeArr.length}`, 'a per-sample shape [C] or [H, W, C]');
    const shape = shapeArr.map((d, k) => j.int(d, `inputs[${i}].shape[${k}]`, 1, MAX_DIM));
    checkSize(j, shape, `inputs[${i}].shape`);
    values.set(name, { kind: 'float', shape });
    if (o.uint8 === undefined) return { name, shape };
    const q = j.object(o.uint8, `inputs[${i}].uint8`);
    j.keys(q, `inputs[${i}].uint8`, ['scale', 'offset']);
    const scale = j.number(q.scale, `inputs[${i}].uint8.scale`);
    if (!(scale > 0)) j.fail(`inputs[${i}].uint8.scale`, String(scale), 'a positive number');
    const offset = j.number(q.offset, `inputs[${i}].uint8.offset`);
    return { name, shape, uint8: { scale, offset } };
  });

  const nodesArr = j.array(rawNodes, 'nodes', MAX_NODES);
  const nodes: GraphNode[] = [];
  for (let i = 0; i < nodesArr.length; i++) {
    const node = checkNode(j, nodesArr[i], `nodes[${i}]`, values, constants);
    nodes.push(node.node);
    values.set(node.node.name, node.info);
  }

  const outputs = j.array(rawOutputs, 'outputs', 64).map((o, i) => {
    const name = j.string(o, `outputs[${i}]`);
    const info = values.get(name);
    if (!info)
      j.fail(`outputs[${i}]`, `unknown value ${JSON.stringify(name)}`, 'the name of an input or node');
    if (info.kind !== 'float') j.fail(`outputs[${i}]`, `value ${name} holds packed bits`, 'a float value');
    return name;
  });
  if (outputs.length === 0) j.fail('outputs', 'no outputs', 'at least one output');
  return { inputs, nodes, outputs, values };
}

function checkSize(j: JsonChecker, shape: number[], path: string): void {
  if (sizeOf(shape) > MAX_VALUE_ELEMENTS)
    j.fail(
      path,
      `shape [${shape.join(', ')}] holds ${sizeOf(shape)} elements per sample`,
      `at most ${MAX_VALUE_ELEMENTS}`,
    );
}

function constant(
  j: JsonChecker,
  constants: Record<string, Constant>,
  name: unknown,
  path: string,
): Constant & { name: string } {
  const n = j.string(name, path);
  if (!Object.hasOwn(constants, n))
    j.fail(path, `unknown constant ${JSON.stringify(n)}`, 'a name in the tensor table');
  return { ...constants[n], name: n };
}

function expectShape(
  j: JsonChecker,
  c: Constant & { name: string },
  shape: number[],
  dtype: string,
  path: string,
): void {
  const same = c.shape.length === shape.length && c.shape.every((d, i) => d === shape[i]);
  if (c.dtype !== dtype || !same)
    j.fail(
      path,
      `constant ${c.name} is ${c.dtype} [${c.shape.join(', ')}]`,
      `${dtype} [${shape.join(', ')}]`,
    );
}

/**
 * True when a constant's data is present. The file reader first validates the structure with
 * placeholder (empty) data, before copying anything, then again with the data.
 */
function hasData(c: Constant): boolean {
  return c.data.length === sizeOf(c.shape);
}

/** Checks that the bits beyond `c` in each group of `words` words are zero (padding bits). */
function checkPaddingBits(j: JsonChecker, w: Constant & { name: string }, c: number, path: string): void {
  if (!hasData(w)) return;
  const words = wordsFor(c);
  const rem = c % 32;
  if (rem === 0) return;
  const mask = ~((1 << rem) - 1) >>> 0;
  const data = w.data as Uint32Array;
  for (let i = words - 1; i < data.length; i += words)
    if ((data[i] & mask) !== 0)
      j.fail(
        path,
        `constant ${w.name} has non-zero padding bits in word ${i}`,
        `bits ${rem}..31 of the last word of each group of ${words} words to be 0`,
      );
}

function checkWindow(j: JsonChecker, o: Record<string, unknown>, path: string): Window2D {
  return {
    kernelSize: j.intPair(o.kernelSize, `${path}.kernelSize`, 1, 4096),
    strides: j.intPair(o.strides, `${path}.strides`, 1, 4096),
    padding: j.oneOf<Padding>(o.padding, `${path}.padding`, ['valid', 'same']),
  };
}

function spatialOut(
  j: JsonChecker,
  path: string,
  inShape: number[],
  w: Window2D,
  dilations: [number, number],
): [number, number] {
  const h = windowAxis(inShape[0], w.kernelSize[0], w.strides[0], dilations[0], w.padding);
  const x = windowAxis(inShape[1], w.kernelSize[1], w.strides[1], dilations[1], w.padding);
  if (h.out < 1 || x.out < 1)
    j.fail(
      path,
      `window ${w.kernelSize.join('x')} (dilation ${dilations.join('x')}) does not fit input ${inShape[0]}x${inShape[1]} with padding '${w.padding}'`,
      'an output of at least 1x1',
    );
  return [h.out, x.out];
}

function checkTransform(
  j: JsonChecker,
  raw: unknown,
  path: string,
  channels: number,
  constants: Record<string, Constant>,
  binary: boolean,
): OutputTransform {
  const o = j.object(raw, path);
  const kind = j.oneOf(o.kind, `${path}.kind`, binary ? ['float', 'bits'] : ['float']);
  if (kind === 'bits') {
    j.keys(o, path, ['kind', 'sign', 'threshold']);
    const sign = constant(j, constants, o.sign, `${path}.sign`);
    expectShape(j, sign, [channels], 'int32', `${path}.sign`);
    for (let i = 0; hasData(sign) && i < channels; i++)
      if (sign.data[i] < -1 || sign.data[i] > 1)
        j.fail(`${path}.sign`, `constant ${sign.name}[${i}] = ${sign.data[i]}`, '-1, 0 or 1');
    const threshold = constant(j, constants, o.threshold, `${path}.threshold`);
    expectShape(j, threshold, [channels], 'int32', `${path}.threshold`);
    return { kind: 'bits', sign: sign.name, threshold: threshold.name } satisfies BitsTransform;
  }
  j.keys(
    o,
    path,
    binary
      ? ['kind', 'multiplier', 'bias', 'dotClamp', 'outClamp']
      : ['kind', 'multiplier', 'bias', 'outClamp'],
  );
  const t: FloatTransform = { kind: 'float' };
  for (const key of ['multiplier', 'bias'] as const) {
    if (o[key] === undefined) continue;
    const c = constant(j, constants, o[key], `${path}.${key}`);
    expectShape(j, c, [channels], 'float32', `${path}.${key}`);
    for (let i = 0; hasData(c) && i < channels; i++)
      if (!Number.isFinite(c.data[i]))
        j.fail(`${path}.${key}`, `constant ${c.name}[${i}] = ${c.data[i]}`, 'finite values');
    t[key] = c.name;
  }
  if (o.dotClamp !== undefined) t.dotClamp = j.range(o.dotClamp, `${path}.dotClamp`, true);
  if (o.outClamp !== undefined) t.outClamp = j.range(o.outClamp, `${path}.outClamp`, false);
  return t;
}

function checkNode(
  j: JsonChecker,
  raw: unknown,
  path: string,
  values: Map<string, ValueInfo>,
  constants: Record<string, Constant>,
): { node: GraphNode; info: ValueInfo } {
  const o = j.object(raw, path);
  const op = j.oneOf(o.op, `${path}.op`, OP_NAMES);
  j.keys(o, path, ['op', 'name', 'inputs', ...KEYS[op]]);
  const name = j.string(o.name, `${path}.name`);
  const where = `${path} (${op} '${name}')`;
  if (values.has(name))
    j.fail(`${where}.name`, `duplicate value name ${JSON.stringify(name)}`, 'unique names');
  const rawIn = j.array(o.inputs, `${where}.inputs`, 64);
  const multi = op === 'add' || op === 'concat';
  const arity = multi ? [2, 64] : [1, 1];
  if (rawIn.length < arity[0] || rawIn.length > arity[1])
    j.fail(`${where}.inputs`, `${rawIn.length} inputs`, multi ? '2 to 64 inputs' : 'exactly 1 input');
  const inputs = rawIn.map((v, i) => j.string(v, `${where}.inputs[${i}]`));
  const ins = inputs.map((n, i) => {
    const info = values.get(n);
    if (!info)
      j.fail(
        `${where}.inputs[${i}]`,
        `unknown value ${JSON.stringify(n)}`,
        'a graph input or an earlier node',
      );
    return info;
  });
  const x = ins[0];
  const needKind = (kind: 'float' | 'bits' | 'any', rank: number[] | null): void => {
    for (const [i, v] of ins.entries()) {
      if (kind !== 'any' && v.kind !== kind)
        j.fail(`${where}.inputs[${i}]`, `a ${v.kind} value`, `a ${kind} value`);
      if (rank && !rank.includes(v.shape.length + 1))
        j.fail(
          `${where}.inputs[${i}]`,
          `rank ${v.shape.length + 1} (shape [N, ${v.shape.join(', ')}])`,
          `rank ${rank.join(' or ')}`,
        );
    }
  };
  let info: ValueInfo;
  let node: GraphNode;
  switch (op) {
    case 'bconv2d':
    case 'conv2d': {
      needKind(op === 'bconv2d' ? 'bits' : 'float', [4]);
      const win = checkWindow(j, o, where);
      const dilations = j.intPair(o.dilations, `${where}.dilations`, 1, 4096);
      const filters = j.int(o.filters, `${where}.filters`, 1, MAX_DIM);
      const [kh, kw] = win.kernelSize;
      const cin = x.shape[2];
      const w = constant(j, constants, o.weights, `${where}.weights`);
      if (op === 'conv2d' && w.dtype === 'float32')
        expectShape(j, w, [kh, kw, cin, filters], 'float32', `${where}.weights`);
      else expectShape(j, w, [filters, kh, kw, wordsFor(cin)], 'uint32', `${where}.weights`);
      if (w.dtype === 'uint32') checkPaddingBits(j, w, cin, `${where}.weights`);
      const [oh, ow] = spatialOut(j, where, x.shape, win, dilations);
      const transform = checkTransform(
        j,
        o.transform,
        `${where}.transform`,
        filters,
        constants,
        op === 'bconv2d',
      );
      info = { kind: transform.kind, shape: [oh, ow, filters] };
      if (op === 'bconv2d') {
        const padValue = j.oneOf(o.padValue, `${where}.padValue`, [0, 1] as const);
        node = { op, name, inputs, ...win, filters, dilations, padValue, weights: w.name, transform };
      } else {
        const padValue = j.number(o.padValue, `${where}.padValue`);
        node = {
          op,
          name,
          inputs,
          ...win,
          filters,
          dilations,
          padValue,
          weights: w.name,
          transform: transform as FloatTransform,
        };
      }
      break;
    }
    case 'bdense':
    case 'dense': {
      const units = j.int(o.units, `${where}.units`, 1, MAX_DIM);
      const w = constant(j, constants, o.weights, `${where}.weights`);
      if (op === 'bdense') {
        needKind('bits', [2, 4]);
        const c = x.shape[x.shape.length - 1];
        expectShape(j, w, [units, ...x.shape.slice(0, -1), wordsFor(c)], 'uint32', `${where}.weights`);
        checkPaddingBits(j, w, c, `${where}.weights`);
      } else {
        needKind('float', null);
        const k = sizeOf(x.shape);
        if (w.dtype === 'float32') expectShape(j, w, [k, units], 'float32', `${where}.weights`);
        else {
          expectShape(j, w, [units, wordsFor(k)], 'uint32', `${where}.weights`);
          checkPaddingBits(j, w, k, `${where}.weights`);
        }
      }
      const transform = checkTransform(
        j,
        o.transform,
        `${where}.transform`,
        units,
        constants,
        op === 'bdense',
      );
      info = { kind: transform.kind, shape: [units] };
      node =
        op === 'bdense'
          ? { op, name, inputs, units, weights: w.name, transform }
          : { op, name, inputs, units, weights: w.name, transform: transform as FloatTransform };
      break;
    }
    case 'binarize':
      needKind('float', null);
      info = { kind: 'bits', shape: x.shape };
      node = { op, name, inputs };
      break;
    case 'maxpool2d':
    case 'avgpool2d': {
      needKind(op === 'maxpool2d' ? 'any' : 'float', [4]);
      const win = checkWindow(j, o, where);
      const [oh, ow] = spatialOut(j, where, x.shape, win, [1, 1]);
      info = { kind: x.kind, shape: [oh, ow, x.shape[2]] };
      node = { op, name, inputs, ...win };
      break;
    }
    case 'globalavgpool':
      needKind('float', [4]);
      info = { kind: 'float', shape: [x.shape[2]] };
      node = { op, name, inputs };
      break;
    case 'flatten':
      needKind('float', null);
      info = { kind: 'float', shape: [sizeOf(x.shape)] };
      node = { op, name, inputs };
      break;
    case 'add':
      needKind('float', null);
      for (const [i, v] of ins.entries())
        if (v.shape.join() !== x.shape.join())
          j.fail(
            `${where}.inputs[${i}]`,
            `shape [N, ${v.shape.join(', ')}]`,
            `[N, ${x.shape.join(', ')}] like inputs[0]`,
          );
      info = { kind: 'float', shape: x.shape };
      node = { op, name, inputs };
      break;
    case 'concat': {
      needKind('float', null);
      const outer = x.shape.slice(0, -1).join();
      let channels = 0;
      for (const [i, v] of ins.entries()) {
        if (v.shape.length !== x.shape.length || v.shape.slice(0, -1).join() !== outer)
          j.fail(
            `${where}.inputs[${i}]`,
            `shape [N, ${v.shape.join(', ')}]`,
            `[N, ${[...x.shape.slice(0, -1), 'C'].join(', ')}] like inputs[0] (only the last axis may differ)`,
          );
        channels += v.shape[v.shape.length - 1];
      }
      info = { kind: 'float', shape: [...x.shape.slice(0, -1), channels] };
      node = { op, name, inputs };
      break;
    }
    case 'affine': {
      needKind('float', null);
      const c = x.shape[x.shape.length - 1];
      const a: GraphNode = { op, name, inputs };
      if (o.mean !== undefined && o.divisor === undefined)
        j.fail(`${where}.mean`, 'a mean without a divisor', 'mean only with divisor (the BatchNorm form)');
      for (const key of ['multiplier', 'bias', 'mean', 'divisor'] as const) {
        if (o[key] === undefined) continue;
        const k = constant(j, constants, o[key], `${where}.${key}`);
        expectShape(j, k, [c], 'float32', `${where}.${key}`);
        a[key] = k.name;
      }
      info = { kind: 'float', shape: x.shape };
      node = a;
      break;
    }
    default:
      // relu, softmax
      needKind('float', null);
      info = { kind: 'float', shape: x.shape };
      node = { op, name, inputs } as GraphNode;
  }
  checkSize(j, info.shape, `${where} output`);
  return { node, info };
}

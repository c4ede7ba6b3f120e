import { describe } from '../../errors.js';
import type { Constant, ConstDType, Graph } from '../ir.js';
import { crc32 } from './crc32.js';
import { JsonChecker } from './json-check.js';
import { type CheckedGraph, MAX_DIM, validateGraph } from './validate-graph.js';

/**
 * The `.lbm` file format (lowbit model), version 1. All integers little-endian.
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 8 | magic `89 4C 42 4D 0D 0A 1A 0A` ("\x89LBM\r\n\x1a\n", PNG-style: catches text-mode and 7-bit corruption) |
 * | 8 | 4 | format version (u32, = 1) |
 * | 12 | 4 | header length H in bytes (u32) |
 * | 16 | 4 | data length D in bytes (u32) |
 * | 20 | 4 | CRC-32 (IEEE) of the whole file with these 4 bytes skipped |
 * | 24 | H | header: UTF-8 JSON `{ inputs, nodes, outputs, tensors, metadata? }`, space-padded so the data starts 16-byte aligned |
 * | 24 + H | D | data: the constants, each at `tensors[i].offset` (16-byte aligned) with `byteLength = 4 * prod(shape)` |
 *
 * The file length must be exactly 24 + H + D. `tensors[i]` is `{ name, dtype, shape, offset, byteLength }`;
 * `nodes` are the IR's {@link GraphNode}s as JSON.
 */
export const LBM_MAGIC = new Uint8Array([0x89, 0x4c, 0x42, 0x4d, 0x0d, 0x0a, 0x1a, 0x0a]);
/** The format version this code writes and reads. */
export const LBM_VERSION = 1;
const PREFIX = 24;
const MAX_TENSORS = 1 << 20;

/** A decoded and fully validated model: the graph plus its inferred value shapes. */
export interface DecodedModel {
  graph: Graph;
  checked: CheckedGraph;
}

const CTORS = { float32: Float32Array, int32: Int32Array, uint32: Uint32Array } as const;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/**
 * Serializes a graph into `.lbm` bytes. The graph is validated first (the same checks as
 * {@link decodeModel}), so a file this writes always loads.
 */
export function encodeModel(graph: Graph): Uint8Array {
  const source = 'encodeModel(graph)';
  const j: JsonChecker = new JsonChecker(source);
  const names = Object.keys(graph.constants);
  for (const name of names) {
    const c = graph.constants[name];
    const ctor = CTORS[c.dtype];
    if (!ctor || !(c.data instanceof ctor))
      j.fail(
        `constants.${name}`,
        `dtype ${describe(c.dtype)} with data ${describe(c.data)}`,
        'float32/Float32Array, int32/Int32Array or uint32/Uint32Array',
      );
    let n = 1;
    for (const d of c.shape) n *= j.int(d, `constants.${name}.shape`, 0, MAX_DIM);
    if (n !== c.data.length)
      j.fail(`constants.${name}`, `${c.data.length} elements for shape [${c.shape.join(', ')}]`, `${n}`);
  }
  // Round-trip the structure through JSON so the validator sees exactly what a reader will.
  const plain = JSON.parse(
    JSON.stringify({ inputs: graph.inputs, nodes: graph.nodes, outputs: graph.outputs }),
  );
  validateGraph(source, plain.inputs, plain.nodes, plain.outputs, graph.constants);

  let offset = 0;
  const tensors = names.map((name) => {
    const c = graph.constants[name];
    const entry = { name, dtype: c.dtype, shape: c.shape, offset, byteLength: c.data.byteLength };
    offset = align16(offset + c.data.byteLength);
    return entry;
  });
  const dataLength = offset;
  const header: Record<string, unknown> = { ...plain, tensors };
  if (graph.metadata) header.metadata = graph.metadata;
  let json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = align16(PREFIX + json.length) - PREFIX;
  const out = new Uint8Array(PREFIX + headerLength + dataLength);
  out.set(LBM_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, LBM_VERSION, true);
  view.setUint32(12, headerLength, true);
  view.setUint32(16, dataLength, true);
  out.fill(0x20, PREFIX, PREFIX + headerLength);
  out.set(json, PREFIX);
  json = new Uint8Array(0);
  const base = PREFIX + headerLength;
  for (const t of tensors) {
    const data = graph.constants[t.name].data;
    for (let i = 0; i < data.length; i++) {
      const p = base + t.offset + 4 * i;
      if (data instanceof Float32Array) view.setFloat32(p, data[i], true);
      else if (data instanceof Int32Array) view.setInt32(p, data[i], true);
      else view.setUint32(p, data[i], true);
    }
  }
  view.setUint32(20, fileCrc(out), true);
  return out;
}

function fileCrc(bytes: Uint8Array): number {
  return crc32(bytes.subarray(PREFIX), crc32(bytes.subarray(0, 20)));
}

/**
 * Parses and validates `.lbm` bytes. Everything is checked before anything is allocated from the
 * file's numbers: length, magic, version, section lengths (exact), checksum, UTF-8 and JSON, the
 * tensor table (dtypes, shapes, offsets and lengths inside the data section), then every node's
 * attributes and the shapes through the graph. Any problem throws {@link FormatError}.
 */
export function decodeModel(bytes: Uint8Array, source = 'model.lbm'): DecodedModel {
  const j: JsonChecker = new JsonChecker(source);
  if (!(bytes instanceof Uint8Array)) j.fail('file', `received ${describe(bytes)}`, 'a Uint8Array');
  if (bytes.length < PREFIX)
    j.fail('file', `${bytes.length} bytes`, `at least ${PREFIX} bytes (the fixed prefix)`);
  for (let i = 0; i < LBM_MAGIC.length; i++)
    if (bytes[i] !== LBM_MAGIC[i])
      j.fail('magic', `bytes ${hex(bytes.subarray(0, 8))}`, `${hex(LBM_MAGIC)} (a lowbit .lbm file)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== LBM_VERSION)
    j.fail(
      'version',
      `format version ${version}`,
      `version ${LBM_VERSION} (this lowbit reads version ${LBM_VERSION})`,
    );
  const headerLength = view.getUint32(12, true);
  const dataLength = view.getUint32(16, true);
  if (PREFIX + headerLength + dataLength !== bytes.length)
    j.fail(
      'lengths',
      `header ${headerLength} + data ${dataLength} + prefix ${PREFIX} bytes, file ${bytes.length} bytes`,
      'the file length to equal their sum (truncated or extended file)',
    );
  const stored = view.getUint32(20, true);
  const actual = fileCrc(bytes);
  if (stored !== actual)
    j.fail(
      'checksum',
      `stored CRC-32 0x${stored.toString(16)}, computed 0x${actual.toString(16)}`,
      'equal checksums (the file is corrupt)',
    );

  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerLength)),
    );
  } catch (e) {
    j.fail('header', `not valid UTF-8 JSON (${(e as Error).message})`, 'a JSON object');
  }
  const h = j.object(header, 'header');
  j.keys(h, 'header', ['inputs', 'nodes', 'outputs', 'tensors', 'metadata']);
  const base = PREFIX + headerLength;
  const constants: Record<string, Constant> = {};
  const table = j.array(h.tensors, 'tensors', MAX_TENSORS);
  // First pass: check every entry; no allocation yet.
  const entries = table.map((raw, i) => {
    const p = `tensors[${i}]`;
    const t = j.object(raw, p);
    j.keys(t, p, ['name', 'dtype', 'shape', 'offset', 'byteLength']);
    const name = j.string(t.name, `${p}.name`);
    const dtype = j.oneOf<ConstDType>(t.dtype, `${p}.dtype`, ['float32', 'int32', 'uint32']);
    const shape = j.array(t.shape, `${p}.shape`, 6).map((d, k) => j.int(d, `${p}.shape[${k}]`, 0, MAX_DIM));
    let count = 1;
    for (const d of shape) {
      count *= d;
      if (count * 4 > dataLength)
        j.fail(
          `${p}.shape`,
          `[${shape.join(', ')}] needs more than ${dataLength} bytes`,
          'a tensor that fits in the data section',
        );
    }
    const offset = j.int(t.offset, `${p}.offset`, 0, dataLength);
    const byteLength = j.int(t.byteLength, `${p}.byteLength`, 0, dataLength);
    if (byteLength !== 4 * count)
      j.fail(`${p}.byteLength`, `${byteLength}`, `4 * prod(shape) = ${4 * count}`);
    if (offset % 4 !== 0) j.fail(`${p}.offset`, `${offset}`, 'a multiple of 4');
    if (offset + byteLength > dataLength)
      j.fail(
        `${p}`,
        `bytes [${offset}, ${offset + byteLength})`,
        `a range inside the data section [0, ${dataLength})`,
      );
    if (Object.hasOwn(constants, name) || name === '__proto__')
      j.fail(`${p}.name`, `duplicate or reserved name ${JSON.stringify(name)}`, 'unique names');
    constants[name] = { dtype, shape, data: new Float32Array(0) };
    return { name, dtype, shape, offset, count };
  });
  // Structure, attributes and shapes of the whole graph, still without any data copied.
  validateGraph(source, h.inputs, h.nodes, h.outputs, constants);
  // Copy the data (bounded by the file size checked above), then check what depends on values.
  for (const e of entries) {
    const ctor = CTORS[e.dtype];
    const start = base + e.offset;
    let data: Float32Array | Int32Array | Uint32Array;
    // A copy into a fresh buffer: `slice` would not do, on a Node Buffer (readFileSync's result) it
    // is a view whose .buffer is the whole file (or Node's shared pool).
    if (LITTLE_ENDIAN) data = new ctor(copyBytes(bytes, start, 4 * e.count));
    else {
      data = new ctor(e.count);
      for (let i = 0; i < e.count; i++)
        data[i] =
          e.dtype === 'float32'
            ? view.getFloat32(start + 4 * i, true)
            : e.dtype === 'int32'
              ? view.getInt32(start + 4 * i, true)
              : view.getUint32(start + 4 * i, true);
    }
    constants[e.name].data = data;
  }
  const checked = validateGraph(source, h.inputs, h.nodes, h.outputs, constants);
  let metadata: Record<string, string> | undefined;
  if (h.metadata !== undefined) {
    const m = j.object(h.metadata, 'metadata');
    metadata = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') j.fail(`metadata.${k}`, `received ${describe(v)}`, 'a string');
      metadata[k] = v;
    }
  }
  const graph: Graph = { inputs: checked.inputs, nodes: checked.nodes, outputs: checked.outputs, constants };
  if (metadata) graph.metadata = metadata;
  return { graph, checked };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** A copy of bytes[start, start + length) in a new ArrayBuffer of exactly that length. */
function copyBytes(bytes: Uint8Array, start: number, length: number): ArrayBuffer {
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(start, start + length));
  return copy.buffer;
}

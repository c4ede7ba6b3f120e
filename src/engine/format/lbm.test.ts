import { describe, expect, it } from 'vitest';
import { FormatError } from '../../errors.js';
import { Random } from '../../util/random.js';
import { GraphBuilder } from '../builder.js';
import { craftLbm, mutateJson, splitLbm } from '../testing/craft.js';
import { binaryMlp, larqIntroCnn, quicknetLike } from '../testing/models.js';
import { crc32 } from './crc32.js';
import { decodeModel, encodeModel, LBM_VERSION } from './lbm.js';

const craft = craftLbm;
const split = splitLbm;

function expectFormatError(bytes: Uint8Array, message?: RegExp): void {
  let err: unknown;
  try {
    decodeModel(bytes, 'test.lbm');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FormatError);
  if (message) expect((err as Error).message).toMatch(message);
}

const valid = encodeModel(larqIntroCnn());

describe('crc32', () => {
  it('matches the standard check value and an empty input', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    // Continuation: crc(ab) = crc(b, crc(a)).
    const all = new TextEncoder().encode('hello world');
    expect(crc32(all.subarray(5), crc32(all.subarray(0, 5)))).toBe(crc32(all));
  });
});

describe('.lbm encode/decode', () => {
  it('writes the documented layout', () => {
    const v = new DataView(valid.buffer);
    expect(Array.from(valid.subarray(0, 8))).toEqual([0x89, 0x4c, 0x42, 0x4d, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(v.getUint32(8, true)).toBe(LBM_VERSION);
    const h = v.getUint32(12, true);
    const d = v.getUint32(16, true);
    expect(24 + h + d).toBe(valid.length);
    expect((24 + h) % 16).toBe(0);
    expect(v.getUint32(20, true)).toBe(crc32(valid.subarray(24), crc32(valid.subarray(0, 20))));
    const { header } = split(valid);
    const t = (
      header.tensors as { name: string; offset: number; byteLength: number; shape: number[] }[]
    ).find((e) => e.name === 'conv2/w')!;
    expect(t.shape).toEqual([64, 3, 3, 1]);
    expect(t.byteLength).toBe(64 * 9 * 4);
    expect(t.offset % 16).toBe(0);
  });

  it('round-trips graphs, constants and metadata exactly', () => {
    for (const g of [larqIntroCnn(), binaryMlp(), quicknetLike()]) {
      const { graph } = decodeModel(encodeModel(g));
      expect(graph.nodes).toEqual(JSON.parse(JSON.stringify(g.nodes)));
      expect(graph.inputs).toEqual(g.inputs);
      expect(graph.outputs).toEqual(g.outputs);
      expect(graph.metadata).toEqual(g.metadata);
      expect(Object.keys(graph.constants).sort()).toEqual(Object.keys(g.constants).sort());
      for (const [name, c] of Object.entries(g.constants)) {
        expect(graph.constants[name].dtype).toBe(c.dtype);
        expect(graph.constants[name].shape).toEqual(c.shape);
        expect(Array.from(graph.constants[name].data)).toEqual(Array.from(c.data));
      }
    }
  });

  it('reads a file that sits at an odd offset inside a larger buffer', () => {
    const big = new Uint8Array(valid.length + 7);
    big.set(valid, 3);
    const { graph } = decodeModel(big.subarray(3, 3 + valid.length));
    expect(Array.from(graph.constants['conv2/w'].data)).toEqual(
      Array.from(larqIntroCnn().constants['conv2/w'].data),
    );
  });

  it("reads a Node Buffer inside a larger pool (readFileSync's type; Buffer#slice is a view)", () => {
    const pool = Buffer.alloc(valid.length + 11, 0xa5);
    pool.set(valid, 5);
    const { graph } = decodeModel(pool.subarray(5, 5 + valid.length));
    for (const [name, c] of Object.entries(larqIntroCnn().constants)) {
      expect(Array.from(graph.constants[name].data)).toEqual(Array.from(c.data));
    }
  });

  it('the decoded constants are copies, not views of the file', () => {
    const bytes = valid.slice();
    const { graph } = decodeModel(bytes);
    const before = Array.from(graph.constants['conv2/w'].data);
    bytes.fill(0);
    expect(Array.from(graph.constants['conv2/w'].data)).toEqual(before);
  });

  it('rejects bad prefixes with messages naming the problem', () => {
    expectFormatError(new Uint8Array(0), /0 bytes; expected at least 24/);
    expectFormatError(valid.subarray(0, 23), /23 bytes/);
    const { header, data } = split(valid);
    expectFormatError(
      craft(header, data, { magic: [0x50, 0x4b, 3, 4, 0, 0, 0, 0] }),
      /magic: bytes 50 4b 03 04/,
    );
    expectFormatError(craft(header, data, { version: 2 }), /format version 2; expected version 1/);
    expectFormatError(valid.subarray(0, valid.length - 1), /truncated or extended/);
    const longer = new Uint8Array(valid.length + 1);
    longer.set(valid);
    expectFormatError(longer, /truncated or extended/);
    const flipped = valid.slice();
    flipped[flipped.length - 5] ^= 0x10;
    expectFormatError(flipped, /checksum: stored CRC-32 0x[0-9a-f]+, computed/);
  });

  it('rejects a header that is not UTF-8 JSON', () => {
    const json = new Uint8Array([0x7b, 0xff, 0x7d]);
    const out = craft({}, new Uint8Array(0));
    const bytes = new Uint8Array(24 + json.length);
    bytes.set(out.subarray(0, 24));
    bytes.set(json, 24);
    const v = new DataView(bytes.buffer);
    v.setUint32(12, json.length, true);
    v.setUint32(16, 0, true);
    v.setUint32(20, crc32(bytes.subarray(24), crc32(bytes.subarray(0, 20))), true);
    expectFormatError(bytes, /header: not valid UTF-8 JSON/);
    expectFormatError(craft([1, 2], new Uint8Array(0)), /header: received an array/);
  });

  describe('validates the tensor table and the graph', () => {
    const base = split(encodeModel(binaryMlp()));
    // biome-ignore lint/suspicious/noExplicitAny: the cases mutate arbitrary parsed JSON.
    type Mut = (h: Record<string, any>) => void;
    const cases: [string, Mut, RegExp][] = [
      [
        'offset past the data section',
        (h) => (h.tensors[0].offset = base.data.length),
        /inside the data section|offset/,
      ],
      ['unaligned offset', (h) => (h.tensors[0].offset += 2), /a multiple of 4/],
      ['byteLength not 4 * prod(shape)', (h) => (h.tensors[0].byteLength += 4), /4 \* prod\(shape\)/],
      [
        'shape overflowing the file',
        (h) => (h.tensors[0].shape = [16777216, 16777216, 16777216]),
        /needs more than/,
      ],
      ['negative dimension', (h) => (h.tensors[0].shape = [-1]), /an integer in \[0, 16777216\]/],
      [
        'unknown dtype',
        (h) => (h.tensors[0].dtype = 'float16'),
        /"float16"; expected one of "float32", "int32", "uint32"/,
      ],
      ['duplicate tensor', (h) => h.tensors.push({ ...h.tensors[0] }), /duplicate or reserved name/],
      ['unknown op', (h) => (h.nodes[0].op = 'conv3d'), /nodes\[0\]\.op: received "conv3d"/],
      ['unknown attribute', (h) => (h.nodes[0].paddin = 'same'), /unknown key "paddin"/],
      ['missing constant', (h) => (h.nodes[0].weights = 'nope'), /unknown constant "nope"/],
      ['forward reference', (h) => (h.nodes[1].inputs = [h.nodes[2].name]), /unknown value/],
      ['duplicate node name', (h) => (h.nodes[1].name = h.nodes[0].name), /duplicate value name/],
      [
        'bits into a float op',
        (h) => (h.nodes[4].inputs = [h.nodes[1].name]),
        /a bits value; expected a float value/,
      ],
      ['units not matching weights', (h) => (h.nodes[0].units = 1000), /expected uint32 \[1000, 25\]/],
      [
        'bad transform kind',
        (h) => (h.nodes[0].transform.kind = 'bits'),
        /transform\.kind: received "bits"; expected one of "float"/,
      ],
      ['reversed clamp', (h) => (h.nodes[0].transform.outClamp = [1, 0]), /min 1 > max 0/],
      ['graph output of packed bits', (h) => (h.outputs = [h.nodes[1].name]), /holds packed bits/],
      ['no outputs', (h) => (h.outputs = []), /at least one output/],
      ['two inputs', (h) => h.inputs.push({ name: 'b', shape: [3] }), /exactly one graph input/],
      ['huge input', (h) => (h.inputs[0].shape = [16777216, 16777216, 1]), /elements per sample/],
      ['metadata not strings', (h) => (h.metadata = { a: 1 }), /metadata\.a: received 1; expected a string/],
    ];
    for (const [name, mutate, message] of cases)
      it(name, () => {
        const h = structuredClone(base.header);
        mutate(h);
        expectFormatError(craft(h, base.data), message);
      });

    it('non-zero padding bits in packed weights', () => {
      const g = binaryMlp();
      // dense1/w has 784 = 24 * 32 + 16 bits per row: bit 20 of word 24 is padding.
      (g.constants['dense1/w'].data as Uint32Array)[24] |= 1 << 20;
      expect(() => encodeModel(g)).toThrow(/non-zero padding bits in word 24/);
    });

    it('threshold signs outside {-1, 0, 1}', () => {
      const g = binaryMlp();
      (g.constants['bn2/sign'].data as Int32Array)[3] = 2;
      expect(() => encodeModel(g)).toThrow(/bn2\/sign\[3\] = 2; expected -1, 0 or 1/);
    });

    it('an affine with a mean but no divisor, or a divisor of the wrong length', () => {
      const b = new GraphBuilder('x', [5]);
      const mean = b.constant('mean', 'float32', [5], [0, 1, 2, 3, 4]);
      const g = b.build([b.node({ op: 'affine', inputs: [b.input], mean })]);
      expect(() => encodeModel(g)).toThrow(/mean.*a mean without a divisor; expected mean only with divisor/);
      const b2 = new GraphBuilder('x', [5]);
      const divisor = b2.constant('d', 'float32', [4], [1, 1, 1, 1]);
      const g2 = b2.build([b2.node({ op: 'affine', inputs: [b2.input], divisor })]);
      expect(() => encodeModel(g2)).toThrow(/divisor/);
    });

    it('concat of values whose outer dimensions differ', () => {
      const b = new GraphBuilder('x', [4, 4, 3]);
      const p = b.node({
        op: 'maxpool2d',
        inputs: [b.input],
        kernelSize: [2, 2],
        strides: [1, 1],
        padding: 'valid',
      });
      const g = b.build([b.node({ op: 'concat', inputs: [b.input, p] })]);
      expect(() => encodeModel(g)).toThrow(/shape \[N, 3, 3, 3\]; expected \[N, 4, 4, C\] like inputs\[0\]/);
    });

    it('a window larger than its input', () => {
      const g = larqIntroCnn();
      const conv3 = g.nodes.find(
        (n) => n.op === 'bconv2d' && n.filters === 64 && n.transform.kind === 'bits',
      )!;
      (conv3 as { dilations: number[] }).dilations = [3, 3];
      expect(() => encodeModel(g)).toThrow(/does not fit input 5x5/);
    });
  });

  describe('fuzz: corrupt files give FormatError, never another error', () => {
    it('random bit flips anywhere in the file', () => {
      const rng = new Random(11);
      for (let trial = 0; trial < 1500; trial++) {
        const bytes = valid.slice();
        const flips = 1 + rng.int(8);
        for (let f = 0; f < flips; f++) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
        expectFormatError(bytes);
      }
    });

    it('every truncation of a small file', () => {
      const small = encodeModel(quicknetLike(5, 8));
      for (let len = 0; len < small.length; len += 1 + (len >> 6)) expectFormatError(small.subarray(0, len));
    });

    it('random header mutations with a valid checksum', () => {
      const rng = new Random(12);
      const base = split(encodeModel(quicknetLike(6, 8)));
      let loaded = 0;
      for (let trial = 0; trial < 1500; trial++) {
        const h = structuredClone(base.header);
        mutateJson(h, () => rng.next());
        try {
          decodeModel(craft(h, base.data));
          loaded++;
        } catch (e) {
          expect(e, `trial ${trial}`).toBeInstanceOf(FormatError);
        }
      }
      // Most mutations break the file; a few (e.g. metadata) are harmless.
      expect(loaded).toBeLessThan(750);
    });
  });
});

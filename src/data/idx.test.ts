import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError } from '../errors.js';
import { decodeIdx, decodeIdxStream, type IdxArray, parseIdx, parseIdxHeader, readIdxFile } from './idx.js';

/** Builds IDX bytes by hand: 0x00 0x00 code rank, big-endian uint32 dims, then the raw payload. */
function idx(code: number, dims: number[], payload: number[] | Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head[2] = code;
  head[3] = dims.length;
  dims.forEach((d, i) => {
    head[4 + 4 * i] = (d >>> 24) & 0xff;
    head[5 + 4 * i] = (d >>> 16) & 0xff;
    head[6 + 4 * i] = (d >>> 8) & 0xff;
    head[7 + 4 * i] = d & 0xff;
  });
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'lowbit-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function file(bytes: Uint8Array, name = `f${fileNo++}.idx`): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** The three ways to read in-memory/disk bytes, all of which must agree. */
const readers: [string, (bytes: Uint8Array) => Promise<IdxArray>][] = [
  ['parseIdx', async (b) => parseIdx(b)],
  ['decodeIdx', (b) => decodeIdx(b)],
  ['decodeIdx gzip', (b) => decodeIdx(gzipSync(b))],
  ['readIdxFile', (b) => readIdxFile(file(b))],
  ['readIdxFile gzip', (b) => readIdxFile(file(gzipSync(b), `f${fileNo++}.idx.gz`))],
  [
    'decodeIdxStream 1-byte chunks',
    (b) =>
      decodeIdxStream(
        (async function* () {
          for (let i = 0; i < b.length; i++) yield b.subarray(i, i + 1);
        })(),
      ),
  ],
];

describe.each(readers)('%s', (_name, read) => {
  it('decodes uint8 rank 3 in row-major order', async () => {
    const bytes = idx(0x08, [2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
    const a = await read(bytes);
    expect(a.dtype).toBe('uint8');
    expect(a.shape).toEqual([2, 2, 3]);
    expect(Array.from(a.data)).toEqual([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  });

  it('decodes big-endian int8, int16, int32, float32, float64', async () => {
    // Values written as their big-endian bit patterns, worked out by hand.
    const int8 = await read(idx(0x09, [3], [0x7f, 0x80, 0xff]));
    expect(int8.dtype).toBe('int8');
    expect(Array.from(int8.data)).toEqual([127, -128, -1]);
    const int16 = await read(idx(0x0b, [2], [0xff, 0xfe, 0x01, 0x02]));
    expect(Array.from(int16.data)).toEqual([-2, 258]);
    const int32 = await read(idx(0x0c, [2], [0x80, 0, 0, 0, 0, 1, 0, 0]));
    expect(Array.from(int32.data)).toEqual([-(2 ** 31), 65536]);
    const f32 = await read(idx(0x0d, [1, 2], [0x3f, 0xc0, 0, 0, 0xc1, 0x20, 0, 0]));
    expect(f32.dtype).toBe('float32');
    expect(f32.shape).toEqual([1, 2]);
    expect(Array.from(f32.data)).toEqual([1.5, -10]);
    const f64 = await read(idx(0x0e, [1], [0xbf, 0xd0, 0, 0, 0, 0, 0, 0]));
    expect(Array.from(f64.data)).toEqual([-0.25]);
  });

  it('accepts a zero dimension as an empty array', async () => {
    const a = await read(idx(0x08, [0, 28, 28], []));
    expect(a.shape).toEqual([0, 28, 28]);
    expect(a.data.length).toBe(0);
  });

  it.each([
    ['bad magic', idx(0x08, [2], [1, 2]).map((v, i) => (i === 0 ? 0x12 : v)), /bad magic number 0x12000801/],
    ['unknown dtype code', idx(0x0a, [2], [1, 2]), /unknown dtype code 0x0A.*0x08 \(uint8\)/],
    ['rank 0', idx(0x08, [], []), /rank 0; expected a rank between 1 and 255/],
    [
      'truncated header',
      idx(0x08, [2, 3], []).subarray(0, 9),
      /truncated header: 9 bytes; expected 12 bytes for rank 2/,
    ],
    [
      'truncated payload',
      idx(0x08, [2, 3], [1, 2, 3, 4, 5]),
      /truncated: 5 bytes of data.*exactly 6 bytes for shape \[2, 3\]|trailer records 17 .* declares 18 \(truncated\)/,
    ],
    [
      'extra bytes',
      idx(0x08, [2], [1, 2, 3]),
      /1 extra bytes after the data; expected exactly 2 bytes|trailer records 11 .* declares 10 \(1 extra bytes after the data\)/,
    ],
    [
      'a short multi-byte payload',
      idx(0x0c, [2], [0, 0, 0, 1, 0, 0, 0]),
      /truncated: 7 bytes.*exactly 8 bytes|trailer records 15 .* declares 16 \(truncated\)/,
    ],
    [
      'overflowing dimensions',
      idx(0x0e, [0xffffffff, 0xffffffff, 0xffffffff], [1, 2, 3]),
      // 8 * (2^32 - 1)^3, computed independently: 633825299671392843082401579000
      /declare 633825299671392843082401579000 bytes of data; expected at most 1073741824 bytes/,
    ],
  ])('rejects %s with a FormatError', async (_case, bytes, message) => {
    const error = await read(bytes).catch((e) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toMatch(message);
  });
});

describe('IDX validation details', () => {
  it('names the file in errors of readIdxFile', async () => {
    const path = file(idx(0x08, [4], [1, 2]), 'named.idx');
    await expect(readIdxFile(path)).rejects.toThrow(`${path}: truncated: 2 bytes of data`);
    const gz = file(gzipSync(idx(0x08, [4], [1, 2, 3, 4, 5])), 'named.idx.gz');
    await expect(readIdxFile(gz)).rejects.toThrow(`${gz}: `);
  });

  it('honours maxBytes before allocating', () => {
    const bytes = idx(0x08, [10, 10], new Uint8Array(100));
    expect(parseIdx(bytes).data.length).toBe(100);
    expect(() => parseIdx(bytes, { maxBytes: 99, source: 'x.idx' })).toThrow(
      'x.idx: dimensions [10, 10] of uint8 declare 100 bytes of data; expected at most 99 bytes (option maxBytes).',
    );
  });

  it('rejects a small gzip file whose header declares a huge payload before inflating it', async () => {
    // 10^9 bytes declared; the gzip of a 12-byte file cannot inflate to that (ratio bound 1032:1).
    const bytes = gzipSync(idx(0x08, [1000, 1000, 1000], []));
    const error = await decodeIdx(bytes).catch((e) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toMatch(/header declares 1000000016 bytes, more than \d+ bytes of gzip can hold/);
    await expect(readIdxFile(file(bytes))).rejects.toThrow(/more than \d+ bytes of gzip can hold/);
  });

  it('checks the gzip trailer size against the header', async () => {
    // A valid gzip stream of an IDX file with 1 byte too few: the trailer's ISIZE is 4 + 4 + 3 = 11.
    const bytes = gzipSync(idx(0x08, [4], [1, 2, 3]));
    await expect(decodeIdx(bytes)).rejects.toThrow(/gzip trailer records 11 uncompressed bytes.*declares 12/);
  });

  it('rejects truncated and corrupted gzip data', async () => {
    const good = gzipSync(
      idx(
        0x08,
        [64, 64],
        new Uint8Array(4096).map((_, i) => (i * 7) % 256),
      ),
    );
    expect((await decodeIdx(good)).data.length).toBe(4096);
    for (const bad of [good.subarray(0, good.length - 12), good.subarray(0, 20)]) {
      const e1 = await decodeIdx(bad).catch((e) => e);
      expect(e1).toBeInstanceOf(FormatError);
      const e2 = await readIdxFile(file(bad)).catch((e) => e);
      expect(e2).toBeInstanceOf(FormatError);
    }
    const flipped = good.slice();
    flipped[30] ^= 0xff;
    flipped[31] ^= 0xff;
    const e3 = await readIdxFile(file(flipped)).catch((e) => e);
    expect(e3).toBeInstanceOf(FormatError);
  });

  it('detects gzip by content, not by file name', async () => {
    const bytes = idx(0x08, [3], [7, 8, 9]);
    expect(Array.from((await readIdxFile(file(gzipSync(bytes), 'plain-name.idx'))).data)).toEqual([7, 8, 9]);
    expect(Array.from((await readIdxFile(file(bytes, 'looks.gz'))).data)).toEqual([7, 8, 9]);
  });

  it('parseIdx points gzip data to the async readers', () => {
    expect(() => parseIdx(gzipSync(idx(0x08, [1], [1])))).toThrow(/gzip-compressed.*decodeIdx/);
  });

  it('parseIdxHeader reports what the header declares', () => {
    expect(parseIdxHeader(idx(0x0d, [60000, 28, 28], []))).toEqual({
      dtype: 'float32',
      shape: [60000, 28, 28],
      headerBytes: 16,
      payloadBytes: 60000 * 28 * 28 * 4,
    });
  });

  it('reports a failing stream and a gzip stream given as raw IDX', async () => {
    const failing = (async function* () {
      yield idx(0x08, [4], [1]);
      throw new Error('connection reset');
    })();
    await expect(decodeIdxStream(failing, { source: 'http://x/labels' })).rejects.toThrow(
      'http://x/labels: the stream failed (connection reset); expected a readable stream of IDX bytes.',
    );
    const gz = (async function* () {
      yield gzipSync(idx(0x08, [1], [1]));
    })();
    await expect(decodeIdxStream(gz)).rejects.toThrow('IDX data: data is gzip-compressed');
  });

  it('decodes a web ReadableStream split at every position of the header', async () => {
    const bytes = idx(0x0b, [2, 2], [0, 1, 0, 2, 0xff, 0xff, 0x80, 0]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes.slice(0, cut));
          c.enqueue(bytes.slice(cut));
          c.close();
        },
      });
      const a = await decodeIdxStream(stream);
      expect(Array.from(a.data)).toEqual([1, 2, -1, -32768]);
    }
  });
});

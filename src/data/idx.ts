/**
 * Reader for the IDX file format of MNIST and Fashion-MNIST (Y. LeCun, C. Cortes, C. Burges,
 * "The MNIST database of handwritten digits", http://yann.lecun.com/exdb/mnist/).
 *
 * Layout (all integers big-endian):
 * ```
 * byte 0-1   0x00 0x00                   magic, always zero
 * byte 2     dtype code                  0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
 *                                        0x0D float32, 0x0E float64
 * byte 3     rank r                      number of dimensions (1..255)
 * 4r bytes   d_0 .. d_{r-1}              uint32 sizes
 * payload    d_0 * ... * d_{r-1} values  row-major, big-endian
 * ```
 * The whole file may be gzip-compressed (as the published files are). Everything the header
 * declares is checked before the payload buffer is allocated, and the payload must end exactly
 * where the header says: a truncated file or one with trailing bytes is rejected.
 */
import { FormatError } from '../errors.js';
import { importNode } from './node.js';

/** Element type of an IDX file, named after the tfjs / typed-array dtype it decodes to. */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** The typed array an IDX payload decodes to (native byte order). */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX file: its dtype, its shape and its values in row-major order. */
export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxData;
}

/** What an IDX header declares. */
export interface IdxHeader {
  dtype: IdxDtype;
  shape: number[];
  /** Length of the header: 4 + 4 * rank. */
  headerBytes: number;
  /** Length of the payload the header declares: product(shape) * bytes per element. */
  payloadBytes: number;
}

/** Options of the IDX readers. */
export interface IdxReadOptions {
  /** Name of the file or stream in error messages (the path, for {@link readIdxFile}). */
  source?: string;
  /**
   * Largest payload, in bytes, the reader will allocate; a header declaring more is rejected as
   * corrupt or hostile. Default {@link IDX_DEFAULT_MAX_BYTES} (1 GiB).
   */
  maxBytes?: number;
}

/** Default payload limit of the IDX readers: 2^30 bytes (1 GiB). */
export const IDX_DEFAULT_MAX_BYTES = 2 ** 30;

/**
 * Upper bound of deflate's compression factor, 1032:1 (zlib's "technical details": a 258-byte match
 * costs at least 2 bits). A gzip stream of `n` bytes cannot inflate to more than 1032 * n bytes, so
 * a header declaring more is rejected before allocating.
 */
const MAX_DEFLATE_RATIO = 1032;

/** Element types by IDX dtype code (the third byte of the file). */
const DTYPE_CODES = new Map<number, { dtype: IdxDtype; size: number }>([
  [0x08, { dtype: 'uint8', size: 1 }],
  [0x09, { dtype: 'int8', size: 1 }],
  [0x0b, { dtype: 'int16', size: 2 }],
  [0x0c, { dtype: 'int32', size: 4 }],
  [0x0d, { dtype: 'float32', size: 4 }],
  [0x0e, { dtype: 'float64', size: 8 }],
]);

const VALID_CODES = '0x08 (uint8), 0x09 (int8), 0x0B (int16), 0x0C (int32), 0x0D (float32), 0x0E (float64)';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const hex = (v: number, digits: number): string => `0x${v.toString(16).toUpperCase().padStart(digits, '0')}`;

/** True when `bytes` start with the gzip magic number 0x1F 0x8B (RFC 1952). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Number of header bytes needed to know the header's length: 4, then 4 + 4 * rank. */
function headerLengthNeeded(bytes: Uint8Array): number {
  return bytes.length < 4 ? 4 : 4 + 4 * bytes[3];
}

/**
 * Parses and validates an IDX header: magic number, dtype code, rank, and the payload size the
 * dimensions declare (product(shape) * element size, checked against `maxBytes` without overflow).
 *
 * @param bytes at least the header; more is ignored.
 * @throws FormatError for gzip data, a bad magic number, an unknown dtype code, rank 0, a header
 *   cut short, or dimensions declaring more than `maxBytes` bytes.
 */
export function parseIdxHeader(bytes: Uint8Array, options: IdxReadOptions = {}): IdxHeader {
  const source = options.source ?? 'IDX data';
  const maxBytes = options.maxBytes ?? IDX_DEFAULT_MAX_BYTES;
  if (isGzip(bytes)) {
    throw new FormatError({
      source,
      problem: 'data is gzip-compressed',
      expected: 'uncompressed IDX bytes here (decodeIdx and readIdxFile decompress gzip)',
    });
  }
  if (bytes.length < 4) {
    throw new FormatError({
      source,
      problem: `truncated header: ${bytes.length} bytes`,
      expected: 'at least 4 bytes (magic 0x0000, dtype code, rank)',
    });
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = (bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3];
    throw new FormatError({
      source,
      problem: `bad magic number ${hex(magic >>> 0, 8)} (not an IDX file)`,
      expected: '0x0000 followed by a dtype code and a rank, e.g. 0x00000803 for MNIST images',
    });
  }
  const code = DTYPE_CODES.get(bytes[2]);
  if (!code) {
    throw new FormatError({
      source,
      problem: `unknown dtype code ${hex(bytes[2], 2)}`,
      expected: VALID_CODES,
    });
  }
  const rank = bytes[3];
  if (rank === 0) {
    throw new FormatError({ source, problem: 'rank 0', expected: 'a rank between 1 and 255' });
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new FormatError({
      source,
      problem: `truncated header: ${bytes.length} bytes`,
      expected: `${headerBytes} bytes for rank ${rank}`,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  // Multiply step by step and stop as soon as the limit is passed: no overflow past 2^53.
  let payloadBytes = code.size;
  let overLimit = false;
  for (const d of shape) {
    payloadBytes *= d;
    if (payloadBytes > maxBytes) overLimit = true;
    if (overLimit && payloadBytes > 0) break;
  }
  // A zero dimension makes the payload empty whatever the others say.
  if (shape.includes(0)) {
    payloadBytes = 0;
    overLimit = false;
  }
  if (overLimit) {
    const exact = shape.reduce((a, d) => a * BigInt(d), BigInt(code.size));
    throw new FormatError({
      source,
      problem: `dimensions [${shape.join(', ')}] of ${code.dtype} declare ${exact} bytes of data`,
      expected: `at most ${maxBytes} bytes (option maxBytes)`,
    });
  }
  return { dtype: code.dtype, shape, headerBytes, payloadBytes };
}

/** Turns an exactly sized, freshly allocated big-endian payload into a native typed array, in place. */
function decodePayload(payload: Uint8Array, dtype: IdxDtype): IdxData {
  if (dtype === 'uint8') return payload;
  if (dtype === 'int8') return new Int8Array(payload.buffer, payload.byteOffset, payload.length);
  const size = dtype === 'int16' ? 2 : dtype === 'float64' ? 8 : 4;
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < payload.length; i += size) {
      for (let a = i, b = i + size - 1; a < b; a++, b--) {
        const t = payload[a];
        payload[a] = payload[b];
        payload[b] = t;
      }
    }
  }
  const n = payload.length / size;
  switch (dtype) {
    case 'int16':
      return new Int16Array(payload.buffer, payload.byteOffset, n);
    case 'int32':
      return new Int32Array(payload.buffer, payload.byteOffset, n);
    case 'float32':
      return new Float32Array(payload.buffer, payload.byteOffset, n);
    default:
      return new Float64Array(payload.buffer, payload.byteOffset, n);
  }
}

function lengthError(source: string, header: IdxHeader, payloadHeld: number, atLeast = false): FormatError {
  const declared = header.payloadBytes;
  const what =
    payloadHeld < declared
      ? `truncated: ${payloadHeld} bytes of data after the header`
      : `${atLeast ? 'at least ' : ''}${payloadHeld - declared} extra bytes after the data`;
  return new FormatError({
    source,
    problem: what,
    expected: `exactly ${declared} bytes for shape [${header.shape.join(', ')}] of ${header.dtype}`,
  });
}

/**
 * Decodes an uncompressed IDX file held in memory. The payload is copied into a fresh buffer.
 *
 * @example
 * ```ts
 * const { shape, data } = lq.data.parseIdx(bytes, { source: 'labels.idx1' }); // shape [n]
 * ```
 * @throws FormatError for any malformed header (see {@link parseIdxHeader}), and when the bytes
 *   after the header are fewer or more than the header declares.
 */
export function parseIdx(bytes: Uint8Array, options: IdxReadOptions = {}): IdxArray {
  const source = options.source ?? 'IDX data';
  const header = parseIdxHeader(bytes, options);
  const held = bytes.length - header.headerBytes;
  if (held !== header.payloadBytes) throw lengthError(source, header, held);
  const payload = bytes.slice(header.headerBytes);
  return { dtype: header.dtype, shape: header.shape, data: decodePayload(payload, header.dtype) };
}

interface StreamChecks {
  source: string;
  maxBytes: number;
  /** Size of the gzip stream, for the deflate ratio bound. */
  compressedBytes?: number;
  /** ISIZE from the gzip trailer: uncompressed length mod 2^32. */
  isize?: number;
  /** Whether lowbit inflates the stream itself (for the wording of stream errors). */
  gzip?: boolean;
}

/**
 * Reads decompressed IDX bytes from a stream of chunks: collects the header, validates it, checks
 * it against what the gzip container can hold, then allocates exactly the payload and fills it.
 */
async function assemble(chunks: AsyncIterable<Uint8Array>, checks: StreamChecks): Promise<IdxArray> {
  const { source } = checks;
  const head = new Uint8Array(4 + 4 * 255);
  let headLength = 0;
  let header: IdxHeader | null = null;
  let payload: Uint8Array | null = null;
  let filled = 0;

  const startPayload = (h: IdxHeader): Uint8Array => {
    const total = h.headerBytes + h.payloadBytes;
    if (checks.compressedBytes !== undefined && total > MAX_DEFLATE_RATIO * checks.compressedBytes) {
      throw new FormatError({
        source,
        problem: `header declares ${total} bytes, more than ${checks.compressedBytes} bytes of gzip can hold`,
        expected: `at most ${MAX_DEFLATE_RATIO} times the compressed size`,
      });
    }
    if (checks.isize !== undefined && total % 2 ** 32 !== checks.isize) {
      throw new FormatError({
        source,
        problem: `the gzip trailer records ${checks.isize} uncompressed bytes but the IDX header declares ${total} (${
          checks.isize < total ? 'truncated' : `${checks.isize - total} extra bytes after the data`
        })`,
        expected: `a gzip stream of exactly ${total} bytes for shape [${h.shape.join(', ')}] of ${h.dtype}`,
      });
    }
    return new Uint8Array(h.payloadBytes);
  };

  try {
    for await (const chunk of chunks) {
      let offset = 0;
      while (header === null && offset < chunk.length) {
        const need = headerLengthNeeded(head.subarray(0, headLength));
        const take = Math.min(need - headLength, chunk.length - offset);
        head.set(chunk.subarray(offset, offset + take), headLength);
        headLength += take;
        offset += take;
        if (headLength >= 4 && headLength === headerLengthNeeded(head.subarray(0, headLength))) {
          header = parseIdxHeader(head.subarray(0, headLength), { source, maxBytes: checks.maxBytes });
          payload = startPayload(header);
        } else if (headLength === 4) {
          // Validate magic and dtype as soon as they are known, so garbage fails fast.
          parseIdxHeaderPrefix(head.subarray(0, 4), source);
        }
      }
      if (header === null || payload === null || offset >= chunk.length) continue;
      const rest = chunk.length - offset;
      if (filled + rest > payload.length) throw lengthError(source, header, filled + rest, true);
      payload.set(chunk.subarray(offset), filled);
      filled += rest;
    }
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError({
      source,
      problem: `${checks.gzip ? 'corrupt or truncated gzip data' : 'the stream failed'} (${(e as Error).message})`,
      expected: checks.gzip ? 'a complete gzip stream' : 'a readable stream of IDX bytes',
    });
  }
  if (header === null || payload === null) {
    // Reuse the header parser's messages for a header cut short.
    parseIdxHeader(head.subarray(0, headLength), { source, maxBytes: checks.maxBytes });
    throw new FormatError({ source, problem: 'truncated header', expected: 'a complete IDX header' });
  }
  if (filled !== payload.length) throw lengthError(source, header, filled);
  return { dtype: header.dtype, shape: header.shape, data: decodePayload(payload, header.dtype) };
}

/** Validates magic and dtype code of the first 4 bytes (rank 0 included). */
function parseIdxHeaderPrefix(first4: Uint8Array, source: string): void {
  if (first4[3] === 0 || first4[0] !== 0 || first4[1] !== 0 || !DTYPE_CODES.has(first4[2])) {
    parseIdxHeader(first4, { source });
  }
}

/**
 * Decodes uncompressed IDX bytes arriving as a stream of chunks of any size (e.g. a fetch body
 * piped through `DecompressionStream`). The header is validated as soon as it is complete; only
 * then is the payload buffer allocated, and the stream must end exactly at the payload's end.
 *
 * @example
 * ```ts
 * const res = await fetch('train-labels-idx1-ubyte.gz');
 * const body = res.body!.pipeThrough(new DecompressionStream('gzip'));
 * const labels = await lq.data.decodeIdxStream(body, { source: res.url });
 * ```
 * @throws FormatError as {@link parseIdx}; errors of the stream itself become FormatErrors too.
 */
export function decodeIdxStream(
  chunks: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  options: IdxReadOptions = {},
): Promise<IdxArray> {
  const iterable =
    Symbol.asyncIterator in chunks ? chunks : readerChunks(chunks as ReadableStream<Uint8Array>);
  return assemble(iterable as AsyncIterable<Uint8Array>, {
    source: options.source ?? 'IDX data',
    maxBytes: options.maxBytes ?? IDX_DEFAULT_MAX_BYTES,
  });
}

async function* readerChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The gzip trailer's ISIZE field: the uncompressed length mod 2^32, little-endian (RFC 1952). */
function gzipIsize(bytes: Uint8Array): number | undefined {
  if (bytes.length < 18) return undefined; // shorter than an empty gzip member: let inflate fail
  const n = bytes.length;
  return (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
}

async function* gunzipWeb(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  const input = new ReadableStream<BufferSource>({
    start(controller) {
      controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      controller.close();
    },
  });
  yield* readerChunks(input.pipeThrough<Uint8Array>(new DecompressionStream('gzip')));
}

/**
 * Decodes an IDX file held in memory, gzip-compressed or not (detected by the gzip magic number).
 * Gzip data is inflated with the standard `DecompressionStream` (browsers, Node 18+), streaming into
 * a buffer allocated only once the header has been validated against the gzip trailer.
 *
 * @example
 * ```ts
 * const bytes = new Uint8Array(await (await fetch('t10k-labels-idx1-ubyte.gz')).arrayBuffer());
 * const labels = await lq.data.decodeIdx(bytes, { source: 't10k-labels' });
 * ```
 * @throws FormatError for a malformed header, corrupt gzip data, or a payload of the wrong length.
 */
export async function decodeIdx(bytes: Uint8Array, options: IdxReadOptions = {}): Promise<IdxArray> {
  if (!isGzip(bytes)) return parseIdx(bytes, options);
  return assemble(gunzipWeb(bytes), {
    source: options.source ?? 'IDX data',
    maxBytes: options.maxBytes ?? IDX_DEFAULT_MAX_BYTES,
    compressedBytes: bytes.length,
    isize: gzipIsize(bytes),
    gzip: true,
  });
}

type Fs = typeof import('node:fs');
type Zlib = typeof import('node:zlib');

/**
 * Reads an IDX file from disk (Node only), gzip-compressed or not (detected by content, not by
 * name). An uncompressed file's size must equal header + payload before anything is allocated; a
 * gzip file is inflated with Node's zlib as a stream into an exactly sized buffer.
 *
 * @example
 * ```ts
 * const images = await lq.data.readIdxFile('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
 * images.shape; // [10000, 28, 28]
 * ```
 * @throws FormatError (naming the path) for a malformed, truncated or oversized file; the usual
 *   Node error when the file cannot be opened.
 */
export async function readIdxFile(path: string, options: IdxReadOptions = {}): Promise<IdxArray> {
  const fs = await importNode<Fs>('fs', 'readIdxFile');
  const source = options.source ?? path;
  const maxBytes = options.maxBytes ?? IDX_DEFAULT_MAX_BYTES;
  const handle = await fs.promises.open(path, 'r');
  let size: number;
  let gzip: boolean;
  let isize: number | undefined;
  try {
    size = (await handle.stat()).size;
    const first = new Uint8Array(Math.min(size, 4 + 4 * 255));
    await handle.read(first, 0, first.length, 0);
    gzip = isGzip(first);
    if (!gzip) {
      const header = parseIdxHeader(first.subarray(0, Math.min(first.length, headerLengthNeeded(first))), {
        source,
        maxBytes,
      });
      const held = size - header.headerBytes;
      if (held !== header.payloadBytes) throw lengthError(source, header, held);
      const payload = new Uint8Array(header.payloadBytes);
      let filled = 0;
      while (filled < payload.length) {
        const { bytesRead } = await handle.read(
          payload,
          filled,
          payload.length - filled,
          header.headerBytes + filled,
        );
        if (bytesRead === 0) throw lengthError(source, header, filled);
        filled += bytesRead;
      }
      return { dtype: header.dtype, shape: header.shape, data: decodePayload(payload, header.dtype) };
    }
    if (size >= 18) {
      const trailer = new Uint8Array(4);
      await handle.read(trailer, 0, 4, size - 4);
      isize = new DataView(trailer.buffer).getUint32(0, true);
    }
  } finally {
    await handle.close();
  }
  const zlib = await importNode<Zlib>('zlib', 'readIdxFile');
  // 1 MiB chunks: with the default 16 KiB the stream took 1.7x the time of gunzipSync (bench/data-load.ts).
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
  const input = fs.createReadStream(path, { highWaterMark: 1 << 20 });
  input.on('error', (e) => gunzip.destroy(e));
  input.pipe(gunzip);
  try {
    return await assemble(gunzip as AsyncIterable<Uint8Array>, {
      source,
      maxBytes,
      compressedBytes: size,
      isize,
    });
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

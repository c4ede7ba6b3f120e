import type { Constant, FloatTransform, GraphNode, OutputTransform, ValueInfo } from '../ir.js';
import { popcount32 } from '../reference/bits.js';
import { sizeOf, windowAxis, wordsFor } from '../shapes.js';
import type { Kernels } from './kernels.js';

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/** Round up to a multiple of `align` words (4 = 16 bytes: one v128, two u64). */
export function roundWords(words: number, align = 4): number {
  return Math.ceil(words / align) * align;
}

/** A transform with its tables placed in wasm memory. */
export type PlacedTransform =
  | { kind: 'float'; mult: number; bias: number; dlo: number; dhi: number; ylo: number; yhi: number }
  | { kind: 'bits'; sign: number; thr: number; accFlip: number; accThr: number };

/**
 * The bit test sign * dot < thr on the popcount acc itself (dot = K - 2 acc, acc in [0, K]):
 * bit = (acc ^ accFlip) > accThr, with no multiply: for sign 1, accFlip = 0 and accThr = floor((K -
 * thr) / 2); for sign -1, -acc > t with t = -ceil((K + thr) / 2) is acc ^ -1 = -acc - 1 > t - 1, so
 * accFlip = -1 and accThr = t - 1; for sign 0 the constant (0 < thr) as acc > -1 or acc > K. Clamped to
 * [-K - 2, K] (every value outside decides the same for every acc), so int32 arithmetic is exact.
 */
export function accThresholds(
  sign: Int32Array,
  thr: Int32Array,
  k: number,
): { accFlip: Int32Array; accThr: Int32Array } {
  const accThr = new Int32Array(sign.length);
  const accFlip = new Int32Array(sign.length);
  for (let c = 0; c < sign.length; c++) {
    const t =
      sign[c] === 1
        ? Math.floor((k - thr[c]) / 2)
        : sign[c] === -1
          ? -Math.ceil((k + thr[c]) / 2) - 1
          : 0 < thr[c]
            ? -1
            : k;
    accFlip[c] = sign[c] === -1 ? -1 : 0;
    accThr[c] = Math.min(k, Math.max(-k - 2, t));
  }
  return { accFlip, accThr };
}

function placeTransform(
  k: Kernels,
  t: OutputTransform,
  channels: number,
  constants: Record<string, Constant>,
  kk = 0,
): PlacedTransform {
  if (t.kind === 'bits') {
    const sign = constants[t.sign].data as Int32Array;
    const thr = constants[t.threshold].data as Int32Array;
    const a = accThresholds(sign, thr, kk);
    return {
      kind: 'bits',
      sign: k.put(sign),
      thr: k.put(thr),
      accFlip: k.put(a.accFlip),
      accThr: k.put(a.accThr),
    };
  }
  const f = t as FloatTransform;
  const mult = f.multiplier
    ? (constants[f.multiplier].data as Float32Array)
    : new Float32Array(channels).fill(1);
  const bias = f.bias ? (constants[f.bias].data as Float32Array) : new Float32Array(channels);
  return {
    kind: 'float',
    mult: k.put(mult),
    bias: k.put(bias),
    dlo: f.dotClamp?.[0] ?? I32_MIN,
    dhi: f.dotClamp?.[1] ?? I32_MAX,
    ylo: f.outClamp?.[0] ?? Number.NEGATIVE_INFINITY,
    yhi: f.outClamp?.[1] ?? Number.POSITIVE_INFINITY,
  };
}

/** Geometry of a 2D window op on a known input shape [H, W, C]. */
export interface Geometry {
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  padTop: number;
  padLeft: number;
}

function geometry(
  inShape: number[],
  kernel: [number, number],
  strides: [number, number],
  dil: [number, number],
  padding: 'valid' | 'same',
): Geometry {
  const [h, w, c] = inShape;
  const ay = windowAxis(h, kernel[0], strides[0], dil[0], padding);
  const ax = windowAxis(w, kernel[1], strides[1], dil[1], padding);
  return { h, w, c, oh: ay.out, ow: ax.out, padTop: ay.padBefore, padLeft: ax.padBefore };
}

/** A binary conv2d ready to run: weights as GEMM rows of `rowWords` words, zero-padding corrections. */
export interface PreparedBConv {
  op: 'bconv2d';
  node: Extract<GraphNode, { op: 'bconv2d' }>;
  g: Geometry;
  cw: number;
  rowWords: number;
  /** True when the input pixels are already the GEMM rows (1x1 kernel, stride 1). */
  pointwise: boolean;
  k: number;
  weights: number;
  corr: number;
  transform: PlacedTransform;
}

/** A binary dense ready to run. */
export interface PreparedBDense {
  op: 'bdense';
  node: Extract<GraphNode, { op: 'bdense' }>;
  inWords: number;
  rowWords: number;
  k: number;
  weights: number;
  transform: PlacedTransform;
}

/** A float conv2d or dense ready to run: weights as a float [K, ldb] matrix. */
export interface PreparedFloatMatmul {
  op: 'conv2d' | 'dense';
  node: Extract<GraphNode, { op: 'conv2d' | 'dense' }>;
  g: Geometry | null;
  k: number;
  ldb: number;
  weights: number;
  /** Dense with packed +-1 weights only: the packed rows [units, ceil(K / 32)] for denseSigns; 0 otherwise. */
  packed: number;
  /** Tables of denseU8 when this dense reads the graph's 8-bit input (set by the Net), or null. */
  u8: { idx: number; colsum: number } | null;
  /** convPoolU8's weights (i16 [K, ldb16]) and conv bias when this conv reads the graph's 8-bit input, or null. */
  u8conv: { weights: number; cbias: number; ldb16: number } | null;
  /** Every multiplier of the transform is > 0 (finite): the transform is non-decreasing. */
  monotone: boolean;
  transform: PlacedTransform & { kind: 'float' };
}

/**
 * Any other node; an affine node carries its multiplier and bias in wasm memory (and, in the BatchNorm
 * form, its mean and divisor; else 0).
 */
export interface PreparedOther {
  op: 'other';
  node: GraphNode;
  g: Geometry | null;
  affine?: { mult: number; bias: number; mean: number; divisor: number };
}

/** A node with its tables placed, as the runtime executes it. */
export type PreparedNode = PreparedBConv | PreparedBDense | PreparedFloatMatmul | PreparedOther;

/**
 * Zero-padding correction of a binary conv (padValue 0) for one-padded im2col: for output pixel p and
 * channel o, corr[p, o] = sum over taps t of the window outside the input of (Cin - 2 popcount(w[o, t])),
 * the +-1 sum of the filter's weights on padded taps. One-padding adds exactly this to the dot product,
 * so dot_zero = dot_one - corr.
 */
export function zeroPadCorrection(
  w: Uint32Array,
  g: Geometry,
  node: {
    kernelSize: [number, number];
    strides: [number, number];
    dilations: [number, number];
    filters: number;
  },
): Int32Array {
  const [kh, kw] = node.kernelSize;
  const cw = wordsFor(g.c);
  const cout = node.filters;
  const tapSum = new Int32Array(cout * kh * kw);
  for (let t = 0; t < cout * kh * kw; t++) {
    let pc = 0;
    for (let i = 0; i < cw; i++) pc += popcount32(w[t * cw + i]);
    tapSum[t] = g.c - 2 * pc;
  }
  const corr = new Int32Array(g.oh * g.ow * cout);
  for (let oy = 0; oy < g.oh; oy++)
    for (let ox = 0; ox < g.ow; ox++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const iy = oy * node.strides[0] - g.padTop + ky * node.dilations[0];
          const ix = ox * node.strides[1] - g.padLeft + kx * node.dilations[1];
          if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) continue;
          const p = (oy * g.ow + ox) * cout;
          for (let o = 0; o < cout; o++) corr[p + o] += tapSum[(o * kh + ky) * kw + kx];
        }
  return corr;
}

/** Copies rows of `inWords` words into rows of `outWords` words (zero tail). */
function relayRows(src: Uint32Array, rows: number, inWords: number, outWords: number): Uint32Array {
  const out = new Uint32Array(rows * outWords);
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * inWords, (r + 1) * inWords), r * outWords);
  return out;
}

/**
 * Places a node's weights and tables in wasm memory, in the layout its kernels read. Binary GEMM rows
 * are padded to `rowAlign` words: 2 (8 bytes) for the scalar popcount kernel, 4 (16 bytes) for SIMD.
 * With `shortScalar` (a calibrated strategy), rows of at most 64 bytes (8-byte aligned) are padded to
 * 2 words and run the scalar kernel whatever the strategy: its short-row kernels hold the row in
 * registers (bgemm.ts); rows of 65 to 128 bytes are padded to `midAlign` words, for the strategy
 * calibrated on 128-byte rows.
 */
export function prepareNode(
  k: Kernels,
  node: GraphNode,
  ins: ValueInfo[],
  constants: Record<string, Constant>,
  rowAlign: 2 | 4 = 4,
  shortScalar = false,
  midAlign: 2 | 4 = rowAlign,
): PreparedNode {
  // Rows of at most 16 words (64 bytes) for the scalar short-row kernels, of 17 to 32 words for the
  // strategy calibrated on 128-byte rows, longer ones for the main strategy (see Net).
  const align = (words: number) =>
    shortScalar && roundWords(words, 2) <= 16
      ? 2
      : shortScalar && roundWords(words, 4) <= 32
        ? midAlign
        : rowAlign;
  const x = ins[0];
  switch (node.op) {
    case 'bconv2d': {
      const g = geometry(x.shape, node.kernelSize, node.strides, node.dilations, node.padding);
      const cw = wordsFor(g.c);
      const [kh, kw] = node.kernelSize;
      const pointwise = kh === 1 && kw === 1 && node.strides[0] === 1 && node.strides[1] === 1;
      const rowWords = roundWords(kh * kw * cw, align(kh * kw * cw));
      const w = constants[node.weights].data as Uint32Array;
      const weights = k.put(relayRows(w, node.filters, kh * kw * cw, rowWords));
      const needsCorr = node.padValue === 0 && node.padding === 'same' && !pointwise;
      const corr = needsCorr ? k.put(zeroPadCorrection(w, g, node)) : 0;
      const transform = placeTransform(k, node.transform, node.filters, constants, kh * kw * g.c);
      return { op: 'bconv2d', node, g, cw, rowWords, pointwise, k: kh * kw * g.c, weights, corr, transform };
    }
    case 'bdense': {
      const c = x.shape[x.shape.length - 1];
      const inWords = sizeOf(x.shape.slice(0, -1)) * wordsFor(c);
      const rowWords = roundWords(inWords, align(inWords));
      const w = constants[node.weights].data as Uint32Array;
      const weights = k.put(relayRows(w, node.units, inWords, rowWords));
      const transform = placeTransform(k, node.transform, node.units, constants, sizeOf(x.shape));
      return { op: 'bdense', node, inWords, rowWords, k: sizeOf(x.shape), weights, transform };
    }
    case 'conv2d':
    case 'dense': {
      const units = node.op === 'conv2d' ? node.filters : node.units;
      const g =
        node.op === 'conv2d'
          ? geometry(x.shape, node.kernelSize, node.strides, node.dilations, node.padding)
          : null;
      const kk =
        node.op === 'conv2d' ? node.kernelSize[0] * node.kernelSize[1] * x.shape[2] : sizeOf(x.shape);
      const ldb = roundWords(units);
      const b = new Float32Array(kk * ldb);
      const c = constants[node.weights];
      if (c.dtype === 'float32')
        for (let i = 0; i < kk; i++) b.set(c.data.subarray(i * units, (i + 1) * units), i * ldb);
      else {
        // Packed +-1 weights [units, ...] with ceil(cin/32) words per tap (conv) or per row (dense).
        const w = c.data as Uint32Array;
        const cin = node.op === 'conv2d' ? x.shape[2] : kk;
        const taps = kk / cin;
        const cw = wordsFor(cin);
        for (let o = 0; o < units; o++)
          for (let t = 0; t < taps; t++)
            for (let ci = 0; ci < cin; ci++)
              b[(t * cin + ci) * ldb + o] = (w[(o * taps + t) * cw + (ci >> 5)] >>> (ci & 31)) & 1 ? -1 : 1;
      }
      const weights = k.put(b);
      const packed = node.op === 'dense' && c.dtype === 'uint32' ? k.put(c.data as Uint32Array) : 0;
      const transform = placeTransform(k, node.transform, units, constants) as PlacedTransform & {
        kind: 'float';
      };
      const m = (node.transform as FloatTransform).multiplier;
      const monotone =
        m === undefined || (constants[m].data as Float32Array).every((v) => v > 0 && Number.isFinite(v));
      return {
        op: node.op,
        node,
        g,
        k: kk,
        ldb,
        weights,
        packed,
        u8: null,
        u8conv: null,
        monotone,
        transform,
      };
    }
    case 'maxpool2d':
    case 'avgpool2d':
      return { op: 'other', node, g: geometry(x.shape, node.kernelSize, node.strides, [1, 1], node.padding) };
    case 'affine': {
      const c = x.shape[x.shape.length - 1];
      const mult = node.multiplier
        ? (constants[node.multiplier].data as Float32Array)
        : new Float32Array(c).fill(1);
      const bias = node.bias ? (constants[node.bias].data as Float32Array) : new Float32Array(c);
      const mean = node.mean ? (constants[node.mean].data as Float32Array) : new Float32Array(c);
      const divisor = node.divisor ? k.put(constants[node.divisor].data as Float32Array) : 0;
      return {
        op: 'other',
        node,
        g: null,
        affine: {
          mult: k.put(mult),
          bias: k.put(bias),
          mean: divisor ? k.put(mean) : 0,
          divisor,
        },
      };
    }
    default:
      return { op: 'other', node, g: null };
  }
}

/**
 * The weights of a dense layer with packed +-1 weights [units, ceil(K / 32)] in denseU8's layout: for
 * each block of 16 outputs and each group of 4 inputs, the 16 outputs' weight nibbles (bit set = -1),
 * and the column sums sum_i w_ij = K - 2 popcount(row j).
 */
export function u8DenseTables(k: Kernels, packed: Uint32Array, kk: number, units: number) {
  const words = wordsFor(kk);
  const groups = Math.ceil(kk / 4);
  const blocks = Math.ceil(units / 16);
  const idx = new Uint8Array(blocks * groups * 16);
  for (let j = 0; j < units; j++) {
    const base = (j >> 4) * groups * 16 + (j & 15);
    for (let g = 0; g < groups; g++) {
      const bit = g * 4;
      idx[base + g * 16] = (packed[j * words + (bit >> 5)] >>> (bit & 31)) & 15;
    }
  }
  const pIdx = k.alloc(idx.length);
  new Uint8Array(k.memory.buffer, pIdx, idx.length).set(idx);
  return { idx: pIdx, colsum: k.put(weightSums(packed, kk, units)) };
}

/** The sums of the +-1 weights of each output of packed rows [units, ceil(K / 32)] (bit set = -1): K - 2 popcount(row). */
export function weightSums(packed: Uint32Array, kk: number, units: number): Int32Array {
  const words = wordsFor(kk);
  return Int32Array.from({ length: units }, (_, j) => {
    let pc = 0;
    for (let w = 0; w < words; w++) pc += popcount32(packed[j * words + w]);
    return kk - 2 * pc;
  });
}

/**
 * convPoolU8's layout of a conv's +-1 weights (read back from the float matrix [K, ldb] in memory):
 * i16 [K, ldb16] with ldb16 = units rounded up to 16, and cbias[u] = f32(offset * sum_t w_tu).
 */
export function u8ConvTables(k: Kernels, p: PreparedFloatMatmul, units: number, offset: number) {
  const ldb16 = Math.ceil(units / 16) * 16;
  const f = k.f32(p.weights, p.k * p.ldb);
  const w = new Int16Array(p.k * ldb16);
  const cbias = new Float32Array(ldb16);
  for (let t = 0; t < p.k; t++)
    for (let u = 0; u < units; u++) {
      w[t * ldb16 + u] = f[t * p.ldb + u];
      cbias[u] += f[t * p.ldb + u];
    }
  for (let u = 0; u < units; u++) cbias[u] = Math.fround(offset * cbias[u]);
  const pw = k.alloc(w.byteLength);
  new Int16Array(k.memory.buffer, pw, w.length).set(w);
  return { weights: pw, cbias: k.put(cbias), ldb16 };
}

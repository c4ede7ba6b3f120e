import type { Graph, GraphNode, Padding } from '../ir.js';
import { sizeOf, windowAxis, wordsFor } from '../shapes.js';
import type { ConvAttrs } from './binary.js';
import type { BitTensor, FloatTensor, Tensor } from './tensor.js';
import { applyTransform, type ResolvedFloatTransform } from './transform.js';

/** Reads weight (tap, ci, co) of a float conv whose kernel is float32 HWIO or packed signs [Cout, kh, kw, ceil(Cin/32)]. */
function convWeight(
  w: Float32Array | Uint32Array,
  tap: number,
  ci: number,
  co: number,
  cin: number,
  cout: number,
  taps: number,
): number {
  if (w instanceof Float32Array) return w[(tap * cin + ci) * cout + co];
  const cw = wordsFor(cin);
  return (w[(co * taps + tap) * cw + (ci >> 5)] >>> (ci & 31)) & 1 ? -1 : 1;
}

/**
 * Reference float conv2d (cross-correlation, as tfjs): dot = sum over taps and input channels of
 * x * w, where a tap outside the input holds `padValue`; accumulated in float64, then the float
 * output transform. Weights float32 [kh, kw, Cin, Cout] or +-1 packed [Cout, kh, kw, ceil(Cin/32)].
 */
export function conv2d(
  x: FloatTensor,
  weights: Float32Array | Uint32Array,
  a: ConvAttrs & { padValue: number },
  t: ResolvedFloatTransform,
): FloatTensor {
  const [n, h, w, cin] = x.shape;
  const [kh, kw] = a.kernelSize;
  const ay = windowAxis(h, kh, a.strides[0], a.dilations[0], a.padding);
  const ax = windowAxis(w, kw, a.strides[1], a.dilations[1], a.padding);
  const cout = a.filters;
  const dots = new Float64Array(n * ay.out * ax.out * cout);
  let r = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ay.out; oy++)
      for (let ox = 0; ox < ax.out; ox++, r++)
        for (let o = 0; o < cout; o++) {
          let dot = 0;
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * a.strides[0] - ay.padBefore + ky * a.dilations[0];
              const ix = ox * a.strides[1] - ax.padBefore + kx * a.dilations[1];
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
              for (let c = 0; c < cin; c++) {
                const xv = inside ? x.data[((b * h + iy) * w + ix) * cin + c] : a.padValue;
                dot += xv * convWeight(weights, ky * kw + kx, c, o, cin, cout, kh * kw);
              }
            }
          dots[r * cout + o] = dot;
        }
  return applyTransform(dots, [n, ay.out, ax.out, cout], t) as FloatTensor;
}

/** Reference float dense over the flattened sample: dot[n,u] = sum_k x[n,k] w[k,u]; weights float32 [K, units] or +-1 packed [units, ceil(K/32)]. */
export function dense(
  x: FloatTensor,
  weights: Float32Array | Uint32Array,
  units: number,
  t: ResolvedFloatTransform,
): FloatTensor {
  const n = x.shape[0];
  const k = sizeOf(x.shape.slice(1));
  const kw = wordsFor(k);
  const dots = new Float64Array(n * units);
  for (let b = 0; b < n; b++)
    for (let u = 0; u < units; u++) {
      let dot = 0;
      for (let i = 0; i < k; i++) {
        const wv =
          weights instanceof Float32Array
            ? weights[i * units + u]
            : (weights[u * kw + (i >> 5)] >>> (i & 31)) & 1
              ? -1
              : 1;
        dot += x.data[b * k + i] * wv;
      }
      dots[b * units + u] = dot;
    }
  return applyTransform(dots, [n, units], t) as FloatTensor;
}

/** Pooling window attributes. */
export interface PoolAttrs {
  kernelSize: [number, number];
  strides: [number, number];
  padding: Padding;
}

function pool(
  shape: number[],
  a: PoolAttrs,
  visit: (b: number, oy: number, ox: number, taps: number[]) => void,
): [number, number] {
  const [n, h, w] = shape;
  const ay = windowAxis(h, a.kernelSize[0], a.strides[0], 1, a.padding);
  const ax = windowAxis(w, a.kernelSize[1], a.strides[1], 1, a.padding);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ay.out; oy++)
      for (let ox = 0; ox < ax.out; ox++) {
        const taps: number[] = [];
        for (let ky = 0; ky < a.kernelSize[0]; ky++)
          for (let kx = 0; kx < a.kernelSize[1]; kx++) {
            const iy = oy * a.strides[0] - ay.padBefore + ky;
            const ix = ox * a.strides[1] - ax.padBefore + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) taps.push((b * h + iy) * w + ix);
          }
        visit(b, oy, ox, taps);
      }
  return [ay.out, ax.out];
}

/**
 * Reference max pool over the taps inside the input (padding never wins, as in TensorFlow).
 * On packed bits: max of +-1 values is -1 only if all are -1, i.e. the AND of the sign bits.
 */
export function maxPool2d(x: Tensor, a: PoolAttrs): Tensor {
  const [n, h, w, c] = x.shape;
  const ay = windowAxis(h, a.kernelSize[0], a.strides[0], 1, a.padding);
  const ax = windowAxis(w, a.kernelSize[1], a.strides[1], 1, a.padding);
  const shape = [n, ay.out, ax.out, c];
  if (x.kind === 'bits') {
    const cw = wordsFor(c);
    const out = new Uint32Array(n * ay.out * ax.out * cw);
    let p = 0;
    pool(x.shape, a, (_b, _y, _x, taps) => {
      for (let k = 0; k < cw; k++) {
        let v = 0xffffffff;
        for (const t of taps) v &= x.data[t * cw + k];
        out[p * cw + k] = v;
      }
      p++;
    });
    return { kind: 'bits', shape, data: out } satisfies BitTensor;
  }
  const out = new Float32Array(n * ay.out * ax.out * c);
  let p = 0;
  pool(x.shape, a, (_b, _y, _x, taps) => {
    for (let k = 0; k < c; k++) {
      let v = Number.NEGATIVE_INFINITY;
      for (const t of taps) v = Math.max(v, x.data[t * c + k]);
      out[p * c + k] = v;
    }
    p++;
  });
  return { kind: 'float', shape, data: out };
}

/** Reference average pool: mean over the taps inside the input ('same' padding does not count padded taps, as tfjs). */
export function avgPool2d(x: FloatTensor, a: PoolAttrs): FloatTensor {
  const [n, h, w, c] = x.shape;
  const out: number[] = [];
  const [oh, ow] = pool([n, h, w], a, (_b, _y, _x, taps) => {
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (const t of taps) s += x.data[t * c + k];
      out.push(s / taps.length);
    }
  });
  return { kind: 'float', shape: [n, oh, ow, c], data: Float32Array.from(out) };
}

/** Reference global average pool: y[n,c] = mean over (h, w) of x[n,h,w,c]. */
export function globalAvgPool(x: FloatTensor): FloatTensor {
  const [n, h, w, c] = x.shape;
  const out = new Float32Array(n * c);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let p = 0; p < h * w; p++) s += x.data[(b * h * w + p) * c + k];
      out[b * c + k] = s / (h * w);
    }
  return { kind: 'float', shape: [n, c], data: out };
}

/** Flatten to [N, prod(rest)] (row-major NHWC order, as Keras's Flatten with channels last). */
export function flatten(x: FloatTensor): FloatTensor {
  return { kind: 'float', shape: [x.shape[0], sizeOf(x.shape.slice(1))], data: x.data.slice() };
}

/** Element-wise sum in float32, left to right: y = fround(fround(a + b) + c)... */
export function add(xs: FloatTensor[]): FloatTensor {
  const out = xs[0].data.slice();
  for (const x of xs.slice(1)) for (let i = 0; i < out.length; i++) out[i] = out[i] + x.data[i];
  return { kind: 'float', shape: [...xs[0].shape], data: out };
}

/** Concatenation along the last axis: y[..., offset_i + c] = x_i[..., c], offset_i = sum of earlier channel counts. */
export function concat(xs: FloatTensor[]): FloatTensor {
  const cs = xs.map((x) => x.shape[x.shape.length - 1]);
  const total = cs.reduce((a, b) => a + b, 0);
  const rows = xs[0].data.length / cs[0];
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let o = r * total;
    for (const [i, x] of xs.entries()) {
      out.set(x.data.subarray(r * cs[i], (r + 1) * cs[i]), o);
      o += cs[i];
    }
  }
  return { kind: 'float', shape: [...xs[0].shape.slice(0, -1), total], data: out };
}

/**
 * Per-channel affine map in float32: y = fround(fround(x * m[c]) + b[c]) (a folded BatchNorm); with
 * `divisor`, the BatchNorm form of AffineNode (see batchNormValue).
 */
export function affine(
  x: FloatTensor,
  m?: Float32Array,
  bias?: Float32Array,
  mean?: Float32Array,
  divisor?: Float32Array,
): FloatTensor {
  const c = x.shape[x.shape.length - 1];
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++)
    out[i] = divisor
      ? batchNormValue(x.data[i], m?.[i % c] ?? 1, bias?.[i % c] ?? 0, mean?.[i % c] ?? 0, divisor[i % c])
      : Math.fround(x.data[i] * (m?.[i % c] ?? 1)) + (bias?.[i % c] ?? 0);
  return { kind: 'float', shape: [...x.shape], data: out };
}

/**
 * One value of the BatchNorm form of AffineNode, as tfjs-backend-wasm 4.22's FusedBatchNorm kernel
 * computes it (float32 operands; its normalization factor is a float64 vector, so the quotient and the
 * sum are float64 and the result is rounded to float32 once):
 * y = f32(beta + f32(f32(x - mean) * gamma) / divisor), divisor = f32(sqrt(f32(variance + epsilon))).
 */
export function batchNormValue(
  x: number,
  gamma: number,
  beta: number,
  mean: number,
  divisor: number,
): number {
  return Math.fround(beta + Math.fround(Math.fround(x - mean) * gamma) / divisor);
}

/**
 * The float32 value that a chain of affine and relu nodes (max-pools are skipped: they commute with
 * it, see optimizeGraph) gives channel c's value y, rounded as the engine's kernels (and tfjs) round:
 * the BatchNorm form as batchNormValue, a plain affine as f32(f32(y m) + b), relu as y > 0 ? y : 0.
 */
export function chainValue(graph: Graph, chain: readonly GraphNode[], c: number, y: number): number {
  for (const n of chain) {
    if (n.op === 'affine' && n.divisor)
      y = batchNormValue(
        y,
        constant(graph, n.multiplier)?.[c] ?? 1,
        constant(graph, n.bias)?.[c] ?? 0,
        constant(graph, n.mean)?.[c] ?? 0,
        constant(graph, n.divisor)![c],
      );
    else if (n.op === 'affine')
      y = Math.fround(
        Math.fround(y * (constant(graph, n.multiplier)?.[c] ?? 1)) + (constant(graph, n.bias)?.[c] ?? 0),
      );
    else if (n.op === 'relu') y = y > 0 ? y : 0;
  }
  return y;
}

function constant(graph: Graph, name: string | undefined): Float32Array | undefined {
  return name ? (graph.constants[name].data as Float32Array) : undefined;
}

/** y = max(x, 0); -0 and NaN give 0. */
export function relu(x: FloatTensor): FloatTensor {
  return { kind: 'float', shape: [...x.shape], data: x.data.map((v) => (v > 0 ? v : 0)) };
}

/** Softmax over the last axis: y_i = exp(x_i - max_j x_j) / sum_j exp(x_j - max_j x_j), in float64. */
export function softmax(x: FloatTensor): FloatTensor {
  const c = x.shape[x.shape.length - 1];
  const out = new Float32Array(x.data.length);
  for (let r = 0; r < x.data.length / c; r++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < c; i++) m = Math.max(m, x.data[r * c + i]);
    let s = 0;
    for (let i = 0; i < c; i++) s += Math.exp(x.data[r * c + i] - m);
    for (let i = 0; i < c; i++) out[r * c + i] = Math.exp(x.data[r * c + i] - m) / s;
  }
  return { kind: 'float', shape: [...x.shape], data: out };
}

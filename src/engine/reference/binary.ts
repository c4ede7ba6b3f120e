import type { Padding } from '../ir.js';
import { sizeOf, windowAxis, wordsFor } from '../shapes.js';
import { popcount32 } from './bits.js';
import type { BitTensor, Tensor } from './tensor.js';
import { applyTransform, type ResolvedTransform } from './transform.js';

/** Attributes of a binary (or float) 2D convolution. */
export interface ConvAttrs {
  kernelSize: [number, number];
  strides: [number, number];
  dilations: [number, number];
  padding: Padding;
  filters: number;
}

/**
 * Reference binary conv2d, written directly from the definition (no im2col, no padding trick):
 * dot[n,y,x,o] = sum over taps (ky,kx) inside the input of (Cin - 2 popcount(x_tap XOR w_tap))
 *              + [padValue = 1] sum over taps outside the input of (Cin - 2 popcount(w_tap)),
 * i.e. the +-1 dot product where a padded tap holds +1 (padValue 1) or 0 (padValue 0), then the
 * output transform. Weights: packed uint32 [Cout, kh, kw, ceil(Cin/32)].
 * (XNOR-Net, Rastegari et al. 2016; LCE's bconv2d.)
 */
export function bconv2d(
  x: BitTensor,
  weights: Uint32Array,
  a: ConvAttrs & { padValue: 0 | 1 },
  t: ResolvedTransform,
): Tensor {
  const [n, h, w, cin] = x.shape;
  const cw = wordsFor(cin);
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
              const wOff = ((o * kh + ky) * kw + kx) * cw;
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
              if (!inside && a.padValue === 0) continue;
              const xOff = ((b * h + iy) * w + ix) * cw;
              let mism = 0;
              for (let k = 0; k < cw; k++)
                mism += popcount32((inside ? x.data[xOff + k] : 0) ^ weights[wOff + k]);
              dot += cin - 2 * mism;
            }
          dots[r * cout + o] = dot;
        }
  return applyTransform(dots, [n, ay.out, ax.out, cout], t);
}

/**
 * Reference binary dense: dot[n,u] = K - 2 popcount(x_n XOR w_u) over all packed words of a sample
 * (per-pixel word padding is 0 in both, so it adds no mismatches), K = product of the input's
 * non-batch dims. Weights: packed uint32 [units, ...inner dims, ceil(C/32)].
 */
export function bdense(x: BitTensor, weights: Uint32Array, units: number, t: ResolvedTransform): Tensor {
  const n = x.shape[0];
  const k = sizeOf(x.shape.slice(1));
  const rowWords = x.data.length / n;
  const dots = new Float64Array(n * units);
  for (let b = 0; b < n; b++)
    for (let u = 0; u < units; u++) {
      let mism = 0;
      for (let i = 0; i < rowWords; i++)
        mism += popcount32(x.data[b * rowWords + i] ^ weights[u * rowWords + i]);
      dots[b * units + u] = k - 2 * mism;
    }
  return applyTransform(dots, [n, units], t);
}

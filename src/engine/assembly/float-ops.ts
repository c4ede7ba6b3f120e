// Memory-bound float ops on NHWC float32 data, written to give bit-for-bit the reference's results:
// sums that the reference keeps in float64 are kept in f64 here too, in the same order.

/** Max pool over the taps inside the input (padding never wins); f32x4.max keeps Math.max's NaN rule. */
export function maxPoolF32(
  src: usize, dst: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
): void {
  const c4 = c & ~3;
  const ninf = f32x4.splat(-Infinity);
  let q = dst;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let k = 0;
        for (; k < c4; k += 4) v128.store(q + <usize>k * 4, ninf);
        for (; k < c; k++) store<f32>(q + <usize>k * 4, -Infinity);
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - padTop + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - padLeft + kx;
            if (ix < 0 || ix >= w) continue;
            const p = src + (<usize>((b * h + iy) * w + ix) * c) * 4;
            k = 0;
            for (; k < c4; k += 4) {
              const o = q + <usize>k * 4;
              v128.store(o, f32x4.max(v128.load(o), v128.load(p + <usize>k * 4)));
            }
            for (; k < c; k++) {
              const o = q + <usize>k * 4;
              store<f32>(o, max(load<f32>(o), load<f32>(p + <usize>k * 4)));
            }
          }
        }
        q += <usize>c * 4;
      }
}

/** Average pool: mean (in f64) over the taps inside the input, as tfjs's 'same' average pooling. */
export function avgPoolF32(
  src: usize, dst: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
): void {
  let q = dst;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        for (let k = 0; k < c; k++) {
          let s: f64 = 0;
          let count = 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - padTop + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - padLeft + kx;
              if (ix < 0 || ix >= w) continue;
              s += <f64>load<f32>(src + (<usize>((b * h + iy) * w + ix) * c + k) * 4);
              count++;
            }
          }
          store<f32>(q + <usize>k * 4, <f32>(s / <f64>count));
        }
        q += <usize>c * 4;
      }
}

/** Global average pool [n, pixels, c] -> [n, c], f64 sums. */
export function globalAvgPoolF32(src: usize, dst: usize, n: i32, pixels: i32, c: i32): void {
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++) {
      let s: f64 = 0;
      for (let p = 0; p < pixels; p++) s += <f64>load<f32>(src + (<usize>(b * pixels + p) * c + k) * 4);
      store<f32>(dst + (<usize>b * c + k) * 4, <f32>(s / <f64>pixels));
    }
}

/** dst = a + b element-wise (f32). */
export function addF32(a: usize, b: usize, dst: usize, len: i32): void {
  let i = 0;
  for (; i + 3 < len; i += 4) {
    const o = <usize>i * 4;
    v128.store(dst + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < len; i++) {
    const o = <usize>i * 4;
    store<f32>(dst + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** y = f32(x * mult[k]) + bias[k] over rows of c channels (a folded BatchNorm). */
export function affineF32(src: usize, dst: usize, rows: i32, c: i32, mult: usize, bias: usize): void {
  for (let r = 0; r < rows; r++) {
    const p = <usize>r * c * 4;
    for (let k = 0; k < c; k++) {
      const o = p + <usize>k * 4;
      const y: f32 = load<f32>(src + o) * load<f32>(mult + <usize>k * 4);
      store<f32>(dst + o, y + load<f32>(bias + <usize>k * 4));
    }
  }
}

/** y = x > 0 ? x : 0 (NaN and -0 give 0). */
/** Bytes to floats by a table: dst[i] = table[src[i]] (table: f32 [256], e.g. f32(q * scale + offset)). */
export function dequantizeU8(src: usize, dst: usize, n: i32, table: usize): void {
  for (let i = 0; i < n; i++)
    store<f32>(dst + (<usize>i << 2), load<f32>(table + (<usize>load<u8>(src + <usize>i) << 2)));
}

export function reluF32(src: usize, dst: usize, len: i32): void {
  for (let i = 0; i < len; i++) {
    const x = load<f32>(src + <usize>i * 4);
    store<f32>(dst + <usize>i * 4, x > 0 ? x : 0);
  }
}

/**
 * The BatchNorm form of the affine op (tfjs-backend-wasm's FusedBatchNorm, operation for operation):
 * y = f32(f64(bias[k]) + f64(f32(f32(x - mean[k]) * mult[k])) / f64(divisor[k])), the quotient and the
 * sum in float64 and one rounding to float32 at the end. `rows` rows of `c` channels; f64x2 for the
 * division (4 channels per step), then a scalar tail.
 */
export function batchNormF32(
  src: usize, dst: usize, rows: i32, c: i32, mult: usize, bias: usize, mean: usize, divisor: usize,
): void {
  const c4 = c & ~3;
  for (let r = 0; r < rows; r++) {
    const p = <usize>r * c * 4;
    let k = 0;
    for (; k < c4; k += 4) {
      const o = p + <usize>k * 4;
      const q = <usize>k * 4;
      const t = f32x4.mul(f32x4.sub(v128.load(src + o), v128.load(mean + q)), v128.load(mult + q));
      const d = v128.load(divisor + q);
      const b = v128.load(bias + q);
      const lo = f64x2.add(
        f64x2.promote_low_f32x4(b),
        f64x2.div(f64x2.promote_low_f32x4(t), f64x2.promote_low_f32x4(d)),
      );
      const th = i32x4.shuffle(t, t, 2, 3, 0, 1);
      const dh = i32x4.shuffle(d, d, 2, 3, 0, 1);
      const bh = i32x4.shuffle(b, b, 2, 3, 0, 1);
      const hi = f64x2.add(
        f64x2.promote_low_f32x4(bh),
        f64x2.div(f64x2.promote_low_f32x4(th), f64x2.promote_low_f32x4(dh)),
      );
      v128.store(dst + o, i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
    for (; k < c; k++) {
      const o = p + <usize>k * 4;
      const q = <usize>k * 4;
      const t: f32 = (load<f32>(src + o) - load<f32>(mean + q)) * load<f32>(mult + q);
      store<f32>(dst + o, <f32>(<f64>load<f32>(bias + q) + <f64>t / <f64>load<f32>(divisor + q)));
    }
  }
}

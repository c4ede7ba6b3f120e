// Float GEMM for the float layers (first conv on real-valued input, last dense): c = a b with
// a [m, k] row-major, b [k, ldb] row-major (ldb a multiple of 4, zero columns past n), c [m, ldb].
// f32x4 SIMD over the output columns, 4 x 8 register tile.

export function sgemm(a: usize, b: usize, c: usize, m: i32, k: i32, ldb: i32): void {
  const rowB = <usize>ldb * 4;
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const a0 = a + (<usize>i * k) * 4;
    const a1 = a0 + <usize>k * 4;
    const a2 = a1 + <usize>k * 4;
    const a3 = a2 + <usize>k * 4;
    let j = 0;
    for (; j + 7 < ldb; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
      let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let pb = b + <usize>j * 4;
      for (let t = 0; t < k; t++) {
        const off = <usize>t * 4;
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        const x0 = f32x4.splat(load<f32>(a0 + off));
        const x1 = f32x4.splat(load<f32>(a1 + off));
        const x2 = f32x4.splat(load<f32>(a2 + off));
        const x3 = f32x4.splat(load<f32>(a3 + off));
        c00 = f32x4.add(c00, f32x4.mul(x0, b0)); c01 = f32x4.add(c01, f32x4.mul(x0, b1));
        c10 = f32x4.add(c10, f32x4.mul(x1, b0)); c11 = f32x4.add(c11, f32x4.mul(x1, b1));
        c20 = f32x4.add(c20, f32x4.mul(x2, b0)); c21 = f32x4.add(c21, f32x4.mul(x2, b1));
        c30 = f32x4.add(c30, f32x4.mul(x3, b0)); c31 = f32x4.add(c31, f32x4.mul(x3, b1));
        pb += rowB;
      }
      const q = c + (<usize>i * ldb + j) * 4;
      v128.store(q, c00); v128.store(q, c01, 16);
      v128.store(q + rowB, c10); v128.store(q + rowB, c11, 16);
      v128.store(q + 2 * rowB, c20); v128.store(q + 2 * rowB, c21, 16);
      v128.store(q + 3 * rowB, c30); v128.store(q + 3 * rowB, c31, 16);
    }
    for (; j < ldb; j += 4) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let pb = b + <usize>j * 4;
      for (let t = 0; t < k; t++) {
        const off = <usize>t * 4;
        const b0 = v128.load(pb);
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(a0 + off)), b0));
        c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(load<f32>(a1 + off)), b0));
        c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(load<f32>(a2 + off)), b0));
        c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(load<f32>(a3 + off)), b0));
        pb += rowB;
      }
      const q = c + (<usize>i * ldb + j) * 4;
      v128.store(q, c0); v128.store(q + rowB, c1); v128.store(q + 2 * rowB, c2); v128.store(q + 3 * rowB, c3);
    }
  }
  for (; i < m; i++) {
    const a0 = a + (<usize>i * k) * 4;
    for (let j = 0; j < ldb; j += 4) {
      let c0 = f32x4.splat(0);
      let pb = b + <usize>j * 4;
      for (let t = 0; t < k; t++) {
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(a0 + <usize>t * 4)), v128.load(pb)));
        pb += rowB;
      }
      v128.store(c + (<usize>i * ldb + j) * 4, c0);
    }
  }
}

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CLIPPED_GRADIENT, FLOAT32_EPSILON, fusedClippedGradient, signValue } from './elementwise-kernels.js';
import { heapKernelBytes, heapKernels, setHeapKernelsEnabled } from './heap-kernels.js';
import { HEAP_KERNELS_SOURCE_HASH } from './heap-kernels-binary.js';
import { isLowbitKernel, originalKernelFunc } from './index.js';
import { runOn, seededValues } from './testing.js';

const EDGES = [
  Number.NaN,
  0,
  -0,
  1e-8,
  -1e-8,
  FLOAT32_EPSILON / 2,
  -FLOAT32_EPSILON / 2,
  FLOAT32_EPSILON,
  -FLOAT32_EPSILON,
  1.5e-7,
  -1.5e-7,
  2,
  -3,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

describe('wasm Sign (branch-free override)', () => {
  it("gives tfjs-backend-cpu's values (0 for +-0 and NaN, else +-1), where the stock wasm kernel gives 0 for |x| < 2^-23", async () => {
    // Literal expectations for each entry of EDGES: the sign, 0 for NaN and +-0.
    expect(EDGES.map(signValue)).toEqual([0, 0, 0, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1]);
    const random = seededValues([37, 29], 3);
    const values = [...EDGES, ...random];
    const [got, stock] = await runOn('wasm', () => {
      const x = tf.tensor1d(values);
      const original = originalKernelFunc('Sign', 'wasm')!;
      const ref = original({ inputs: { x }, attrs: {}, backend: tf.backend() }) as tf.TensorInfo;
      return [tf.sign(x), tf.engine().makeTensorFromTensorInfo(ref)];
    });
    const [cpu] = await runOn('cpu', () => tf.sign(tf.tensor1d(values)));
    expect(isLowbitKernel('Sign', 'wasm')).toBe(true);
    expect(Array.from(got!)).toEqual(Array.from(cpu!));
    expect(Array.from(got!.slice(0, EDGES.length))).toEqual(EDGES.map(signValue));
    // The stock kernel differs exactly on the tiny nonzero values (|x| < 2^-23), and agrees elsewhere.
    const tiny = values.map((v) => v !== 0 && Math.abs(v) < FLOAT32_EPSILON);
    expect(tiny.filter(Boolean).length).toBe(4);
    values.forEach((_, i) => {
      if (tiny[i]) expect(stock![i]).toBe(0);
      else expect(stock![i]).toBe(got![i]);
    });
  });

  it("gives Larq's sign(sign(x) + 0.1) values: -1 for every x < 0, else +1 (NaN: +1)", async () => {
    const [q] = await runOn('wasm', () => tf.sign(tf.add(tf.sign(tf.tensor1d(EDGES)), 0.1)));
    expect(Array.from(q!)).toEqual([1, 1, 1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1]);
  });

  it('int32 input goes to the stock kernel', async () => {
    const [s] = await runOn('wasm', () => tf.cast(tf.sign(tf.tensor1d([-4, 0, 9], 'int32')), 'float32'));
    expect(Array.from(s!)).toEqual([-1, 0, 1]);
  });
});

describe('wasm Identity (shared buffer)', () => {
  it('a clone keeps its values after the original is disposed, and nothing leaks', async () => {
    await tf.setBackend('wasm');
    const before = tf.engine().backend.numDataIds();
    const x = tf.tensor2d([1, -2, 3, 4.5, 0, -0.25], [2, 3]);
    const y = tf.clone(x);
    expect(isLowbitKernel('Identity', 'wasm')).toBe(true);
    x.dispose();
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(await y.data())).toEqual([1, -2, 3, 4.5, 0, -0.25]);
    y.dispose();
    expect(tf.engine().backend.numDataIds()).toBe(before);
  });

  it('a variable assigned from a clone is independent of later assignments to the source', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const saved = tf.clone(v);
    v.assign(tf.tensor1d([7, 8, 9]));
    expect(Array.from(await saved.data())).toEqual([1, 2, 3]);
    expect(Array.from(await v.data())).toEqual([7, 8, 9]);
    tf.dispose([v, saved]);
  });
});

describe.each(['cpu', 'wasm'])('fused clipped STE gradient on %s', (backend) => {
  it('dy where |x| <= clip (edges included), +0 elsewhere and for NaN', async () => {
    const x = [-2, -1, -0.5, 0, -0, 0.5, 1, 1.0000001, Number.NaN, 3];
    const dy = [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10];
    const [g] = await runOn(backend, () => fusedClippedGradient(tf.tensor1d(x), tf.tensor1d(dy), 1)!);
    const got = Array.from(g!);
    expect(got).toEqual([0, -2, -3, -4, -5, -6, -7, 0, 0, 0]);
    // Masked entries are +0 (as tf.where(..., zerosLike(dy)) gives), not -0.
    expect(Object.is(got[0], 0) && Object.is(got[7], 0)).toBe(true);
  });

  it('equals the composed form and a hand loop for odd sizes and clip values', async () => {
    const shape = [37, 29];
    const xs = seededValues(shape, 11).map((v) => 1.3 * v);
    const dys = seededValues(shape, 12);
    dys[5] = Number.NaN;
    dys[6] = Number.POSITIVE_INFINITY;
    for (const clip of [1, 0.7, 2.5]) {
      const [fused, composed] = await runOn(backend, () => {
        const x = tf.tensor(xs, shape);
        const dy = tf.tensor(dys, shape);
        return [
          fusedClippedGradient(x, dy, clip)!,
          tf.where(tf.lessEqual(tf.abs(x), clip), dy, tf.zerosLike(dy)),
        ];
      });
      const c = Math.fround(clip);
      const hand = Array.from(xs, (v, i) => (Math.abs(v) <= c ? dys[i]! : 0));
      expect(Array.from(fused!)).toEqual(Array.from(composed!));
      expect(Array.from(fused!)).toEqual(hand);
    }
  });

  it('is registered under its own name; other dtypes or shapes fall back to ops (null)', async () => {
    await tf.setBackend(backend);
    expect(tf.getKernel(CLIPPED_GRADIENT, backend)).toBeDefined();
    const a = tf.tensor1d([1, 2]);
    const b = tf.tensor2d([1, 2], [1, 2]);
    const c = tf.tensor1d([1, 2], 'int32');
    expect(fusedClippedGradient(a, b, 1)).toBeNull();
    expect(fusedClippedGradient(c, a, 1)).toBeNull();
    tf.dispose([a, b, c]);
  });
});

describe('the SIMD heap-kernel module', () => {
  it('is built from the current source, has no data segment and touches no memory of its own', () => {
    const source = readFileSync(join(import.meta.dirname, 'assembly/heap-kernels.ts'));
    expect(createHash('sha256').update(source).digest('hex')).toBe(HEAP_KERNELS_SOURCE_HASH);
    // Section ids of each variant: 11 (data) would write into tfjs-backend-wasm's memory at
    // instantiation, 8 (start) would run code then; 6 (global) would mean state. None may be present.
    for (const shared of [false, true]) {
      const b = heapKernelBytes(shared);
      const ids: number[] = [];
      for (let p = 8; p < b.length; ) {
        const id = b[p++]!;
        let len = 0;
        let shift = 0;
        let byte: number;
        do {
          byte = b[p++]!;
          len |= (byte & 127) << shift;
          shift += 7;
        } while (byte & 128);
        ids.push(id);
        p += len;
      }
      expect(ids).toContain(10); // code
      expect(ids).not.toContain(11);
      expect(ids).not.toContain(8);
      expect(ids).not.toContain(6);
    }
    for (const shared of [false, true]) {
      const mod = new WebAssembly.Module(heapKernelBytes(shared));
      expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    }
  });

  it('the JavaScript fallbacks (SIMD kernels off) give the same values as the SIMD kernels', async () => {
    const xs = [...EDGES, ...seededValues([13, 7], 21)];
    const dys = seededValues([xs.length], 22);
    const compute = () =>
      runOn('wasm', () => {
        const x = tf.tensor1d(xs);
        const dy = tf.tensor1d(dys);
        return [
          tf.sign(x),
          fusedClippedGradient(x, dy, 1)!,
          tf.sum(tf.tensor(dys.slice(0, 104), [13, 8]), 0),
          tf.mean(tf.tensor(dys.slice(0, 104), [13, 8]), 0),
        ];
      });
    const simd = await compute();
    setHeapKernelsEnabled(false);
    try {
      expect(heapKernels(tf.backend())).toBeNull();
      const js = await compute();
      for (let i = 0; i < simd.length; i++) expect(Array.from(js[i]!)).toEqual(Array.from(simd[i]!));
    } finally {
      setHeapKernelsEnabled(true);
    }
  });

  it('runs on a shared memory too (the multithreaded tfjs-backend-wasm build): Sign of 5 values', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const k = heapKernels({ wasm: { asm: { memory } } });
    expect(k).not.toBeNull();
    const f = new Float32Array(memory.buffer);
    f.set([-2, 0, 1e-8, -1e-8, 3], 4);
    k!.signF32(16, 64, 5);
    expect(Array.from(f.slice(16, 21))).toEqual([-1, 0, 1, -1, 1]);
    // Anything that is not a WebAssembly.Memory is not bound.
    expect(heapKernels({ wasm: { asm: { memory: {} } } })).toBeNull();
  });

  it('binds to the wasm backend (and not to cpu)', async () => {
    await tf.setBackend('wasm');
    expect(heapKernels(tf.backend())).not.toBeNull();
    await tf.setBackend('cpu');
    expect(heapKernels(tf.backend())).toBeNull();
  });
});

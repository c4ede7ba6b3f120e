import { availableParallelism } from 'node:os';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import {
  BACKEND_PREFERENCE,
  backendInfo,
  chooseBackend,
  registeredBackends,
  setBackend,
  useFastestBackend,
} from './index.js';

describe('chooseBackend (pure selection logic)', () => {
  it('prefers tfjs-node, then wasm, then cpu', () => {
    expect(BACKEND_PREFERENCE).toEqual(['tensorflow', 'wasm', 'cpu']);
    expect(chooseBackend(['cpu', 'wasm', 'tensorflow'])).toBe('tensorflow');
    expect(chooseBackend(['cpu', 'wasm'])).toBe('wasm');
    expect(chooseBackend(['webgl', 'cpu'])).toBe('cpu');
    expect(chooseBackend(['webgl'])).toBeNull();
    expect(chooseBackend([])).toBeNull();
  });
});

describe('useFastestBackend / setBackend / backendInfo', () => {
  afterEach(async () => {
    for (const fake of ['tensorflow', 'lowbit-broken'])
      if (fake in tf.engine().registryFactory) tf.removeBackend(fake);
    await tf.setBackend('cpu');
  });

  it('picks wasm when tfjs-node is not registered', async () => {
    expect(registeredBackends()).toEqual(expect.arrayContaining(['cpu', 'wasm']));
    expect(registeredBackends()).not.toContain('tensorflow');
    expect(await useFastestBackend()).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it("picks a registered 'tensorflow' backend (faked with a cpu backend instance)", async () => {
    tf.registerBackend('tensorflow', () => new MathBackendCPU(), 1);
    expect(await useFastestBackend()).toBe('tensorflow');
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('skips a preferred backend that fails to initialize', async () => {
    tf.registerBackend(
      'tensorflow',
      () => {
        throw new Error('native library missing');
      },
      1,
    );
    const warn = console.warn;
    console.warn = () => {};
    try {
      expect(await useFastestBackend()).toBe('wasm');
    } finally {
      console.warn = warn;
    }
  });

  it('setBackend validates the name and lists the registered backends', async () => {
    await setBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    await expect(setBackend('webgpu')).rejects.toThrow(ConfigError);
    await expect(setBackend('webgpu')).rejects.toThrow(/received "webgpu"; expected one of .*cpu.*wasm/);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('backendInfo describes wasm (SIMD, XNNPACK threads) and cpu', async () => {
    await setBackend('wasm');
    const wasm = await backendInfo();
    expect(wasm.name).toBe('wasm');
    // Node 20 validates wasm SIMD; the threaded build is off in Node, so XNNPACK runs one thread.
    expect(wasm.simd).toBe(true);
    expect(wasm.threads).toBe(1);
    expect(wasm.cores).toBe(availableParallelism());
    await setBackend('cpu');
    expect(await backendInfo()).toMatchObject({ name: 'cpu', simd: null, threads: 1 });
  });
});

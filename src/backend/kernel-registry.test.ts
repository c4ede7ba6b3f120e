import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerMissingGradients } from './gradients.js';
import {
  isLowbitKernel,
  kernelsMissing,
  originalKernelFunc,
  overrideKernel,
  registerMissingKernel,
  restoreOriginalKernel,
} from './kernel-registry.js';
import {
  CPU_OVERRIDES,
  installAll,
  installCpuOverrides,
  installWasmOverrides,
  registerTrainingKernels,
  TRAINING_KERNELS,
  WASM_OVERRIDES,
} from './register.js';

const FAKE = 'lowbit-test-backend';

describe('kernel registration helpers', () => {
  afterAll(() => {
    for (const k of tf.getKernelsForBackend(FAKE)) tf.unregisterKernel(k.kernelName, FAKE);
  });

  it('registers a missing kernel once, silently, and never replaces an existing one', () => {
    const warn = vi.spyOn(console, 'warn');
    const firstResult = { dataId: {}, shape: [], dtype: 'float32' as const };
    const first = () => firstResult;
    expect(registerMissingKernel('LowbitK', FAKE, first)).toBe(true);
    expect(registerMissingKernel('LowbitK', FAKE, () => tf.scalar(2))).toBe(false);
    expect(tf.getKernel('LowbitK', FAKE)!.kernelFunc({ inputs: {}, attrs: {}, backend: {} as never })).toBe(
      firstResult,
    );
    expect(isLowbitKernel('LowbitK', FAKE)).toBe(true);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('overrides keep setupFunc, delegate to the original, and can be restored', () => {
    const setupFunc = () => {};
    const original: tf.KernelFunc = () => ({ dataId: {}, shape: [1], dtype: 'float32' });
    tf.registerKernel({ kernelName: 'LowbitO', backendName: FAKE, kernelFunc: original, setupFunc });
    const warn = vi.spyOn(console, 'warn');
    let seen: tf.KernelFunc | null = null;
    expect(
      overrideKernel('LowbitO', FAKE, (orig) => {
        seen = orig;
        return (args) => orig(args);
      }),
    ).toBe(true);
    expect(seen).toBe(original);
    expect(overrideKernel('LowbitO', FAKE, (orig) => orig)).toBe(false);
    expect(tf.getKernel('LowbitO', FAKE)!.setupFunc).toBe(setupFunc);
    expect(originalKernelFunc('LowbitO', FAKE)).toBe(original);
    expect(restoreOriginalKernel('LowbitO', FAKE)).toBe(true);
    expect(tf.getKernel('LowbitO', FAKE)!.kernelFunc).toBe(original);
    expect(restoreOriginalKernel('LowbitO', FAKE)).toBe(false);
    expect(overrideKernel('NoSuchKernel', FAKE, (orig) => orig)).toBe(false);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('one implementation overriding two backends remembers each original', () => {
    const origA: tf.KernelFunc = () => ({ dataId: {}, shape: [1], dtype: 'float32' });
    const origB: tf.KernelFunc = () => ({ dataId: {}, shape: [2], dtype: 'float32' });
    tf.registerKernel({ kernelName: 'LowbitShared', backendName: `${FAKE}-a`, kernelFunc: origA });
    tf.registerKernel({ kernelName: 'LowbitShared', backendName: `${FAKE}-b`, kernelFunc: origB });
    const shared: tf.KernelFunc = () => ({ dataId: {}, shape: [3], dtype: 'float32' });
    expect(overrideKernel('LowbitShared', `${FAKE}-a`, () => shared)).toBe(true);
    expect(overrideKernel('LowbitShared', `${FAKE}-b`, () => shared)).toBe(true);
    expect(originalKernelFunc('LowbitShared', `${FAKE}-a`)).toBe(origA);
    expect(originalKernelFunc('LowbitShared', `${FAKE}-b`)).toBe(origB);
    expect(restoreOriginalKernel('LowbitShared', `${FAKE}-a`)).toBe(true);
    expect(tf.getKernel('LowbitShared', `${FAKE}-a`)!.kernelFunc).toBe(origA);
    expect(tf.getKernel('LowbitShared', `${FAKE}-b`)!.kernelFunc).not.toBe(origB);
    tf.unregisterKernel('LowbitShared', `${FAKE}-a`);
    tf.unregisterKernel('LowbitShared', `${FAKE}-b`);
  });

  it('kernelsMissing lists kernels of one backend absent from another', () => {
    tf.registerKernel({
      kernelName: 'LowbitOnlyHere',
      backendName: `${FAKE}-a`,
      kernelFunc: () => tf.scalar(0),
    });
    expect(kernelsMissing(`${FAKE}-a`, `${FAKE}-b`)).toEqual(['LowbitOnlyHere']);
    tf.unregisterKernel('LowbitOnlyHere', `${FAKE}-a`);
  });
});

describe('importing lowbit registers everything idempotently and silently', () => {
  it('installing again changes nothing and prints nothing', async () => {
    const warn = vi.spyOn(console, 'warn');
    const log = vi.spyOn(console, 'log');
    await import('./index.js');
    const before = tf.getKernelsForBackend('wasm').map((k) => k.kernelFunc);
    installAll();
    expect(registerMissingGradients()).toEqual([]);
    expect(registerTrainingKernels('wasm')).toEqual([]);
    expect(installWasmOverrides()).toEqual([]);
    expect(tf.getKernelsForBackend('wasm').map((k) => k.kernelFunc)).toEqual(before);
    for (const name of [...Object.keys(TRAINING_KERNELS), ...Object.keys(WASM_OVERRIDES)]) {
      expect(isLowbitKernel(name, 'wasm'), name).toBe(true);
    }
    for (const name of Object.keys(CPU_OVERRIDES)) expect(isLowbitKernel(name, 'cpu'), name).toBe(true);
    expect(installCpuOverrides()).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
    warn.mockRestore();
    log.mockRestore();
  });

  it('training kernels are registered on a backend that lacks them', () => {
    const added = registerTrainingKernels(`${FAKE}-empty`);
    expect(added.sort()).toEqual(Object.keys(TRAINING_KERNELS).sort());
    for (const k of added) tf.unregisterKernel(k, `${FAKE}-empty`);
  });
});

describe('importing lowbit in a fresh process', () => {
  it('prints nothing, even when imported twice and the wasm backend is started', () => {
    const index = fileURLToPath(new URL('./index.ts', import.meta.url));
    const script = [
      `await import(${JSON.stringify(index)});`,
      // A query string makes Node evaluate the module again, as a second copy of lowbit would.
      `await import(${JSON.stringify(`${index.replace(/index\.ts$/, 'install.ts')}?second-copy`)});`,
      `await import(${JSON.stringify(`${index.replace(/index\.ts$/, 'register.ts')}?second-copy`)}).then((m) => m.installAll());`,
      "const tf = await import('@tensorflow/tfjs-core');",
      "await tf.setBackend('wasm');",
      'tf.dispose(tf.matMul(tf.ones([2, 3]), tf.ones([2, 3]), false, true));',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
  });
});

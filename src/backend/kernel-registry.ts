/**
 * Idempotent, silent kernel registration for backends lowbit patches.
 *
 * `tf.registerKernel` warns when a kernel is registered twice, and lowbit may be imported more than once
 * (two bundles, a test runner re-evaluating modules), so every registration here checks first and tags
 * the functions it installs. An override keeps the kernel it replaces so that it can delegate to it.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Property set on every kernelFunc lowbit installs; its value names the lowbit kernel. */
const LOWBIT_TAG = '__lowbitKernel';
/** Property holding the kernel config an override replaced. */
const ORIGINAL = '__lowbitOriginal';

type Tagged = tf.KernelFunc & { [LOWBIT_TAG]?: string; [ORIGINAL]?: tf.KernelConfig };

/** The arguments a kernel function receives. */
export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** A kernel body that may return a Tensor built from ops (the engine accepts a Tensor as output). */
export type OpKernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** True if the kernel registered for (kernelName, backendName) was installed by lowbit. */
export function isLowbitKernel(kernelName: string, backendName: string): boolean {
  const k = tf.getKernel(kernelName, backendName);
  return k != null && (k.kernelFunc as Tagged)[LOWBIT_TAG] != null;
}

/**
 * Registers `kernelFunc` for a kernel the backend lacks. Does nothing if a kernel is already registered
 * (lowbit's own from an earlier import, or a real one from a newer backend version).
 *
 * @returns true if this call registered the kernel.
 */
export function registerMissingKernel(
  kernelName: string,
  backendName: string,
  kernelFunc: OpKernel,
): boolean {
  if (tf.getKernel(kernelName, backendName) != null) return false;
  const f = ((args: KernelArgs) => kernelFunc(args)) as Tagged;
  f[LOWBIT_TAG] = kernelName;
  tf.registerKernel({ kernelName, backendName, kernelFunc: f });
  return true;
}

/**
 * Replaces an existing kernel with `make(original)`, where `original` is the replaced kernel function
 * to delegate to. The replaced kernel's setupFunc is kept (wasm kernels bind their native function in
 * it). Does nothing if the kernel is missing or already overridden by lowbit.
 *
 * @returns true if this call installed the override.
 */
export function overrideKernel(
  kernelName: string,
  backendName: string,
  make: (original: tf.KernelFunc) => OpKernel,
): boolean {
  const existing = tf.getKernel(kernelName, backendName);
  if (existing == null || (existing.kernelFunc as Tagged)[LOWBIT_TAG] != null) return false;
  // A fresh function per registration: the same implementation may override kernels of several
  // backends, and each registration must remember its own original.
  const impl = make(existing.kernelFunc);
  const f = ((args: KernelArgs) => impl(args)) as Tagged;
  f[LOWBIT_TAG] = kernelName;
  f[ORIGINAL] = existing;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: f,
    setupFunc: existing.setupFunc,
    disposeFunc: existing.disposeFunc,
  });
  return true;
}

/**
 * The kernel function an override replaced, or the registered one if lowbit did not override it.
 * Benchmarks and tests use this to compare the stock kernel with lowbit's.
 */
export function originalKernelFunc(kernelName: string, backendName: string): tf.KernelFunc | undefined {
  const k = tf.getKernel(kernelName, backendName);
  if (k == null) return undefined;
  const orig = (k.kernelFunc as Tagged)[ORIGINAL];
  return orig != null ? orig.kernelFunc : k.kernelFunc;
}

/**
 * Restores the kernel an override replaced (for before/after benchmarks and tests).
 * @returns true if an override was removed.
 */
export function restoreOriginalKernel(kernelName: string, backendName: string): boolean {
  const k = tf.getKernel(kernelName, backendName);
  const orig = k == null ? undefined : (k.kernelFunc as Tagged)[ORIGINAL];
  if (orig == null) return false;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(orig);
  return true;
}

/** Kernel names registered for backend `a` but not for backend `b`, sorted. */
export function kernelsMissing(a: string, b: string): string[] {
  const have = new Set(tf.getKernelsForBackend(b).map((k) => k.kernelName));
  return tf
    .getKernelsForBackend(a)
    .map((k) => k.kernelName)
    .filter((n) => !have.has(n))
    .sort();
}

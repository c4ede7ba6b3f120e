/**
 * Backend selection: pick the fastest registered TensorFlow.js backend, switch backends with a typed
 * error for unknown names, and describe the active backend.
 *
 * Order (measured on 2-core Node 20 machines, see /bench/backend-bench.ts): tfjs-node's native
 * 'tensorflow' backend if the user installed and imported it; else 'wasm' (XNNPACK; SIMD where the
 * engine validates it, and the multithreaded build where tfjs-backend-wasm enables it, i.e. in
 * cross-origin-isolated browsers; lowbit does not force threads in Node, where the threaded build
 * needs a worker-file shim, gains 1.3 to 2x at best on 2 cores and keeps the process from exiting);
 * else the pure-JS 'cpu' backend, 30 to 50 times slower than wasm for matmul.
 */

import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, LowbitError } from '../errors.js';

/** Backends {@link useFastestBackend} tries, fastest first. */
export const BACKEND_PREFERENCE: readonly string[] = ['tensorflow', 'wasm', 'cpu'];

/** Names of the backends registered with the shared tfjs-core engine. */
export function registeredBackends(): string[] {
  return Object.keys(tf.engine().registryFactory);
}

/**
 * The first name of `preference` that is in `registered`, or null if none is.
 * The pure part of {@link useFastestBackend}.
 */
export function chooseBackend(
  registered: readonly string[],
  preference: readonly string[] = BACKEND_PREFERENCE,
): string | null {
  const have = new Set(registered);
  return preference.find((name) => have.has(name)) ?? null;
}

/**
 * Switches to the fastest registered backend ('tensorflow' > 'wasm' > 'cpu'); a backend that fails
 * to initialize is skipped. Resolves to the name of the active backend.
 *
 * @throws LowbitError if none of the preferred backends is registered or initializes.
 * @example
 * ```ts
 * import * as lq from 'lowbit';
 * const name = await lq.backend.useFastestBackend(); // 'wasm' in Node without tfjs-node
 * ```
 */
export async function useFastestBackend(): Promise<string> {
  const registered = registeredBackends();
  const tried: string[] = [];
  for (const name of BACKEND_PREFERENCE) {
    if (!registered.includes(name)) continue;
    tried.push(name);
    if (await tf.setBackend(name)) {
      await tf.ready();
      return name;
    }
  }
  throw new LowbitError(
    `lowbit.backend.useFastestBackend: no usable backend; registered: [${registered.join(', ')}], ` +
      `tried: [${tried.join(', ')}]; expected one of ${BACKEND_PREFERENCE.join(', ')} to be registered ` +
      `(import '@tensorflow/tfjs-backend-wasm' or '@tensorflow/tfjs-backend-cpu').`,
  );
}

/**
 * Switches to the backend `name` after checking that it is registered.
 *
 * @throws ConfigError naming the registered backends if `name` is not one of them.
 * @throws LowbitError if the backend is registered but fails to initialize.
 */
export async function setBackend(name: string): Promise<void> {
  const registered = registeredBackends();
  if (typeof name !== 'string' || !registered.includes(name)) {
    throw new ConfigError({ where: 'lowbit.backend.setBackend(name)', received: name, expected: registered });
  }
  if (!(await tf.setBackend(name))) {
    throw new LowbitError(
      `lowbit.backend.setBackend: backend '${name}' is registered but failed to initialize.`,
    );
  }
  await tf.ready();
}

/** What {@link backendInfo} reports. */
export interface BackendInfo {
  /** The active backend's name, e.g. 'wasm'. */
  name: string;
  /** Whether the wasm backend runs its SIMD build; null for other backends. */
  simd: boolean | null;
  /** Threads the backend computes with (XNNPACK's pool on wasm, 1 on cpu); null if unknown. */
  threads: number | null;
  /** Logical cores of the machine (navigator.hardwareConcurrency or os.availableParallelism). */
  cores: number;
}

interface NodeOs {
  availableParallelism?: () => number;
  cpus: () => unknown[];
}

async function logicalCores(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  const proc = (
    globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }
  ).process;
  if (proc?.versions?.node) {
    // getBuiltinModule (Node >= 20.16) keeps 'node:os' out of browser bundles; older Node imports it
    // through a specifier bundlers do not follow.
    const spec = 'node:os';
    const os = (proc.getBuiltinModule?.(spec) ?? (await import(/* @vite-ignore */ spec))) as NodeOs;
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  }
  return 1;
}

/** Describes the active backend (initializing the default one if none is active yet). */
export async function backendInfo(): Promise<BackendInfo> {
  await tf.ready();
  const name = tf.getBackend();
  let simd: boolean | null = null;
  let threads: number | null = null;
  if (name === 'wasm') {
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    threads = getThreadsCount();
  } else if (name === 'cpu') {
    threads = 1;
  }
  return { name, simd, threads, cores: await logicalCores() };
}

/**
 * Access to Node's built-in modules without a static import, so that bundling lowbit for a browser
 * never sees `node:fs` (esbuild, webpack and Rollup fail or warn on it for browser targets).
 *
 * `process.getBuiltinModule` (Node >= 20.16) returns a built-in synchronously and is invisible to
 * bundlers; on older Node 20 releases a dynamic `import()` of a computed specifier is used instead,
 * which bundlers leave alone as well.
 */
import type * as Crypto from 'node:crypto';
import type * as Fs from 'node:fs/promises';
import type * as Path from 'node:path';
import { UnsupportedError } from '../errors.js';

/** The Node built-ins the file-system handler uses. */
export interface NodeModules {
  fs: typeof Fs;
  path: typeof Path;
  crypto: typeof Crypto;
}

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}

function nodeProcess(): NodeProcess | undefined {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p !== undefined && p !== null && typeof p === 'object' ? p : undefined;
}

/** True when running in Node (or a runtime with Node's built-ins, such as Deno or Bun); false in browsers. */
export function isNode(): boolean {
  return typeof nodeProcess()?.versions?.node === 'string';
}

let cached: Promise<NodeModules> | undefined;

async function builtin<T>(id: string): Promise<T> {
  const get = nodeProcess()?.getBuiltinModule;
  if (typeof get === 'function') return get(id) as T;
  const specifier = id; // a computed specifier: bundlers do not try to resolve it
  const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as { default?: T };
  return (mod.default ?? mod) as T;
}

/**
 * Loads `node:fs/promises`, `node:path` and `node:crypto` once.
 * Throws {@link UnsupportedError} outside Node (e.g. in a browser, where models load over HTTP).
 */
export function nodeModules(): Promise<NodeModules> {
  if (!isNode()) {
    return Promise.reject(
      new UnsupportedError(
        'Reading and writing model directories outside Node',
        "Node; in a browser load with tf.loadLayersModel('https://.../model.json')",
      ),
    );
  }
  cached ??= Promise.all([
    builtin<typeof Fs>('node:fs/promises'),
    builtin<typeof Path>('node:path'),
    builtin<typeof Crypto>('node:crypto'),
  ]).then(([fs, path, crypto]) => ({ fs, path, crypto }));
  return cached;
}

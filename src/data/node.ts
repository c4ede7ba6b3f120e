/**
 * Lazy access to Node built-ins, so that the data module can be bundled for a browser: the module
 * names are computed at run time, so bundlers leave them alone, and nothing is loaded until a
 * file-reading function is actually called.
 */
import { UnsupportedError } from '../errors.js';

/** True when running under Node.js (or a runtime that emulates its `process.versions.node`). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/** Imports a Node built-in (`'fs'`, `'zlib'`, ...) or throws an UnsupportedError outside Node. */
export async function importNode<T>(name: string, what: string): Promise<T> {
  if (!isNode()) {
    throw new UnsupportedError(
      `${what} outside Node.js`,
      'Node.js for file access; in a browser pass the bytes (Uint8Array) instead',
    );
  }
  const specifier = `node:${name}`;
  return (await import(/* @vite-ignore */ specifier)) as T;
}

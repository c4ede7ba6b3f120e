/**
 * Node-only modules without static imports, so that bundling lowbit for a browser never sees
 * `node:fs` or a native package (esbuild, webpack and Rollup fail on them for browser targets).
 * `process.getBuiltinModule` (Node >= 20.16) returns a built-in synchronously and is invisible to
 * bundlers; elsewhere a dynamic `import()` of a computed specifier is used, which bundlers leave alone.
 */
import { UnsupportedError } from '../errors.js';

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

/** Imports a module by a specifier bundlers cannot see (a package name or a `node:` built-in). */
export async function importHidden<T>(specifier: string): Promise<T> {
  const id = specifier; // computed: bundlers do not resolve it
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ id)) as T;
}

/**
 * A Node built-in such as `'fs/promises'`, `'path'`, `'os'`, `'zlib'`. Outside Node it throws an
 * UnsupportedError saying that `what` needs Node.
 */
export async function nodeBuiltin<T>(name: string, what: string): Promise<T> {
  if (!isNode()) {
    throw new UnsupportedError(
      `${what} outside Node.js`,
      'Node.js; in a browser pass the data (bytes, URLs) instead',
    );
  }
  const id = `node:${name}`;
  const fromProcess = nodeProcess()?.getBuiltinModule?.(id);
  if (fromProcess !== undefined) return fromProcess as T;
  const mod = await importHidden<T & { default?: T }>(id);
  return (mod.default ?? mod) as T;
}

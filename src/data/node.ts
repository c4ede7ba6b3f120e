/**
 * Lazy access to Node built-ins for the data module (see src/util/node.ts): nothing is loaded until
 * a file-reading function is actually called, and browser bundles never see the built-ins.
 */
import { nodeBuiltin } from '../util/node.js';

export { isNode } from '../util/node.js';

/** Imports a Node built-in (`'fs'`, `'zlib'`, ...) or throws an UnsupportedError outside Node. */
export function importNode<T>(name: string, what: string): Promise<T> {
  return nodeBuiltin<T>(name, what);
}

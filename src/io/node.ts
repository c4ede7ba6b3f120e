/** The Node built-ins of the file-system handler, loaded without static imports (src/util/node.ts). */
import type * as Crypto from 'node:crypto';
import type * as Fs from 'node:fs/promises';
import type * as Path from 'node:path';
import { UnsupportedError } from '../errors.js';
import { isNode, nodeBuiltin } from '../util/node.js';

/** The Node built-ins the file-system handler uses. */
export interface NodeModules {
  fs: typeof Fs;
  path: typeof Path;
  crypto: typeof Crypto;
}

export { isNode } from '../util/node.js';

let cached: Promise<NodeModules> | undefined;

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
    nodeBuiltin<typeof Fs>('fs/promises', 'model files'),
    nodeBuiltin<typeof Path>('path', 'model files'),
    nodeBuiltin<typeof Crypto>('crypto', 'model files'),
  ]).then(([fs, path, crypto]) => ({ fs, path, crypto }));
  return cached;
}

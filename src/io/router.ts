/**
 * `file://` routers so that `model.save('file://dir')` and `tfl.loadLayersModel('file://dir')` work in
 * Node once lowbit is imported, without tfjs-node. Registered when this module is first evaluated.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type FileSystemHandler, fileSystem } from './file-system.js';
import { isNode } from './node.js';

/** The URL scheme lowbit's routers answer: `file://relative/dir`, `file:///absolute/dir[/model.json]`. */
export const FILE_SCHEME = 'file://';

// One registration per tfjs-core instance, even when several copies of lowbit are loaded: the set
// lives on globalThis and is keyed by that instance's registerSaveRouter function.
const REGISTERED = Symbol.for('lowbit.io.fileRouters');

function registeredSet(): WeakSet<object> {
  const g = globalThis as { [REGISTERED]?: WeakSet<object> };
  g[REGISTERED] ??= new WeakSet<object>();
  return g[REGISTERED];
}

type IORouter = Parameters<typeof tf.io.registerSaveRouter>[0];

// Set while asking the other routers whether they take a URL, so that this router answers null then.
let probing = false;

function route(url: string | string[], kind: 'save' | 'load'): FileSystemHandler | null {
  if (probing || typeof url !== 'string' || !url.startsWith(FILE_SCHEME)) return null;
  // tfjs refuses to save or load when two routers claim a URL. If another router takes file:// URLs
  // (tfjs-node's, for users who installed it), step aside and let it handle them.
  probing = true;
  let others: tf.io.IOHandler[];
  try {
    others = kind === 'save' ? tf.io.getSaveHandlers(url) : tf.io.getLoadHandlers(url);
  } finally {
    probing = false;
  }
  if (others.length > 0) return null;
  return fileSystem(url.slice(FILE_SCHEME.length));
}

/**
 * The save router lowbit registers: maps `file://PATH` to {@link fileSystem}(PATH), unless another
 * registered router (e.g. tfjs-node's) already takes that URL. The path is used verbatim, as
 * tfjs-node does (no percent-decoding).
 */
export function fileSaveRouter(url: string | string[]): FileSystemHandler | null {
  return route(url, 'save');
}

/** The load router lowbit registers; same rules as {@link fileSaveRouter}. */
export function fileLoadRouter(url: string | string[]): FileSystemHandler | null {
  return route(url, 'load');
}

/**
 * Registers lowbit's `file://` save and load routers with tfjs's IO registry.
 *
 * Idempotent (once per tfjs-core instance, however many times or from however many lowbit copies it
 * is called) and a no-op outside Node. lowbit calls it when `lowbit` is imported, so users rarely need
 * to. Returns true when this call registered the routers.
 *
 * @example
 * ```ts
 * import * as lq from 'lowbit';
 * await model.save('file://out/model');                       // model.json + weights.bin
 * const m = await tfl.loadLayersModel('file://out/model');    // or 'file://out/model/model.json'
 * ```
 */
export function registerFileRouters(): boolean {
  if (!isNode()) return false;
  const set = registeredSet();
  if (set.has(tf.io.registerSaveRouter)) return false;
  set.add(tf.io.registerSaveRouter);
  // tfjs types routers as never returning null, but its registry skips null (the documented "no match").
  tf.io.registerSaveRouter(fileSaveRouter as IORouter);
  tf.io.registerLoadRouter(fileLoadRouter as IORouter);
  return true;
}

registerFileRouters();

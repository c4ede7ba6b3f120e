import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSystemHandler, fileLoadRouter, fileSaveRouter, isNode, registerFileRouters } from './index.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-router-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A stand-in for tfjs-node's router: claims file:// URLs while `active`, records what it was asked. */
const other = {
  active: false,
  saved: [] as string[],
  loaded: [] as string[],
};
function otherRouter(url: string | string[]): tf.io.IOHandler {
  if (!other.active || typeof url !== 'string' || !url.startsWith('file://'))
    return null as unknown as tf.io.IOHandler;
  return {
    save: async (artifacts) => {
      other.saved.push(url);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    load: async () => {
      other.loaded.push(url);
      throw new Error('other router load');
    },
  };
}
tf.io.registerSaveRouter(otherRouter);
tf.io.registerLoadRouter(otherRouter);

describe('file:// routers', () => {
  it('are registered on import, exactly once however often registration is asked for', () => {
    expect(isNode()).toBe(true);
    expect(registerFileRouters()).toBe(false);
    expect(registerFileRouters()).toBe(false);
    expect(tf.io.getSaveHandlers('file://some/dir')).toHaveLength(1);
    expect(tf.io.getLoadHandlers('file://some/dir')).toHaveLength(1);
  });

  it('map file://PATH to a file-system handler on PATH, verbatim', () => {
    const rel = fileSaveRouter('file://models/a');
    expect(rel).toBeInstanceOf(FileSystemHandler);
    expect(rel!.path).toBe('models/a');
    expect(fileLoadRouter('file:///abs/dir/model.json')!.path).toBe('/abs/dir/model.json');
  });

  it('ignore other schemes and URL arrays', () => {
    for (const url of ['http://x/model.json', 'indexeddb://m', 'localstorage://m', 'models/a', 'FILE://x']) {
      expect(fileSaveRouter(url)).toBeNull();
      expect(fileLoadRouter(url)).toBeNull();
    }
    expect(fileLoadRouter(['file://a/model.json', 'file://a/weights.bin'])).toBeNull();
  });

  it('model.save("file://...") and tfl.loadLayersModel("file://...") work without tfjs-node', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3] })] });
    const dir = path.join(root, 'plain');
    const result = await model.save(`file://${dir}`);
    expect(result.modelArtifactsInfo.weightDataBytes).toBe(4 * (3 * 2 + 2));
    const loaded = await tfl.loadLayersModel(`file://${dir}/model.json`);
    const x = tf.tensor2d([[1, -2, 0.5]]);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(
      Array.from((model.predict(x) as tf.Tensor).dataSync()),
    );
  });

  it('step aside when another router (like tfjs-node) takes file:// URLs, so tfjs finds exactly one handler', async () => {
    other.active = true;
    try {
      const saveHandlers = tf.io.getSaveHandlers('file://x');
      expect(saveHandlers).toHaveLength(1);
      expect(saveHandlers[0]).not.toBeInstanceOf(FileSystemHandler);
      expect(tf.io.getLoadHandlers('file://x')).toHaveLength(1);
      const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
      const dir = path.join(root, 'other');
      await model.save(`file://${dir}`);
      expect(other.saved).toEqual([`file://${dir}`]);
      expect(fs.existsSync(dir)).toBe(false); // lowbit's handler did not write
      await expect(tfl.loadLayersModel(`file://${dir}`)).rejects.toThrow('other router load');
      expect(other.loaded).toEqual([`file://${dir}`]);
    } finally {
      other.active = false;
    }
    expect(tf.io.getSaveHandlers('file://x')[0]).toBeInstanceOf(FileSystemHandler);
  });
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, FormatError } from '../errors.js';
import { Random } from '../util/random.js';
import { FileSystemHandler, fileSystem, loadModel, saveModel } from './index.js';

// The same object the handler gets from process.getBuiltinModule: spying on it injects failures.
const fsp = process.getBuiltinModule('node:fs/promises') as typeof import('node:fs/promises');

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-io-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

let counter = 0;
function freshDir(): string {
  counter += 1;
  return path.join(root, `case-${counter}`);
}

/** Gives every weight seeded random values (BatchNorm variances positive) so nothing is a default. */
function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  const rng = new Random(seed);
  const values = model.weights.map((w) => {
    const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const positive = w.originalName.endsWith('moving_variance');
    for (let i = 0; i < n; i++) data[i] = positive ? 0.5 + Math.abs(rng.normal()) : rng.normal() * 0.5;
    return tf.tensor(data, w.shape as number[]);
  });
  model.setWeights(values);
  tf.dispose(values);
}

function sequentialModel(seed: number): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [7, 7, 3], filters: 5, kernelSize: 3, padding: 'same', useBias: true }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 11, activation: 'tanh' }),
      tfl.layers.dropout({ rate: 0.3 }),
      tfl.layers.dense({ units: 4, activation: 'softmax', useBias: false }),
    ],
  });
  randomizeWeights(model, seed);
  return model;
}

function functionalModel(seed: number): tfl.LayersModel {
  const input = tfl.input({ shape: [6, 6, 2] });
  const a = tfl.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same' })
    .apply(input) as tfl.SymbolicTensor;
  const aNorm = tfl.layers.batchNormalization({ axis: -1 }).apply(a) as tfl.SymbolicTensor;
  const b = tfl.layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(input);
  const sum = tfl.layers.add().apply([aNorm, b as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(sum) as tfl.SymbolicTensor;
  const side = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
  const joined = tfl.layers.concatenate().apply([pooled, side]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3 }).apply(joined) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  randomizeWeights(model, seed);
  return model;
}

function randomInput(shape: number[], seed: number): tf.Tensor {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

function bytesOf(t: tf.Tensor): Uint8Array {
  const data = t.dataSync() as Float32Array;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

function expectSameModel(a: tfl.LayersModel, b: tfl.LayersModel, x: tf.Tensor): void {
  expect(b.weights.map((w) => w.originalName)).toEqual(a.weights.map((w) => w.originalName));
  a.weights.forEach((w, i) => {
    expect(bytesOf(b.weights[i]!.read())).toEqual(bytesOf(w.read()));
  });
  const ya = a.predict(x) as tf.Tensor;
  const yb = b.predict(x) as tf.Tensor;
  expect(yb.shape).toEqual(ya.shape);
  expect(bytesOf(yb)).toEqual(bytesOf(ya));
  tf.dispose([ya, yb]);
}

/** Every file under dir with its bytes, for "nothing changed" checks. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir).sort())
    out[name] = fs.readFileSync(path.join(dir, name)).toString('hex');
  return out;
}

async function captureArtifacts(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}

describe('fileSystem round trips', () => {
  it('Sequential (conv, batchnorm, pooling, depthwise, dense, dropout) through file:// URLs: predictions and weights bit-identical', async () => {
    const dir = freshDir();
    const model = sequentialModel(1);
    await model.save(`file://${dir}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await tfl.loadLayersModel(`file://${dir}`);
    expectSameModel(model, loaded, randomInput([3, 7, 7, 3], 2));
    const viaJson = await tfl.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
    expectSameModel(model, viaJson, randomInput([2, 7, 7, 3], 3));
  });

  it('functional graph (residual add, separable conv, concatenate) with saveModel / loadModel', async () => {
    const dir = freshDir();
    const model = functionalModel(4);
    const result = await saveModel(model, dir);
    expect(result.modelPath).toBe(path.join(dir, 'model.json'));
    const loaded = await loadModel(dir);
    expectSameModel(model, loaded, randomInput([4, 6, 6, 2], 5));
  });

  it('writes tfjs standard model.json and weights.bin laid out as the manifest says', async () => {
    const dir = freshDir();
    const model = sequentialModel(6);
    const { weightsSha256 } = await saveModel(model, dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology.class_name).toBe('Sequential');
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
    // Layout computed here independently: each weight's float32 bytes, in manifest order, back to back.
    const byName = new Map(model.weights.map((w) => [w.originalName, w]));
    let offset = 0;
    for (const spec of json.weightsManifest[0].weights) {
      expect(spec.dtype).toBe('float32');
      const w = byName.get(spec.name)!;
      expect(spec.shape).toEqual(w.shape);
      const n = (spec.shape as number[]).reduce((a, b) => a * b, 1);
      expect(new Uint8Array(bin.subarray(offset, offset + 4 * n))).toEqual(bytesOf(w.read()));
      offset += 4 * n;
    }
    expect(offset).toBe(bin.length);
    expect(json.weightsManifest[0].weights).toHaveLength(model.weights.length);
    const { createHash } = await import('node:crypto');
    expect(json.weightsSha256).toEqual({ 'weights.bin': createHash('sha256').update(bin).digest('hex') });
    expect(weightsSha256).toBe(json.weightsSha256['weights.bin']);
  });

  it('the saved directory loads with tfjs own loaders: tf.io.http (the browser path) and tf.io.fromMemory', async () => {
    const dir = freshDir();
    const model = functionalModel(7);
    await saveModel(model, dir);
    const requested: string[] = [];
    const fetchFunc = async (url: string | URL | Request) => {
      const u = new URL(String(url));
      requested.push(u.pathname);
      expect(u.pathname.startsWith('/models/m/')).toBe(true);
      return new Response(fs.readFileSync(path.join(dir, u.pathname.slice('/models/m/'.length))));
    };
    const overHttp = await tfl.loadLayersModel('http://localhost/models/m/model.json', { fetchFunc });
    expect(requested).toEqual(['/models/m/model.json', '/models/m/weights.bin']);
    expectSameModel(model, overHttp, randomInput([2, 6, 6, 2], 8));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
    const fromMemory = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      }),
    );
    expectSameModel(model, fromMemory, randomInput([2, 6, 6, 2], 9));
  });

  it('saves weightData given as an array of ArrayBuffers (split off weight boundaries) byte for byte', async () => {
    const model = sequentialModel(10);
    const artifacts = await captureArtifacts(model);
    const whole = new Uint8Array(artifacts.weightData as ArrayBuffer);
    const cuts = [0, 3, 101, whole.length - 1, whole.length];
    const parts = cuts.slice(1).map((end, i) => whole.slice(cuts[i], end).buffer);
    expect(parts.reduce((s, p) => s + p.byteLength, 0)).toBe(whole.length);
    const dir = freshDir();
    await fileSystem(dir).save({ ...artifacts, weightData: parts });
    expect(new Uint8Array(fs.readFileSync(path.join(dir, 'weights.bin')))).toEqual(whole);
    expectSameModel(model, await loadModel(dir), randomInput([1, 7, 7, 3], 11));
  });

  it('loads a model split across several groups and shards, as tensorflowjs_converter writes, without weightsSha256', async () => {
    const dir = freshDir();
    const model = functionalModel(12);
    await saveModel(model, dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
    const specs = json.weightsManifest[0].weights as { shape: number[] }[];
    const sizes = specs.map((s) => 4 * s.shape.reduce((a, b) => a * b, 1));
    const half = Math.floor(specs.length / 2);
    const split = sizes.slice(0, half).reduce((a, b) => a + b, 0);
    // group 1 = first half of the weights in two shards cut at an arbitrary byte; group 2 = the rest.
    fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), bin.subarray(0, 5));
    fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), bin.subarray(5, split));
    fs.mkdirSync(path.join(dir, 'g2'));
    fs.writeFileSync(path.join(dir, 'g2', 'group2-shard1of1.bin'), bin.subarray(split));
    fs.rmSync(path.join(dir, 'weights.bin'));
    json.weightsManifest = [
      { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs.slice(0, half) },
      { paths: ['g2/group2-shard1of1.bin'], weights: specs.slice(half) },
    ];
    delete json.weightsSha256;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    expectSameModel(model, await loadModel(dir), randomInput([2, 6, 6, 2], 13));
  });

  it('round-trips the optimizer state with includeOptimizer (a training checkpoint)', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [5] })] });
    randomizeWeights(model, 14);
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    await model.fit(randomInput([8, 5], 15), randomInput([8, 3], 16), {
      epochs: 2,
      batchSize: 4,
      verbose: 0,
    });
    const before = await model.optimizer.getWeights();
    expect(before.length).toBeGreaterThan(1);
    const dir = freshDir();
    await saveModel(model, dir, { includeOptimizer: true });
    const loaded = await loadModel(dir);
    const after = await loaded.optimizer.getWeights();
    expect(after.map((w) => w.name)).toEqual(before.map((w) => w.name));
    before.forEach((w, i) => {
      expect(bytesOf(after[i]!.tensor)).toEqual(bytesOf(w.tensor));
    });
    expectSameModel(model, loaded, randomInput([2, 5], 17));
  });

  it('replaces a previous save, keeps unrelated files, leaves no temporary files', async () => {
    const dir = freshDir();
    await saveModel(sequentialModel(18), dir);
    fs.writeFileSync(path.join(dir, 'metrics.json'), '{"accuracy":0.9}');
    const second = sequentialModel(19);
    await saveModel(second, dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['metrics.json', 'model.json', 'weights.bin']);
    expectSameModel(second, await loadModel(dir), randomInput([1, 7, 7, 3], 20));
  });

  it('saves and loads a model with no weights (empty weights.bin)', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 3] })] });
    const dir = freshDir();
    await saveModel(model, dir);
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).toBe(0);
    expectSameModel(model, await loadModel(dir), randomInput([2, 2, 3], 21));
  });

  it('refuses an empty path and reports a missing model directory', async () => {
    expect(() => fileSystem('')).toThrow(ConfigError);
    expect(() => fileSystem('file://')).toThrow(ConfigError);
    expect(fileSystem('file:///a/b').path).toBe('/a/b');
    const missing = path.join(root, 'does-not-exist');
    await expect(fileSystem(missing).load()).rejects.toThrow(ConfigError);
    await expect(fileSystem(missing).load()).rejects.toThrow(/nothing exists at/);
    fs.mkdirSync(path.join(root, 'empty-dir'));
    await expect(fileSystem(path.join(root, 'empty-dir')).load()).rejects.toThrow(
      new FormatError({
        source: path.join(root, 'empty-dir', 'model.json'),
        problem: 'the file does not exist',
        expected: 'a model.json as written by model.save()',
      }).message,
    );
  });
});

describe('atomic saves: a failed save leaves the previous model intact and no temporary files', () => {
  let dir: string;
  let before: Record<string, string>;
  let model: tfl.LayersModel;
  let artifacts: tf.io.ModelArtifacts;

  beforeAll(async () => {
    dir = freshDir();
    await saveModel(sequentialModel(30), dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
    before = snapshot(dir);
    model = sequentialModel(31); // the model whose save fails
    artifacts = await captureArtifacts(model);
  });

  async function expectUnchanged(): Promise<void> {
    expect(snapshot(dir)).toEqual(before);
    // and the previous model still loads
    await expect(loadModel(dir)).resolves.toBeInstanceOf(tfl.LayersModel);
  }

  it('weight data shorter than its specs (encoding error): FormatError, disk untouched', async () => {
    const data = (artifacts.weightData as ArrayBuffer).slice(4);
    const open = vi.spyOn(fsp, 'open');
    const err = await fileSystem(dir)
      .save({ ...artifacts, weightData: data })
      .catch((e) => e);
    expect(err).toBeInstanceOf(FormatError);
    const total = (artifacts.weightData as ArrayBuffer).byteLength;
    expect(err.message).toContain(path.join(dir, 'weights.bin'));
    expect(err.message).toContain(
      `has ${total - 4} bytes but its ${artifacts.weightSpecs!.length} weight specs describe ${total}`,
    );
    expect(open).not.toHaveBeenCalled();
    await expectUnchanged();
  });

  it('weight data of the wrong type: FormatError', async () => {
    const err = await fileSystem(dir)
      .save({ ...artifacts, weightData: [new Float32Array(3)] as unknown as ArrayBuffer[] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect(err.message).toMatch(/weightData\[0\] is an instance of Float32Array; expected an ArrayBuffer/);
    await expectUnchanged();
  });

  it('a topology JSON cannot encode (BigInt): fails before writing', async () => {
    const bad = { ...artifacts, modelTopology: { class_name: 'Sequential', config: { n: 10n } } };
    await expect(fileSystem(dir).save(bad)).rejects.toThrow(TypeError);
    await expectUnchanged();
  });

  it('the disk fills while writing the weights (second chunk): temporary file removed', async () => {
    const whole = new Uint8Array(artifacts.weightData as ArrayBuffer);
    const parts = [whole.slice(0, 64).buffer, whole.slice(64).buffer];
    const realOpen = fsp.open.bind(fsp);
    let writes = 0;
    vi.spyOn(fsp, 'open').mockImplementation((async (file: string, flags: string) => {
      const handle = await realOpen(file, flags);
      if (!String(file).includes('.weights.bin.')) return handle;
      const realWrite = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
      (handle as unknown as { write: unknown }).write = async (...args: unknown[]) => {
        writes += 1;
        if (writes === 2)
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        return realWrite(...args);
      };
      return handle;
    }) as unknown as typeof fsp.open);
    await expect(fileSystem(dir).save({ ...artifacts, weightData: parts })).rejects.toThrow(/ENOSPC/);
    expect(writes).toBe(2);
    await expectUnchanged();
  });

  it('model.json cannot be created after weights were written: both temporary files removed', async () => {
    const realOpen = fsp.open.bind(fsp);
    vi.spyOn(fsp, 'open').mockImplementation((async (file: string, flags: string) => {
      if (String(file).includes('.model.json.'))
        throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      return realOpen(file, flags);
    }) as unknown as typeof fsp.open);
    await expect(fileSystem(dir).save(artifacts)).rejects.toThrow(/EIO/);
    await expectUnchanged();
  });

  it('renaming model.json fails after weights.bin was replaced: the old weights.bin is restored', async () => {
    const realRename = fsp.rename.bind(fsp);
    const renamed: string[] = [];
    vi.spyOn(fsp, 'rename').mockImplementation(async (from, to) => {
      if (String(to).endsWith('model.json'))
        throw Object.assign(new Error('EIO: rename failed'), { code: 'EIO' });
      renamed.push(path.basename(String(to)));
      return realRename(from, to);
    });
    await expect(fileSystem(dir).save(artifacts)).rejects.toThrow(/EIO/);
    // weights.bin was really replaced, then put back from the hard-linked backup
    expect(renamed).toEqual(['weights.bin', 'weights.bin']);
    await expectUnchanged();
  });

  it('the target is a regular file: ConfigError, file untouched', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'data');
    await expect(fileSystem(file).save(artifacts)).rejects.toThrow(ConfigError);
    expect(fs.readFileSync(file, 'utf8')).toBe('data');
  });

  it('an unwritable path (parent is a file): the error propagates, nothing is created', async () => {
    const file = path.join(root, 'another-file');
    fs.writeFileSync(file, 'data');
    await expect(fileSystem(path.join(file, 'model')).save(artifacts)).rejects.toThrow(/ENOTDIR|EEXIST/);
    expect(fs.readFileSync(file, 'utf8')).toBe('data');
  });

  it('a failed first save into a new directory removes the directories it created', async () => {
    const parent = freshDir();
    fs.mkdirSync(parent);
    const target = path.join(parent, 'a', 'b');
    vi.spyOn(fsp, 'rename').mockRejectedValue(
      Object.assign(new Error('EIO: rename failed'), { code: 'EIO' }),
    );
    await expect(fileSystem(target).save(artifacts)).rejects.toThrow(/EIO/);
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('after all these failures the handler still saves fine', async () => {
    await saveModel(model, dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'notes.txt', 'weights.bin']);
    expectSameModel(model, await loadModel(dir), randomInput([1, 7, 7, 3], 32));
  });

  it('handler class is exported for instanceof checks', () => {
    expect(fileSystem(dir)).toBeInstanceOf(FileSystemHandler);
  });
});

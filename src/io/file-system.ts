/**
 * A tfjs IOHandler that saves a model to a directory (model.json + weights.bin, TensorFlow.js's own
 * format) and loads it back, in Node, without tfjs-node. Saves are atomic; loads validate every
 * file before allocating from it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, describe, FormatError, UnsupportedError } from '../errors.js';
import {
  MAX_MODEL_JSON_BYTES,
  MODEL_JSON,
  parseModelJson,
  type ValidatedModelJson,
  validateWeightSpecs,
  WEIGHTS_BIN,
  weightDataByteLength,
} from './format.js';
import { type NodeModules, nodeModules } from './node.js';

/** The result of {@link FileSystemHandler.save}: tfjs's SaveResult plus where the files went and the weights' SHA-256. */
export interface FileSystemSaveResult extends tf.io.SaveResult {
  /** Absolute path of the model.json written. */
  modelPath: string;
  /** Absolute path of the weights.bin written. */
  weightsPath: string;
  /** SHA-256 of weights.bin, lowercase hex, also recorded in model.json as `weightsSha256`. */
  weightsSha256: string;
}

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e
    ? String((e as { code: unknown }).code)
    : undefined;
}

async function statOrNull(node: NodeModules, path: string) {
  try {
    return await node.fs.stat(path);
  } catch (e) {
    if (errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR') return null;
    throw e;
  }
}

async function removeQuietly(node: NodeModules, path: string): Promise<void> {
  try {
    await node.fs.unlink(path);
  } catch {
    // Already gone or never created: cleanup must not mask the error that triggered it.
  }
}

/** Writes `parts` to a new file (`wx`: never an existing one) and flushes it to disk before closing. */
async function writeNewFile(node: NodeModules, path: string, parts: readonly Uint8Array[]): Promise<void> {
  const handle = await node.fs.open(path, 'wx');
  try {
    for (const part of parts) {
      let offset = 0;
      while (offset < part.byteLength) {
        const { bytesWritten } = await handle.write(part, offset, part.byteLength - offset);
        offset += bytesWritten;
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads a file of known size into one ArrayBuffer of exactly that size; fails if the file changed size. */
async function readExact(node: NodeModules, path: string, size: number): Promise<ArrayBuffer> {
  const buffer = new ArrayBuffer(size);
  const view = new Uint8Array(buffer);
  const handle = await node.fs.open(path, 'r');
  try {
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(view, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    const extra = await handle.read(new Uint8Array(1), 0, 1, size);
    if (offset !== size || extra.bytesRead !== 0) {
      throw new FormatError({ source: path, problem: 'the file changed size while it was being read' });
    }
  } finally {
    await handle.close();
  }
  return buffer;
}

async function syncDirectory(node: NodeModules, dir: string): Promise<void> {
  // Makes the renames durable. Some platforms (Windows) cannot open directories: best effort.
  try {
    const handle = await node.fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not supported here; the renames are still atomic, only their durability is the OS's.
  }
}

function sha256(node: NodeModules, parts: readonly Uint8Array[]): string {
  const hash = node.crypto.createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/**
 * Reads and writes one model directory. Create it with {@link fileSystem}.
 *
 * - `save` writes `model.json` and `weights.bin` in TensorFlow.js's layers-model format (the same
 *   files tfjs-node's `file://` handler and `tensorflowjs_converter` produce; the manifest's only path
 *   is `weights.bin`), plus a `weightsSha256` field tfjs ignores. It is atomic: both files are first
 *   written in full to hidden temporary files in the same directory and flushed, then renamed over the
 *   old ones; if anything fails, the previous files are restored and the temporary files removed.
 * - `load` reads `model.json` (or the given `.json` file) and every weight file its manifest lists
 *   (several groups and shards, as the converter writes, are fine), validating the JSON, the specs,
 *   the paths and each group's byte length before allocating, and the SHA-256 when recorded.
 */
export class FileSystemHandler implements tf.io.IOHandler {
  /** The path given (without a `file://` prefix): a model directory, or a model.json inside one. */
  readonly path: string;

  constructor(path: string) {
    if (typeof path !== 'string' || path.length === 0) {
      throw new ConfigError({
        where: 'lq.io.fileSystem(path)',
        received: path,
        expected: 'a non-empty path string',
      });
    }
    // fileSystem('file://dir') means the same as fileSystem('dir'), as in model.save('file://dir').
    this.path = path.startsWith('file://') ? path.slice('file://'.length) : path;
    if (this.path.length === 0) {
      throw new ConfigError({
        where: 'lq.io.fileSystem(path)',
        received: path,
        expected: 'a path after file://',
      });
    }
  }

  /** Saves the artifacts atomically; see the class description. */
  async save(artifacts: tf.io.ModelArtifacts): Promise<FileSystemSaveResult> {
    const node = await nodeModules();
    const dir = node.path.resolve(
      node.path.basename(this.path) === MODEL_JSON ? node.path.dirname(this.path) : this.path,
    );
    const modelPath = node.path.join(dir, MODEL_JSON);
    const weightsPath = node.path.join(dir, WEIGHTS_BIN);

    // Everything that can fail on the artifacts themselves fails here, before the disk is touched.
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new UnsupportedError('Saving a binary (GraphDef) model topology to a directory', 'layers models');
    }
    if (typeof artifacts.modelTopology !== 'object' || artifacts.modelTopology === null) {
      throw new FormatError({
        source: modelPath,
        problem: `the model to save has modelTopology ${describe(artifacts.modelTopology)}`,
        expected: 'a JSON object (a layers model topology)',
      });
    }
    if (artifacts.weightData === undefined && artifacts.getWeightStream !== undefined) {
      throw new UnsupportedError('Saving streamed weights (getWeightStream)', 'weightData as ArrayBuffer(s)');
    }
    const specs = artifacts.weightSpecs ?? [];
    const expectedBytes = validateWeightSpecs(specs, weightsPath, 'weightSpecs');
    const data = artifacts.weightData ?? new ArrayBuffer(0);
    const actualBytes = weightDataByteLength(data, weightsPath);
    if (actualBytes !== expectedBytes) {
      throw new FormatError({
        source: weightsPath,
        problem: `the weight data to write has ${actualBytes} bytes but its ${specs.length} weight specs describe ${expectedBytes}`,
        expected: 'weight data whose length is the sum over the specs of product(shape) x bytes per value',
      });
    }
    const parts = (Array.isArray(data) ? data : [data]).map((b) => new Uint8Array(b));
    const digest = sha256(node, parts);
    const json: Record<string, unknown> = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }],
    };
    for (const key of [
      'trainingConfig',
      'signature',
      'userDefinedMetadata',
      'modelInitializer',
      'initializerSignature',
    ] as const) {
      if (artifacts[key] != null) json[key] = artifacts[key];
    }
    json.weightsSha256 = { [WEIGHTS_BIN]: digest };
    const jsonBytes = new TextEncoder().encode(JSON.stringify(json));

    const existing = await statOrNull(node, dir);
    if (existing !== null && !existing.isDirectory()) {
      throw new ConfigError({
        where: 'lq.io.fileSystem(path).save',
        received: this.path,
        expected: `a directory or a path that does not exist yet (${dir} is a file)`,
      });
    }
    const created = await node.fs.mkdir(dir, { recursive: true });
    const token = `${process.pid}-${node.crypto.randomBytes(6).toString('hex')}`;
    const tmpWeights = node.path.join(dir, `.${WEIGHTS_BIN}.${token}.tmp`);
    const tmpModel = node.path.join(dir, `.${MODEL_JSON}.${token}.tmp`);
    const backup = node.path.join(dir, `.${WEIGHTS_BIN}.${token}.bak`);
    let hadWeights = false;
    let weightsReplaced = false;
    try {
      await writeNewFile(node, tmpWeights, parts);
      await writeNewFile(node, tmpModel, [jsonBytes]);
      // Keep the old weights reachable until model.json is in place, so a failure between the two
      // renames can put them back. A hard link costs no copy; fall back to copying where links fail.
      if ((await statOrNull(node, weightsPath)) !== null) {
        try {
          await node.fs.link(weightsPath, backup);
        } catch {
          await node.fs.copyFile(weightsPath, backup);
        }
        hadWeights = true;
      }
      await node.fs.rename(tmpWeights, weightsPath);
      weightsReplaced = true;
      await node.fs.rename(tmpModel, modelPath);
    } catch (e) {
      if (weightsReplaced) {
        if (hadWeights) await node.fs.rename(backup, weightsPath).catch(() => undefined);
        else await removeQuietly(node, weightsPath);
      }
      await Promise.all([tmpWeights, tmpModel, backup].map((p) => removeQuietly(node, p)));
      if (created !== undefined) await removeCreatedDirs(node, dir, created);
      throw e;
    }
    if (hadWeights) await removeQuietly(node, backup);
    await syncDirectory(node, dir);
    return {
      modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts),
      modelPath,
      weightsPath,
      weightsSha256: digest,
    };
  }

  /** Loads and validates the model; see the class description. */
  async load(): Promise<tf.io.ModelArtifacts> {
    const node = await nodeModules();
    const given = node.path.resolve(this.path);
    const stat = await statOrNull(node, given);
    if (stat === null) {
      throw new ConfigError({
        where: 'lq.io.fileSystem(path).load',
        received: this.path,
        expected: `a model directory holding ${MODEL_JSON}, or the path of a model.json (nothing exists at ${given})`,
      });
    }
    const modelPath = stat.isDirectory() ? node.path.join(given, MODEL_JSON) : given;
    const dir = node.path.dirname(modelPath);
    const modelStat = await statOrNull(node, modelPath);
    if (modelStat === null || !modelStat.isFile()) {
      throw new FormatError({
        source: modelPath,
        problem: modelStat === null ? 'the file does not exist' : 'this is not a regular file',
        expected: `a ${MODEL_JSON} as written by model.save()`,
      });
    }
    if (modelStat.size > MAX_MODEL_JSON_BYTES) {
      throw new FormatError({
        source: modelPath,
        problem: `the file has ${modelStat.size} bytes`,
        expected: `at most ${MAX_MODEL_JSON_BYTES} bytes (a layers model topology is far smaller)`,
      });
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(
        await readExact(node, modelPath, modelStat.size),
      );
    } catch (e) {
      if (e instanceof FormatError) throw e;
      throw new FormatError({
        source: modelPath,
        problem: 'the file is not valid UTF-8 text',
        expected: 'JSON text',
      });
    }
    const model = parseModelJson(text, modelPath);
    const { specs, data } = await this.readWeights(node, dir, model);
    return tf.io.getModelArtifactsForJSON(model.json, async () => [specs, data]);
  }

  private async readWeights(
    node: NodeModules,
    dir: string,
    model: ValidatedModelJson,
  ): Promise<{ specs: tf.io.WeightsManifestEntry[]; data: tf.io.WeightData }> {
    // First every size, then any allocation: a truncated or padded file fails without reading anything.
    const files: { path: string; size: number; name: string }[] = [];
    for (const [g, group] of model.groups.entries()) {
      let total = 0;
      const groupFiles = [];
      for (const name of group.paths) {
        const path = node.path.join(dir, name);
        const stat = await statOrNull(node, path);
        if (stat === null || !stat.isFile()) {
          throw new FormatError({
            source: path,
            problem:
              stat === null ? 'the weight file does not exist' : 'the weight file is not a regular file',
            expected: `the file listed in ${node.path.join(dir, MODEL_JSON)} weightsManifest[${g}].paths`,
          });
        }
        total += stat.size;
        groupFiles.push({ path, size: stat.size, name });
      }
      if (total !== group.byteLength) {
        const source = groupFiles.map((f) => f.path).join(' + ');
        throw new FormatError({
          source,
          problem: `${groupFiles.length > 1 ? 'the files have' : 'the file has'} ${total} bytes but weightsManifest[${g}] describes ${group.byteLength} (${total < group.byteLength ? 'truncated' : 'extra bytes'})`,
          expected: `${group.byteLength} bytes: the sum over its ${group.weights.length} weights of product(shape) x bytes per value (float32/int32 4, bool 1, complex64 8)`,
        });
      }
      files.push(...groupFiles);
    }
    const buffers: ArrayBuffer[] = [];
    for (const file of files) {
      const buffer = await readExact(node, file.path, file.size);
      const recorded = model.weightsSha256?.[file.name];
      if (recorded !== undefined) {
        const actual = sha256(node, [new Uint8Array(buffer)]);
        if (actual !== recorded) {
          throw new FormatError({
            source: file.path,
            problem: `its SHA-256 is ${actual} but model.json records ${recorded}: the two files come from different saves or the weights were altered`,
            expected: 'model.json and weights.bin from the same save',
          });
        }
      }
      buffers.push(buffer);
    }
    const specs = model.groups.flatMap((g) => g.weights);
    const data = buffers.length === 1 ? buffers[0]! : buffers.length === 0 ? new ArrayBuffer(0) : buffers;
    return { specs, data };
  }
}

/** Removes the empty directories a failed save created, from `dir` up to and including `created`. */
async function removeCreatedDirs(node: NodeModules, dir: string, created: string): Promise<void> {
  let current = dir;
  for (;;) {
    try {
      await node.fs.rmdir(current);
    } catch {
      return; // not empty (someone else wrote there) or already gone: leave it
    }
    if (current === created) return;
    const parent = node.path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/**
 * An IOHandler that saves a tfjs model to, and loads it from, a directory in Node.
 *
 * The files are TensorFlow.js's standard layers-model format: `model.json` (topology + weights
 * manifest with `paths: ['weights.bin']`) and `weights.bin` (all weights back to back, little-endian),
 * so a browser loads the same directory served over HTTP with `tf.loadLayersModel(url + '/model.json')`.
 * Saving is atomic; loading validates before allocating and throws {@link FormatError} on corrupt files.
 *
 * @param path A directory (created if missing), or the path of a `model.json` inside one; a leading
 *   `file://` is accepted and dropped.
 * @example
 * ```ts
 * await model.save(lq.io.fileSystem('out/mnist'));
 * const again = await tfl.loadLayersModel(lq.io.fileSystem('out/mnist'));
 * ```
 */
export function fileSystem(path: string): FileSystemHandler {
  return new FileSystemHandler(path);
}

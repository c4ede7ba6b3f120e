/**
 * Validation of tfjs's layers-model format (model.json + binary weight files) before anything is
 * allocated from it. Browser-safe: no Node imports.
 *
 * The format is TensorFlow.js's own (`tf.io.ModelJSON`): a JSON object with `modelTopology` (the Keras
 * topology, snake_case keys) and `weightsManifest`, an array of groups `{paths, weights}`, where each
 * group's files, concatenated in order, hold its weights back to back, each weight as
 * `product(shape)` little-endian values of its dtype (or of its `quantization.dtype`).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { describe, FormatError } from '../errors.js';

/** Bytes per value of every weight dtype lowbit reads and writes (as tfjs's `DTYPE_VALUE_SIZE_MAP`). */
export const WEIGHT_DTYPE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
});

/** Bytes per stored value of the quantized encodings tfjs's converter writes (`--quantize_*`). */
export const QUANTIZED_DTYPE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  uint8: 1,
  uint16: 2,
  float16: 2,
});

/** The file name lowbit writes a model's topology and manifest to. */
export const MODEL_JSON = 'model.json';
/** The file name lowbit writes a model's weights to (the manifest's only path). */
export const WEIGHTS_BIN = 'weights.bin';

/**
 * The largest model.json lowbit reads (256 MiB). A layers model's topology is kilobytes to a few
 * megabytes; anything bigger is not a layers model and is refused before it is read into memory.
 */
export const MAX_MODEL_JSON_BYTES = 256 * 1024 * 1024;

const SHA256_HEX = /^[0-9a-f]{64}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function fail(source: string, problem: string, expected?: string): never {
  throw new FormatError({ source, problem, expected });
}

/**
 * Checks that a weights-manifest path is a plain relative file name inside the model's directory:
 * no absolute path, no `..` segment, no backslash, no URL scheme. A hostile model.json cannot make
 * the loader read files outside its directory.
 */
export function validateWeightPath(path: unknown, source: string, where: string): string {
  const expected = 'a relative file path inside the model directory, e.g. "weights.bin"';
  if (typeof path !== 'string' || path.length === 0) fail(source, `${where} is ${describe(path)}`, expected);
  const segments = path.split('/');
  if (
    path.startsWith('/') ||
    path.includes('\\') ||
    path.includes('\0') ||
    /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path) ||
    segments.some((s) => s === '..' || s === '.' || s === '')
  ) {
    fail(
      source,
      `${where} is ${JSON.stringify(path)}, which leaves the model directory or is not a file name`,
      expected,
    );
  }
  return path;
}

/**
 * Number of values a weight of this shape holds: the product of its dimensions.
 * Every dimension must be a non-negative safe integer and the product must stay a safe integer
 * (<= 2^53 - 1), so a hostile shape is refused instead of overflowing.
 */
export function shapeSize(shape: unknown, source: string, where: string): number {
  const expected = 'an array of non-negative integers whose product is at most 2^53 - 1';
  if (!Array.isArray(shape)) fail(source, `${where} is ${describe(shape)}`, expected);
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(source, `${where}[${i}] is ${describe(d)}`, expected);
    }
    size *= d;
    if (!Number.isSafeInteger(size)) {
      fail(source, `${where} [${shape.join(', ')}] has more than 2^53 - 1 elements`, expected);
    }
  }
  return size;
}

/**
 * Validates one weights-manifest entry and returns its byte length in the weight file:
 * `product(shape) * bytes(dtype)`, or `product(shape) * bytes(quantization.dtype)` when quantized.
 */
export function validateWeightSpec(entry: unknown, source: string, where: string): number {
  if (!isPlainObject(entry)) fail(source, `${where} is ${describe(entry)}`, 'an object {name, shape, dtype}');
  if (typeof entry.name !== 'string' || entry.name.length === 0) {
    fail(source, `${where}.name is ${describe(entry.name)}`, 'a non-empty string');
  }
  const at = `${where} (${JSON.stringify(entry.name)})`;
  const size = shapeSize(entry.shape, source, `${at}.shape`);
  const dtype = entry.dtype;
  const validDtypes = Object.keys(WEIGHT_DTYPE_BYTES).join(', ');
  if (dtype === 'string') {
    fail(source, `${at}.dtype is "string"; a layers model has no string weights`, `one of ${validDtypes}`);
  }
  if (typeof dtype !== 'string' || !Object.hasOwn(WEIGHT_DTYPE_BYTES, dtype)) {
    fail(source, `${at}.dtype is ${describe(dtype)}`, `one of ${validDtypes}`);
  }
  if (entry.group !== undefined && entry.group !== 'model' && entry.group !== 'optimizer') {
    fail(source, `${at}.group is ${describe(entry.group)}`, '"model", "optimizer" or absent');
  }
  if (entry.quantization === undefined) return size * WEIGHT_DTYPE_BYTES[dtype]!;
  const q = entry.quantization;
  if (!isPlainObject(q))
    fail(source, `${at}.quantization is ${describe(q)}`, 'an object {dtype, scale, min}');
  const validQ = Object.keys(QUANTIZED_DTYPE_BYTES).join(', ');
  if (typeof q.dtype !== 'string' || !Object.hasOwn(QUANTIZED_DTYPE_BYTES, q.dtype)) {
    fail(source, `${at}.quantization.dtype is ${describe(q.dtype)}`, `one of ${validQ}`);
  }
  if (q.dtype === 'float16') {
    if (dtype !== 'float32') {
      fail(source, `${at} is ${dtype} quantized as float16`, 'float16 quantization only of float32 weights');
    }
  } else {
    if (dtype !== 'float32' && dtype !== 'int32') {
      fail(
        source,
        `${at} is ${dtype} quantized as ${q.dtype}`,
        `${q.dtype} quantization only of float32 or int32 weights`,
      );
    }
    for (const key of ['scale', 'min'] as const) {
      if (typeof q[key] !== 'number' || !Number.isFinite(q[key])) {
        fail(
          source,
          `${at}.quantization.${key} is ${describe(q[key])}`,
          `a finite number (required by ${q.dtype})`,
        );
      }
    }
  }
  return size * QUANTIZED_DTYPE_BYTES[q.dtype]!;
}

/**
 * Validates a list of weight specs (one manifest group, or the specs a model hands to a save handler)
 * and returns the total byte length they describe. Duplicate weight names are refused.
 */
export function validateWeightSpecs(
  specs: unknown,
  source: string,
  where: string,
  seen = new Set<string>(),
): number {
  if (!Array.isArray(specs)) fail(source, `${where} is ${describe(specs)}`, 'an array of weight specs');
  let total = 0;
  specs.forEach((entry, i) => {
    total += validateWeightSpec(entry, source, `${where}[${i}]`);
    const name = (entry as { name: string }).name;
    if (seen.has(name))
      fail(source, `weight name ${JSON.stringify(name)} appears twice`, 'unique weight names');
    seen.add(name);
  });
  if (!Number.isSafeInteger(total))
    fail(source, `${where} describes more than 2^53 - 1 bytes`, 'a loadable size');
  return total;
}

/** One weights-manifest group after validation, with the byte length its files must have together. */
export interface ValidatedGroup {
  /** Relative file paths, in order. */
  paths: string[];
  /** The group's weight specs, in file order. */
  weights: tf.io.WeightsManifestEntry[];
  /** Sum over the specs of product(shape) x bytes per value. */
  byteLength: number;
}

/** A model.json that passed {@link validateModelJson}, plus its manifest groups' expected sizes. */
export interface ValidatedModelJson {
  json: tf.io.ModelJSON;
  groups: ValidatedGroup[];
  /** SHA-256 (lowercase hex) of each weight file, when model.json records it (lowbit writes it). */
  weightsSha256?: Record<string, string>;
}

const OPTIONAL_OBJECTS = [
  'trainingConfig',
  'userDefinedMetadata',
  'signature',
  'modelInitializer',
  'initializerSignature',
];

/**
 * Validates a parsed model.json: a JSON object with an object `modelTopology` and an array
 * `weightsManifest` of groups `{paths: string[], weights: WeightsManifestEntry[]}`; optional fields
 * must have their documented types. Throws {@link FormatError} naming `source`, what was wrong and
 * what is valid. Allocates nothing proportional to the weights.
 */
export function validateModelJson(value: unknown, source: string): ValidatedModelJson {
  const topExpected = 'a JSON object {modelTopology, weightsManifest, ...} as written by tfjs model.save()';
  if (!isPlainObject(value)) fail(source, `the top-level value is ${describe(value)}`, topExpected);
  if (!('modelTopology' in value)) fail(source, 'modelTopology is missing', topExpected);
  if (!isPlainObject(value.modelTopology)) {
    fail(
      source,
      `modelTopology is ${describe(value.modelTopology)}`,
      'a JSON object (the Keras model topology)',
    );
  }
  if (!('weightsManifest' in value)) fail(source, 'weightsManifest is missing', topExpected);
  const manifest = value.weightsManifest;
  if (!Array.isArray(manifest)) {
    fail(source, `weightsManifest is ${describe(manifest)}`, 'an array of groups {paths, weights}');
  }
  for (const key of ['format', 'generatedBy'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'string') {
      fail(source, `${key} is ${describe(value[key])}`, 'a string or absent');
    }
  }
  if (
    value.convertedBy !== undefined &&
    value.convertedBy !== null &&
    typeof value.convertedBy !== 'string'
  ) {
    fail(source, `convertedBy is ${describe(value.convertedBy)}`, 'a string, null or absent');
  }
  for (const key of OPTIONAL_OBJECTS) {
    if (value[key] !== undefined && !isPlainObject(value[key])) {
      fail(source, `${key} is ${describe(value[key])}`, 'a JSON object or absent');
    }
  }
  const seenNames = new Set<string>();
  const seenPaths = new Set<string>();
  const groups = manifest.map((group, g): ValidatedGroup => {
    const where = `weightsManifest[${g}]`;
    if (!isPlainObject(group)) fail(source, `${where} is ${describe(group)}`, 'an object {paths, weights}');
    if (!Array.isArray(group.paths) || group.paths.length === 0) {
      fail(source, `${where}.paths is ${describe(group.paths)}`, 'a non-empty array of relative file paths');
    }
    const paths = group.paths.map((p, i) => {
      const path = validateWeightPath(p, source, `${where}.paths[${i}]`);
      if (seenPaths.has(path))
        fail(source, `weight file ${JSON.stringify(path)} is listed twice`, 'each file once');
      seenPaths.add(path);
      return path;
    });
    const byteLength = validateWeightSpecs(group.weights, source, `${where}.weights`, seenNames);
    return { paths, weights: group.weights as tf.io.WeightsManifestEntry[], byteLength };
  });
  let weightsSha256: Record<string, string> | undefined;
  if (value.weightsSha256 !== undefined) {
    const sums = value.weightsSha256;
    if (!isPlainObject(sums))
      fail(source, `weightsSha256 is ${describe(sums)}`, 'an object {file: sha256 hex}');
    for (const [file, sum] of Object.entries(sums)) {
      if (!seenPaths.has(file)) {
        fail(
          source,
          `weightsSha256 names ${JSON.stringify(file)}, which is not in weightsManifest`,
          'manifest paths',
        );
      }
      if (typeof sum !== 'string' || !SHA256_HEX.test(sum)) {
        fail(source, `weightsSha256[${JSON.stringify(file)}] is ${describe(sum)}`, '64 lowercase hex digits');
      }
    }
    weightsSha256 = sums as Record<string, string>;
  }
  return { json: value as unknown as tf.io.ModelJSON, groups, weightsSha256 };
}

/**
 * Parses model.json text and validates it with {@link validateModelJson}.
 * Invalid JSON gets a {@link FormatError} naming `source` and the parser's complaint.
 */
export function parseModelJson(text: string, source: string): ValidatedModelJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const hint = text.trim().length === 0 ? 'the file is empty' : `invalid JSON (${reason})`;
    fail(source, hint, 'a JSON object {modelTopology, weightsManifest, ...} as written by tfjs model.save()');
  }
  return validateModelJson(value, source);
}

/** Total byte length of `ArrayBuffer | ArrayBuffer[]` weight data, checking every part is an ArrayBuffer. */
export function weightDataByteLength(data: unknown, source: string): number {
  const parts = Array.isArray(data) ? data : [data];
  let total = 0;
  parts.forEach((part, i) => {
    if (!(part instanceof ArrayBuffer)) {
      const where = Array.isArray(data) ? `weightData[${i}]` : 'weightData';
      fail(source, `${where} is ${describe(part)}`, 'an ArrayBuffer or an array of ArrayBuffers');
    }
    total += part.byteLength;
  });
  return total;
}

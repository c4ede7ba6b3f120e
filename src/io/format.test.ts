import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FormatError } from '../errors.js';
import {
  fileSystem,
  loadModel,
  MAX_MODEL_JSON_BYTES,
  parseModelJson,
  saveModel,
  shapeSize,
  validateWeightPath,
  validateWeightSpec,
} from './index.js';

const fsp = process.getBuiltinModule('node:fs/promises') as typeof import('node:fs/promises');

let root: string;
let goodJson: Record<string, unknown>;
let goodBin: Buffer;
let model: tfl.LayersModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-format-'));
  // dense 4->3 (kernel 4x3 + bias 3) and batchnorm over 3 (gamma, beta, moving mean, moving variance):
  // 12 + 3 + 4 * 3 = 27 float32 values = 108 bytes.
  model = tfl.sequential({
    layers: [tfl.layers.dense({ units: 3, inputShape: [4] }), tfl.layers.batchNormalization()],
  });
  const dir = path.join(root, 'good');
  await saveModel(model, dir);
  goodJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  goodBin = fs.readFileSync(path.join(dir, 'weights.bin'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

let counter = 0;
// biome-ignore lint/suspicious/noExplicitAny: the tests edit arbitrary JSON
type Json = Record<string, any>;

/** A model directory with model.json edited by `editJson` (or replaced by raw text) and weights.bin by `bin`. */
function writeCase(edit: ((json: Json) => void) | string, bin: Buffer = goodBin): string {
  counter += 1;
  const dir = path.join(root, `case-${counter}`);
  fs.mkdirSync(dir);
  let text: string;
  if (typeof edit === 'string') text = edit;
  else {
    const json = structuredClone(goodJson) as Json;
    edit(json);
    text = JSON.stringify(json);
  }
  fs.writeFileSync(path.join(dir, 'model.json'), text);
  fs.writeFileSync(path.join(dir, 'weights.bin'), bin);
  return dir;
}

async function loadError(dir: string): Promise<FormatError> {
  const err = await fileSystem(dir)
    .load()
    .then(
      () => undefined,
      (e) => e,
    );
  expect(err).toBeInstanceOf(FormatError);
  return err as FormatError;
}

const spec = (json: Json, i: number): Json => json.weightsManifest[0].weights[i];

describe('the good model', () => {
  it('has the byte count computed by hand (27 float32 values) and loads', async () => {
    expect(goodBin.length).toBe(108);
    expect(spec(goodJson, 0).shape).toEqual([4, 3]);
    const dir = writeCase(() => {});
    const loaded = await loadModel(dir);
    expect(loaded.weights).toHaveLength(6);
  });
});

describe('corrupt model.json gets a FormatError naming the file, the problem and what is valid', () => {
  const cases: [string, ((json: Json) => void) | string, RegExp][] = [
    [
      'invalid JSON',
      '{"modelTopology": {',
      /invalid JSON \(.+\); expected a JSON object \{modelTopology, weightsManifest/,
    ],
    ['an empty file', '', /the file is empty/],
    ['truncated JSON', '{"modelTopology":{"class_name":"Sequ', /invalid JSON/],
    ['a top-level array', '[1, 2]', /the top-level value is an array of length 2/],
    ['a top-level string', '"model"', /the top-level value is "model"/],
    ['missing modelTopology', (j) => delete j.modelTopology, /modelTopology is missing/],
    [
      'modelTopology a string',
      (j) => (j.modelTopology = 'x'),
      /modelTopology is "x"; expected a JSON object/,
    ],
    ['modelTopology null', (j) => (j.modelTopology = null), /modelTopology is null/],
    ['missing weightsManifest', (j) => delete j.weightsManifest, /weightsManifest is missing/],
    [
      'weightsManifest an object',
      (j) => (j.weightsManifest = {}),
      /weightsManifest is an object \{\}; expected an array/,
    ],
    ['a group that is a number', (j) => (j.weightsManifest = [42]), /weightsManifest\[0\] is 42/],
    [
      'a group without paths',
      (j) => delete j.weightsManifest[0].paths,
      /weightsManifest\[0\]\.paths is undefined/,
    ],
    [
      'empty paths',
      (j) => (j.weightsManifest[0].paths = []),
      /paths is an array of length 0; expected a non-empty/,
    ],
    [
      'a path leaving the directory',
      (j) => (j.weightsManifest[0].paths = ['../weights.bin']),
      /leaves the model directory/,
    ],
    [
      'an absolute path',
      (j) => (j.weightsManifest[0].paths = ['/etc/passwd']),
      /"\/etc\/passwd", which leaves/,
    ],
    [
      'a URL path',
      (j) => (j.weightsManifest[0].paths = ['http://x/w.bin']),
      /which leaves the model directory/,
    ],
    ['a path that is a number', (j) => (j.weightsManifest[0].paths = [7]), /paths\[0\] is 7/],
    [
      'the same file twice',
      (j) => (j.weightsManifest[0].paths = ['weights.bin', 'weights.bin']),
      /listed twice/,
    ],
    [
      'weights not an array',
      (j) => (j.weightsManifest[0].weights = 'w'),
      /weights is "w"; expected an array/,
    ],
    [
      'a weight without name',
      (j) => delete spec(j, 0).name,
      /weights\[0\]\.name is undefined; expected a non-empty string/,
    ],
    [
      'a shape that is not an array',
      (j) => (spec(j, 0).shape = 12),
      /\.shape is 12; expected an array of non-negative/,
    ],
    [
      'a negative dimension',
      (j) => (spec(j, 0).shape = [-4, 3]),
      /\.shape\[0\] is -4; expected an array of non-negative integers/,
    ],
    [
      'a non-integer dimension',
      (j) => (spec(j, 1).shape = [2.5]),
      /weights\[1\] \(".+\/bias"\)\.shape\[0\] is 2\.5/,
    ],
    ['a dimension given as a string', (j) => (spec(j, 1).shape = ['3']), /\.shape\[0\] is "3"/],
    ['a dimension above 2^53', (j) => (spec(j, 1).shape = [2 ** 60]), /\.shape\[0\] is 1152921504606847000/],
    [
      'dimensions whose product overflows',
      (j) => (spec(j, 0).shape = [2 ** 31, 2 ** 31, 2 ** 31]),
      /\.shape \[2147483648, 2147483648, 2147483648\] has more than 2\^53 - 1 elements/,
    ],
    [
      'an unknown dtype',
      (j) => (spec(j, 0).dtype = 'float64'),
      /dtype is "float64"; expected one of float32, int32, bool, complex64/,
    ],
    [
      'a string dtype',
      (j) => (spec(j, 0).dtype = 'string'),
      /dtype is "string"; a layers model has no string weights/,
    ],
    ['a missing dtype', (j) => delete spec(j, 0).dtype, /dtype is undefined; expected one of/],
    [
      'a bad group tag',
      (j) => (spec(j, 0).group = 'opt'),
      /group is "opt"; expected "model", "optimizer" or absent/,
    ],
    [
      'an unknown quantization dtype',
      (j) => (spec(j, 0).quantization = { dtype: 'int4' }),
      /quantization\.dtype is "int4"; expected one of uint8, uint16, float16/,
    ],
    [
      'uint8 quantization without scale',
      (j) => (spec(j, 0).quantization = { dtype: 'uint8', min: 0 }),
      /quantization\.scale is undefined; expected a finite number \(required by uint8\)/,
    ],
    [
      'float16 quantization of an int32 weight',
      (j) => Object.assign(spec(j, 0), { dtype: 'int32', quantization: { dtype: 'float16' } }),
      /is int32 quantized as float16; expected float16 quantization only of float32 weights/,
    ],
    [
      'duplicate weight names',
      (j) => (spec(j, 1).name = spec(j, 0).name),
      /weight name ".+\/kernel" appears twice; expected unique weight names/,
    ],
    ['format a number', (j) => (j.format = 3), /format is 3; expected a string or absent/],
    [
      'convertedBy a number',
      (j) => (j.convertedBy = 1),
      /convertedBy is 1; expected a string, null or absent/,
    ],
    [
      'trainingConfig a string',
      (j) => (j.trainingConfig = 'adam'),
      /trainingConfig is "adam"; expected a JSON object/,
    ],
    [
      'a malformed checksum',
      (j) => (j.weightsSha256 = { 'weights.bin': 'abc' }),
      /weightsSha256\["weights.bin"\] is "abc"; expected 64 lowercase hex/,
    ],
    [
      'a checksum for an unlisted file',
      (j) => (j.weightsSha256 = { 'x.bin': '0'.repeat(64) }),
      /names "x.bin", which is not in weightsManifest/,
    ],
  ];

  it.each(cases)('%s', async (_name, edit, pattern) => {
    const dir = writeCase(edit);
    const open = vi.spyOn(fsp, 'open');
    const err = await loadError(dir);
    expect(err.message.startsWith(`${path.join(dir, 'model.json')}: `)).toBe(true);
    expect(err.message).toMatch(pattern);
    expect(err.message).toContain('expected');
    // Nothing but model.json was opened: the weights were never read.
    expect(open.mock.calls.map((c) => path.basename(String(c[0])))).toEqual(['model.json']);
  });

  it('an oversized model.json is refused from its size, without reading it', async () => {
    const dir = writeCase(() => {});
    fs.truncateSync(path.join(dir, 'model.json'), MAX_MODEL_JSON_BYTES + 1); // sparse: no real disk use
    const open = vi.spyOn(fsp, 'open');
    const err = await loadError(dir);
    expect(err.message).toContain(
      `the file has ${MAX_MODEL_JSON_BYTES + 1} bytes; expected at most ${MAX_MODEL_JSON_BYTES}`,
    );
    expect(open).not.toHaveBeenCalled();
  });

  it('model.json that is not UTF-8 text', async () => {
    const dir = writeCase(() => {});
    fs.writeFileSync(path.join(dir, 'model.json'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect((await loadError(dir)).message).toBe(
      `${path.join(dir, 'model.json')}: the file is not valid UTF-8 text; expected JSON text.`,
    );
  });

  it('model.json that is a directory', async () => {
    const dir = writeCase(() => {});
    fs.rmSync(path.join(dir, 'model.json'));
    fs.mkdirSync(path.join(dir, 'model.json'));
    expect((await loadError(path.join(dir, 'model.json'))).message).toContain('does not exist');
  });
});

describe('corrupt or mismatched weights get a FormatError before any weight is read', () => {
  async function expectWeightsError(dir: string, source: string, pattern: RegExp): Promise<void> {
    const open = vi.spyOn(fsp, 'open');
    const err = await loadError(dir);
    expect(err.message.startsWith(`${source}: `)).toBe(true);
    expect(err.message).toMatch(pattern);
    expect(open.mock.calls.map((c) => path.basename(String(c[0])))).toEqual(['model.json']);
  }

  it('a truncated weights.bin (4 bytes short)', async () => {
    const dir = writeCase(() => {}, goodBin.subarray(0, 104));
    await expectWeightsError(
      dir,
      path.join(dir, 'weights.bin'),
      /the file has 104 bytes but weightsManifest\[0\] describes 108 \(truncated\); expected 108 bytes: the sum over its 6 weights of product\(shape\) x bytes per value/,
    );
  });

  it('a weights.bin with one extra byte', async () => {
    const dir = writeCase(() => {}, Buffer.concat([goodBin, Buffer.from([0])]));
    await expectWeightsError(
      dir,
      path.join(dir, 'weights.bin'),
      /has 109 bytes but weightsManifest\[0\] describes 108 \(extra bytes\)/,
    );
  });

  it('an empty weights.bin', async () => {
    const dir = writeCase(() => {}, Buffer.alloc(0));
    await expectWeightsError(dir, path.join(dir, 'weights.bin'), /has 0 bytes but .* describes 108/);
  });

  it('a shape edited to a huge size is caught by the length check, not by an allocation', async () => {
    // 2^40 float32 values = 4 TiB: allocating it would throw RangeError; validation must come first.
    const dir = writeCase((j) => (spec(j, 1).shape = [2 ** 40]));
    await expectWeightsError(
      dir,
      path.join(dir, 'weights.bin'),
      // the other weights: 108 - 12 (the 3-float bias) = 96 bytes
      new RegExp(`describes ${96 + 4 * 2 ** 40} \\(truncated\\)`),
    );
  });

  it('a spec with a wrong dtype size (int32 vs bool) shifts the total', async () => {
    // bias [3] as bool: 3 bytes instead of 12, so the manifest describes 108 - 12 + 3 = 99 bytes.
    const dir = writeCase((j) => (spec(j, 1).dtype = 'bool'));
    await expectWeightsError(
      dir,
      path.join(dir, 'weights.bin'),
      /has 108 bytes but weightsManifest\[0\] describes 99/,
    );
  });

  it('a missing weights.bin', async () => {
    const dir = writeCase(() => {});
    fs.rmSync(path.join(dir, 'weights.bin'));
    await expectWeightsError(
      dir,
      path.join(dir, 'weights.bin'),
      /the weight file does not exist; expected the file listed in .*weightsManifest\[0\]\.paths/,
    );
  });

  it('shards whose total is short name every file of the group', async () => {
    const dir = writeCase((j) => {
      j.weightsManifest[0].paths = ['a.bin', 'b.bin'];
      delete j.weightsSha256;
    });
    fs.writeFileSync(path.join(dir, 'a.bin'), goodBin.subarray(0, 50));
    fs.writeFileSync(path.join(dir, 'b.bin'), goodBin.subarray(50, 100));
    await expectWeightsError(
      dir,
      `${path.join(dir, 'a.bin')} + ${path.join(dir, 'b.bin')}`,
      /the files have 100 bytes but weightsManifest\[0\] describes 108/,
    );
  });
});

describe('weights from another save (an interrupted save, or an edit) fail the recorded SHA-256', () => {
  it('same length, one byte flipped', async () => {
    const bin = Buffer.from(goodBin);
    bin[17] = bin[17]! ^ 0x01;
    const dir = writeCase(() => {}, bin);
    const err = await loadError(dir);
    expect(err.message).toContain(`${path.join(dir, 'weights.bin')}: its SHA-256 is `);
    expect(err.message).toContain('the two files come from different saves or the weights were altered');
  });

  it('without a recorded checksum (tfjs-node, converter) the same bytes load', async () => {
    const bin = Buffer.from(goodBin);
    bin[17] = bin[17]! ^ 0x01;
    const dir = writeCase((j) => delete j.weightsSha256, bin);
    await expect(loadModel(dir)).resolves.toBeInstanceOf(tfl.LayersModel);
  });
});

describe('byte sizes of weight specs, derived by hand', () => {
  const where = 'w';
  it.each([
    [{ name: 'a', shape: [4, 3], dtype: 'float32' }, 48],
    [{ name: 'a', shape: [5], dtype: 'int32' }, 20],
    [{ name: 'a', shape: [5], dtype: 'bool' }, 5],
    [{ name: 'a', shape: [2], dtype: 'complex64' }, 16],
    [{ name: 'a', shape: [], dtype: 'float32' }, 4],
    [{ name: 'a', shape: [0, 7], dtype: 'float32' }, 0],
    [
      { name: 'a', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.1, min: -1 } },
      6,
    ],
    [{ name: 'a', shape: [2, 3], dtype: 'int32', quantization: { dtype: 'uint16', scale: 1, min: 0 } }, 12],
    [{ name: 'a', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'float16' } }, 12],
  ])('%j is %i bytes', (entry, bytes) => {
    expect(validateWeightSpec(entry, 'x.json', where)).toBe(bytes);
  });

  it('shapeSize multiplies up to 2^53 - 1 and no further', () => {
    expect(shapeSize([2 ** 26, 2 ** 26], 's', 'shape')).toBe(2 ** 52);
    expect(() => shapeSize([2 ** 27, 2 ** 27], 's', 'shape')).toThrow(FormatError);
  });

  it('weight paths: plain relative names inside the directory only', () => {
    for (const ok of ['weights.bin', 'group1-shard1of2.bin', 'sub/dir/w.bin']) {
      expect(validateWeightPath(ok, 's', 'p')).toBe(ok);
    }
    for (const bad of [
      '',
      '..',
      'a/../../b',
      './w.bin',
      'a//b',
      'C:\\w.bin',
      'a\\b',
      'file:w.bin',
      'w\0.bin',
    ]) {
      expect(() => validateWeightPath(bad, 's', 'p')).toThrow(FormatError);
    }
  });

  it('parseModelJson accepts what tfjs writes and reports the sizes per group', () => {
    const parsed = parseModelJson(JSON.stringify(goodJson), 'model.json');
    expect(parsed.groups.map((g) => g.byteLength)).toEqual([108]);
    expect(parsed.groups[0]!.paths).toEqual(['weights.bin']);
  });
});

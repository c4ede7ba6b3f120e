/**
 * Pieces shared by the training commands: option parsers, backend selection, the model directory
 * layout and the optimizers `--optimizer` names.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { InvalidArgumentError } from 'commander';
import { backend, ConfigError, FormatError, io, optimizers, plot } from '../../index.js';
import { larqAdam } from '../../train/index.js';

/** commander parser of a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1.');
  return n;
}

/** commander parser of an integer option (any sign). */
export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer.');
  return n;
}

/** commander parser of a positive finite number (learning rates). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0.');
  return n;
}

/** The values of `--backend`: 'auto' (the fastest registered) or a registered backend's name. */
export function backendChoices(): string[] {
  return ['auto', ...backend.registeredBackends()];
}

/**
 * Activates the backend named by `--backend` and returns its name: 'auto' picks the fastest
 * registered one ('tensorflow' > 'wasm' > 'cpu').
 *
 * @throws ConfigError for a backend that is not registered.
 */
export async function selectBackend(name: string): Promise<string> {
  if (name === 'auto') return backend.useFastestBackend();
  await backend.setBackend(name);
  return tf.getBackend();
}

/** The optimizers `lowbit train --optimizer` can build. */
export const OPTIMIZER_NAMES = ['adam', 'bop', 'case'] as const;

/** One of {@link OPTIMIZER_NAMES}. */
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** Bop's defaults in the CLI: Larq's (threshold 1e-8, gamma 1e-4; Helwegen et al. 2019). */
export const BOP_DEFAULTS = { threshold: 1e-8, gamma: 1e-4 } as const;

/**
 * Builds the optimizer `--optimizer name` stands for:
 * - `adam`: Adam(lr, beta1 0.9, beta2 0.999, epsilon 1e-7), Keras's defaults and Larq's recipe (`larqAdam`);
 * - `bop`: Bop (threshold 1e-8, gamma 1e-4) for every variable: only for models whose trainable
 *   variables are all binary (precision 1);
 * - `case`: CaseOptimizer([[isBinaryVariable, Bop]], Adam(lr)): Bop flips the binary kernels,
 *   Adam trains the rest (BatchNorm, float layers), as in Larq's Bop examples (Helwegen et al. 2019,
 *   "Latent Weights Do Not Exist", arXiv 1906.02107).
 *
 * @throws ConfigError for `bop` on a model with non-binary trainable variables (naming the first).
 */
export function buildOptimizer(name: OptimizerName, lr: number, model: tfl.LayersModel): tf.Optimizer {
  if (name === 'adam') return larqAdam(lr);
  if (name === 'bop') {
    const other = model.trainableWeights.find((w) => !optimizers.isBinaryVariable(w));
    if (other) {
      throw new ConfigError({
        where: `lowbit train --optimizer bop: trainable variable '${other.name}' of model '${model.name}'`,
        received: 'a variable that is not binary',
        expected:
          'a model whose trainable variables are all binary; use --optimizer case (Bop for binary kernels, Adam for the rest)',
      });
    }
    return new optimizers.Bop({ ...BOP_DEFAULTS });
  }
  return new optimizers.CaseOptimizer(
    [[optimizers.isBinaryVariable, new optimizers.Bop({ ...BOP_DEFAULTS })]],
    larqAdam(lr),
  );
}

/** Files of a model directory written by `lowbit train`. */
export const RUN_FILES = {
  metrics: 'metrics.json',
  summaryText: 'summary.txt',
  summaryJson: 'summary.json',
  modelJson: 'model.json',
} as const;

/**
 * Loads the model saved in `dir` (model.json + weights.bin), with its optimizer state when the
 * directory is a training checkpoint.
 *
 * @throws ConfigError when `dir` holds no model.json; FormatError for a corrupt one.
 */
export async function loadModelDir(dir: string): Promise<tfl.LayersModel> {
  const { stat } = await import('node:fs/promises');
  const modelJson = join(dir, RUN_FILES.modelJson);
  const found = await stat(modelJson).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!found) {
    throw new ConfigError({
      where: 'model directory',
      received: dir,
      expected: `a directory holding ${RUN_FILES.modelJson} and weights.bin (written by lowbit train or lq.io.saveModel)`,
    });
  }
  // Loading creates the weights' tensors: the backend must be ready.
  await tf.ready();
  return io.loadModel(dir);
}

/** Reads and parses a JSON file, or returns null when it does not exist. */
export async function readJsonIfPresent<T>(path: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new FormatError({
      source: path,
      problem: `invalid JSON (${(e as Error).message})`,
      expected: 'a JSON file written by lowbit',
    });
  }
}

/** Writes `value` as indented JSON to `path` atomically (temp file, then rename). */
export function writeJson(path: string, value: unknown): Promise<void> {
  return plot.writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Writes text to `path` atomically. */
export function writeText(path: string, text: string): Promise<void> {
  return plot.writeFileAtomic(path, text.endsWith('\n') ? text : `${text}\n`);
}

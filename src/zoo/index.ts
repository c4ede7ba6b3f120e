export { type BinaryMlpOptions, binaryMlp } from './binary-mlp.js';
export { type LarqIntroCnnOptions, larqIntroCnn } from './larq-intro-cnn.js';
export { type Lenet5Options, lenet5 } from './lenet5.js';
export { type ResolvedZooOptions, ZOO_OPTION_SPECS, type ZooOptions } from './options.js';
export { QUICKNET_TINY_RECIPE, type QuicknetTinyOptions, quicknetTiny } from './quicknet-tiny.js';
export { get, list, names, type ZooEntry, type ZooOptionsByName } from './registry.js';

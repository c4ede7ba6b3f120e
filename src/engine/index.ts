export * from './builder.js';
export * from './format/crc32.js';
export * from './format/lbm.js';
export * from './ir.js';
export * as reference from './reference/index.js';
export { thresholdsFromAffine } from './reference/transform.js';
export type { Calibration, PopcountStrategy } from './runtime/kernels.js';
export * from './runtime/net.js';
export * from './shapes.js';

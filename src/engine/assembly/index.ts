// Entry point of the engine's WebAssembly module (AssemblyScript, compiled by scripts/build-wasm.mjs
// with --enable simd -O3 --runtime stub). No allocator: the JavaScript side places every buffer in
// the exported memory above heapBase() and grows it as needed.

export { bgemmScalar, bgemmSimd } from './bgemm';
export { denseSigns, denseSignsScratchBytes } from './dense-signs';
export { convPoolF32, convPoolScratchBytes } from './fused';
export { thresholdSigns } from './threshold';
export { convPoolU8, convPoolU8ScratchBytes } from './fused-u8';
export { im2colBits, im2colF32, padRows } from './im2col';
export { packSigns } from './pack';
export { denseU8, sgemm } from './sgemm';
export { runJob } from './jobs';
export { affineRows, maxPoolBits, outBits, outFloat } from './transform';

/** First free byte of linear memory (end of static data). */
export function heapBase(): usize {
  return __heap_base;
}
export {
  addF32,
  affineF32,
  avgPoolF32,
  batchNormF32,
  dequantizeU8,
  globalAvgPoolF32,
  maxPoolF32,
  reluF32,
} from './float-ops';

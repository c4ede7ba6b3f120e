/**
 * Lists the kernels the cpu backend registers and the wasm backend lacks, before and after lowbit's
 * registration, with the decision taken for each, and the wasm kernels lowbit replaces.
 *
 *   npx tsx bench/backend-kernels.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

/** Why a kernel missing on wasm is left missing: no layer lowbit trains uses it. */
const NOT_NEEDED: Record<string, string> = {
  Complex: 'complex numbers',
  ComplexAbs: 'complex numbers',
  Imag: 'complex numbers',
  Real: 'complex numbers',
  FFT: 'signal processing',
  IFFT: 'signal processing',
  Einsum: 'no tfjs-layers layer uses einsum',
  Draw: 'canvas drawing (browser display helper)',
  RaggedGather: 'ragged tensors',
  RaggedRange: 'ragged tensors',
  RaggedTensorToTensor: 'ragged tensors',
  StaticRegexReplace: 'strings',
};

function missing(): string[] {
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  return tf
    .getKernelsForBackend('cpu')
    .map((k) => k.kernelName)
    .filter((n) => !have.has(n))
    .sort();
}

async function main(): Promise<void> {
  const before = missing();
  const lowbit = await import('../src/backend/index.js');
  const after = new Set(missing());
  const lines = ['Kernels registered for cpu but not for wasm (tfjs 4.22):', ''];
  for (const name of before) {
    const decision = after.has(name)
      ? `left missing: ${NOT_NEEDED[name] ?? 'UNDECIDED'}`
      : 'registered by lowbit, built from ops wasm has';
    lines.push(`- ${name}: ${decision}`);
  }
  lines.push('', 'Stock wasm kernels lowbit replaces (slow or wrong):', '');
  for (const name of Object.keys(lowbit.WASM_OVERRIDES)) lines.push(`- ${name}`);
  lines.push('', 'Stock cpu kernels lowbit replaces (wrong):', '');
  for (const name of Object.keys(lowbit.CPU_OVERRIDES)) lines.push(`- ${name}`);
  lines.push(
    '',
    'Gradients lowbit adds or fixes on every backend: Conv3DBackpropInputV2 (missing), Prod (used chained',
    'tensor methods absent with tfjs-core alone), Cumsum (transposed result for non-last axes).',
    '',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  const undecided = [...after].filter((n) => NOT_NEEDED[n] == null);
  process.exit(undecided.length > 0 ? 1 : 0);
}

void main();

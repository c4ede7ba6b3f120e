import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WASM_BASE64, WASM_BYTE_LENGTH, WASM_SOURCE_HASH } from './runtime/wasm-binary.js';

const here = fileURLToPath(new URL('.', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Module specifiers of static imports, re-exports and dynamic imports in a TypeScript file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g))
    specs.push(m[1]);
  for (const m of text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) specs.push(m[1]);
  return specs;
}

describe('engine module boundaries', () => {
  const files = walk(here)
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => !relative(here, f).startsWith('convert') && !relative(here, f).startsWith('assembly'));

  it('the import scanner sees imports (self-check)', () => {
    expect(importsOf(join(here, 'runtime/net.ts'))).toContain('./kernels.js');
    expect(files.length).toBeGreaterThan(15);
  });

  it('nothing under src/engine (outside convert/) imports @tensorflow/*', () => {
    const offenders = files.filter((f) => importsOf(f).some((s) => s.startsWith('@tensorflow/')));
    expect(offenders.map((f) => relative(here, f))).toEqual([]);
  });

  it('no runtime file (the lowbit/engine entry and everything it reaches) imports the converter in convert/', () => {
    const offenders = files
      .filter((f) => !f.endsWith('.test.ts'))
      .flatMap((f) =>
        importsOf(f)
          .filter((s) => /(^|\/)convert(\/|\.js$|$)/.test(s))
          .map((s) => `${relative(here, f)}: ${s}`),
      );
    expect(offenders).toEqual([]);
  });

  it('runtime code (not tests) imports only relative modules, so it bundles for browsers', () => {
    const runtime = files.filter((f) => !f.endsWith('.test.ts'));
    const offenders = runtime.flatMap((f) =>
      importsOf(f)
        .filter((s) => !s.startsWith('.'))
        .map((s) => `${relative(here, f)}: ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the embedded WebAssembly binary was built from the current AssemblyScript sources (npm run build:wasm)', () => {
    const dir = join(here, 'assembly');
    const h = createHash('sha256');
    for (const f of readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .sort()) {
      h.update(f);
      h.update(readFileSync(join(dir, f)));
    }
    expect(WASM_SOURCE_HASH).toBe(h.digest('hex'));
    const bytes = Buffer.from(WASM_BASE64, 'base64');
    expect(bytes.length).toBe(WASM_BYTE_LENGTH);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x00, 0x61, 0x73, 0x6d]);
  });
});

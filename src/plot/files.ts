/**
 * Writing report files from Node: atomic writes (temp file in the same directory, then rename) and a
 * helper that writes a chart as SVG and PNG side by side. Node only (imports node:fs lazily).
 */
import { ConfigError } from '../errors.js';
import { nodeBuiltin } from '../util/node.js';
import type { VegaLiteSpec } from './chart.js';
import { renderSvg, svgToPng } from './render.js';

/**
 * Writes `data` to `path` atomically: a temp file next to it, then rename, so readers never see a
 * half-written file. Creates the directory if needed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ConfigError({
      where: 'plot.writeFileAtomic path',
      received: path,
      expected: 'a non-empty path',
    });
  }
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises', 'plot.writeFileAtomic');
  const nodePath = await nodeBuiltin<typeof import('node:path')>('path', 'plot.writeFileAtomic');
  const dir = nodePath.dirname(path);
  await fs.mkdir(dir, { recursive: true });
  const tmp = nodePath.join(dir, `.${nodePath.basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Renders `spec` and writes `<basePath>.svg` and `<basePath>.png` (PNG at `scale`, default 2).
 * Returns the two paths.
 */
export async function writeChart(
  spec: VegaLiteSpec,
  basePath: string,
  scale = 2,
): Promise<{ svg: string; png: string }> {
  const svg = await renderSvg(spec);
  const png = await svgToPng(svg, { scale });
  await writeFileAtomic(`${basePath}.svg`, svg);
  await writeFileAtomic(`${basePath}.png`, png);
  return { svg: `${basePath}.svg`, png: `${basePath}.png` };
}

/**
 * Runs the STE study (Yin et al., ICLR 2019, arXiv 1903.05662) and writes the committed report.
 *
 *   npx tsx bench/ste-study.ts [outDir] [--quick]          everything in one process
 *   npx tsx bench/ste-study.ts --part NAME [--parts DIR]    one slow part, saved as DIR/NAME.json
 *   npx tsx bench/ste-study.ts [outDir] --assemble [--parts DIR]
 *        experiments 1-3 computed here, experiments 4-5 read from the saved parts
 *
 * Parts (full settings): deep-mnist (experiment 4 on the embedded MNIST, with the Figure 2 restart),
 * deep-fashion (experiment 4 on Fashion-MNIST), binary-mlp and binary-cnn (experiment 5). Running
 * the parts as separate processes lets a shared machine run them side by side; the assembled report
 * is the same as `runSteStudy({ quick: false })` would write, with each part's wall time recorded.
 * Default outDir reports/ste, default parts directory scratch/ste-parts.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useFastestBackend } from '../src/backend/index.js';
import { writeFileAtomic } from '../src/plot/files.js';
import { stringifyReport } from '../src/study/report.js';
import {
  type BinarySteResult,
  binarySteExperiment,
  binarySteSettings,
  type DeepSteResult,
  deepSteExperiment,
  deepSteSettings,
  runSteStudy,
} from '../src/study/ste/index.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const partsDir = flag('--parts') ?? 'scratch/ste-parts';
const part = flag('--part');
const outDir =
  args.find((a, i) => !a.startsWith('--') && !['--part', '--parts'].includes(args[i - 1] ?? '')) ??
  'reports/ste';
const seed = 2019;
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

if (part) {
  await useFastestBackend();
  const t0 = Date.now();
  let result: unknown;
  if (part === 'deep-mnist' || part === 'deep-fashion') {
    const base = deepSteSettings(false);
    const settings =
      part === 'deep-mnist'
        ? { ...base, datasets: ['mnist' as const] }
        : { ...base, datasets: ['fashion-mnist' as const], restart: { ...base.restart, bits: [] } };
    result = await deepSteExperiment({ settings, seed, log });
  } else if (part === 'binary-mlp' || part === 'binary-cnn') {
    const base = binarySteSettings(false);
    const network = part === 'binary-mlp' ? 'binary-mlp' : 'larq-intro-cnn';
    const settings = { ...base, networks: base.networks.filter((n) => n.network === network) };
    result = await binarySteExperiment({ settings, seed, log });
  } else {
    throw new Error(`unknown part '${part}': expected deep-mnist, deep-fashion, binary-mlp or binary-cnn`);
  }
  await mkdir(partsDir, { recursive: true });
  await writeFileAtomic(join(partsDir, `${part}.json`), stringifyReport(result));
  log(`part ${part} done in ${(Date.now() - t0) / 1000} s`);
} else if (args.includes('--assemble')) {
  const read = async <T>(name: string): Promise<T | null> => {
    try {
      return JSON.parse(await readFile(join(partsDir, `${name}.json`), 'utf8')) as T;
    } catch {
      log(`part ${name} missing: left out`);
      return null;
    }
  };
  const deepParts = (
    await Promise.all(['deep-mnist', 'deep-fashion'].map((n) => read<DeepSteResult>(n)))
  ).filter((x): x is DeepSteResult => x !== null);
  const binParts = (
    await Promise.all(['binary-mlp', 'binary-cnn'].map((n) => read<BinarySteResult>(n)))
  ).filter((x): x is BinarySteResult => x !== null);
  const deep: DeepSteResult | false =
    deepParts.length === 0
      ? false
      : {
          ...deepParts[0],
          settings: {
            ...deepParts[0].settings,
            datasets: deepParts.flatMap((p) => p.settings.datasets),
            restart:
              deepParts.find((p) => p.restarts.length > 0)?.settings.restart ?? deepParts[0].settings.restart,
          },
          datasets: deepParts.flatMap((p) => p.datasets),
          skipped: deepParts.flatMap((p) => p.skipped),
          restarts: deepParts.flatMap((p) => p.restarts),
          // Parts ran side by side: the longest is the wall time of experiment 4.
          seconds: Math.max(...deepParts.map((p) => p.seconds)),
        };
  const binary: BinarySteResult | false =
    binParts.length === 0
      ? false
      : {
          ...binParts[0],
          settings: { ...binParts[0].settings, networks: binParts.flatMap((p) => p.settings.networks) },
          runs: binParts.flatMap((p) => p.runs),
          seconds: Math.max(...binParts.map((p) => p.seconds)),
        };
  const result = await runSteStudy({ quick: false, outDir, deep, binary });
  result.report.meta.partSeconds = {
    ...Object.fromEntries(deepParts.map((p) => [`deep ${p.settings.datasets.join('+')}`, p.seconds])),
    ...Object.fromEntries(
      binParts.map((p) => [`binary ${p.settings.networks.map((n) => n.network).join('+')}`, p.seconds]),
    ),
  };
  await result.report.write(outDir);
  log(
    JSON.stringify({
      mode: 'assembled',
      outDir,
      timingsMs: result.timingsMs,
      parts: result.report.meta.partSeconds,
    }),
  );
} else {
  const result = await runSteStudy({ quick, outDir, log });
  log(
    JSON.stringify({
      mode: quick ? 'quick' : 'full',
      outDir,
      timingsMs: result.timingsMs,
      files: result.files.length,
    }),
  );
}

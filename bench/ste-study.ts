/**
 * Runs the full STE study (experiments 1-3 of Yin et al., ICLR 2019, arXiv 1903.05662 on the toy
 * model) and writes the committed report: `npx tsx bench/ste-study.ts [outDir] [--quick]`
 * (default outDir reports/ste). The wall-clock time per experiment is stored in report.json (meta.timingsMs)
 * and printed.
 */
import { runSteStudy } from '../src/study/ste/run.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outDir = args.find((a) => !a.startsWith('--')) ?? 'reports/ste';
const result = await runSteStudy({ quick, outDir });
process.stdout.write(
  `${JSON.stringify({ mode: quick ? 'quick' : 'full', outDir, timingsMs: result.timingsMs, files: result.files.length })}\n`,
);

/**
 * Shared helpers of the zoo benchmarks (bench/accuracy.ts, bench/train-speed.ts): machine info,
 * command-line flags, medians, atomic writes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Machine facts every result file carries. */
export interface MachineInfo {
  os: string;
  cpu: string;
  cores: number;
  node: string;
  /** 1-, 5- and 15-minute load averages when the run started (the machine is shared). */
  loadAverage: number[];
  date: string;
  commit: string | null;
}

export function machineInfo(): MachineInfo {
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    commit = null;
  }
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    node: process.version,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    date: new Date().toISOString(),
    commit,
  };
}

export function machineLine(m: MachineInfo, backend: string): string {
  return (
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.os}, Node ${m.node}, backend ${backend}; ` +
    `load average at start ${m.loadAverage.join(' / ')} (shared machine); ${m.date}; commit ${m.commit ?? '?'}.`
  );
}

/** Value of `--name value` or `--name=value`, or undefined. */
export function flag(name: string): string | undefined {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return undefined;
}

export function hasFlag(name: string): boolean {
  return process.argv.slice(2).includes(`--${name}`);
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Writes `text` to `path` atomically (temp file in the same directory, then rename). */
export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** The command line that reproduces this run. */
export function commandLine(): string {
  const script = process.argv[1]?.replace(/^.*\/bench\//, 'bench/') ?? '';
  // Arguments with shell characters (e.g. JSON) in single quotes, so the line can be pasted back.
  const quote = (a: string) => (/^[\w./,=:@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['npx tsx', script, ...process.argv.slice(2).map(quote)].join(' ');
}

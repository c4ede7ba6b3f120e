/**
 * The CLI's one error handler: every failure becomes one readable line on stderr and a non-zero
 * exit code, never a stack trace (set LOWBIT_DEBUG=1 to get one for unexpected errors).
 */
import { CommanderError } from 'commander';
import { LowbitError } from '../errors.js';
import type { CliIo } from './io.js';

/** Exit codes of the `lowbit` command. */
export const EXIT_CODES = {
  /** Success. */
  ok: 0,
  /** A lowbit error: bad option value, missing or corrupt file, unsupported feature. */
  error: 1,
  /** Bad command line: unknown command or option, missing or invalid argument. */
  usage: 2,
  /** An unexpected error (a bug in lowbit or a dependency). */
  internal: 70,
  /** Interrupted (Ctrl-C) after saving what could be saved: 128 + SIGINT. */
  interrupted: 130,
} as const;

/** What the CLI reports about an error. */
export interface ErrorReport {
  /** Error class name, e.g. `FormatError`, `UsageError`, `TypeError`. */
  name: string;
  /** The message on one line. */
  message: string;
  exitCode: number;
}

const oneLine = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');

/** True for Node system errors (ENOENT, EACCES, ...): caused by the user's files, not by lowbit. */
function isSystemError(e: unknown): e is Error & { code: string } {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/**
 * Classifies an error for the CLI: lowbit's typed errors and Node system errors exit with 1,
 * command-line errors with 2, anything else is an internal error (70).
 */
export function describeError(e: unknown): ErrorReport {
  if (e instanceof CommanderError) {
    return {
      name: 'UsageError',
      message: oneLine(e.message.replace(/^error: /, '')),
      exitCode: EXIT_CODES.usage,
    };
  }
  if (e instanceof LowbitError) {
    // A lowbit error may carry its own exit code (an interrupted training run: 130).
    const own = (e as { exitCode?: unknown }).exitCode;
    const exitCode = typeof own === 'number' && Number.isInteger(own) && own > 0 ? own : EXIT_CODES.error;
    return { name: e.name, message: oneLine(e.message), exitCode };
  }
  if (isSystemError(e)) return { name: e.code, message: oneLine(e.message), exitCode: EXIT_CODES.error };
  const name = e instanceof Error ? e.name : 'Error';
  const message = e instanceof Error ? e.message : String(e);
  return {
    name,
    message: `internal error: ${oneLine(message)} (set LOWBIT_DEBUG=1 for a stack trace)`,
    exitCode: EXIT_CODES.internal,
  };
}

/** Formats an error report as the one stderr line: `error: ...`, or a JSON object with --json. */
export function formatErrorLine(report: ErrorReport, json: boolean): string {
  if (json) return JSON.stringify({ error: report });
  return `error: ${report.message}`;
}

/**
 * Reports an error on stderr in one line and returns the exit code.
 * With `LOWBIT_DEBUG=1` in the environment, the stack of an internal error follows the line.
 */
export function reportError(e: unknown, io: CliIo, json: boolean): number {
  const report = describeError(e);
  io.stderr.write(`${formatErrorLine(report, json)}\n`);
  if (report.exitCode === EXIT_CODES.internal && io.env.LOWBIT_DEBUG && e instanceof Error && e.stack) {
    io.stderr.write(`${e.stack}\n`);
  }
  return report.exitCode;
}

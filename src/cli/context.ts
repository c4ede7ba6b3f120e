/**
 * What every CLI command gets: the streams, the output mode, and shared helpers.
 */
import type { Command } from 'commander';
import type { CliIo } from './io.js';
import { ProgressBar } from './progress.js';

/** Shared services handed to each command factory. */
export interface CliContext {
  io: CliIo;
  /** True when the global `--json` option is on for this invocation. */
  json(command: Command): boolean;
  /**
   * Prints a command's result on stdout: with `--json`, `result` as one line of JSON; otherwise the
   * human-readable text (a string or a function producing it, so that work is skipped in JSON mode).
   */
  print(command: Command, result: unknown, human: string | (() => string)): void;
  /** A training progress display on stderr: a bar on a terminal, lines in logs, JSON lines with --json. */
  progress(command: Command): ProgressBar;
}

/**
 * Builds one `lowbit` subcommand. Adding a command is one file under src/cli/commands/ exporting
 * a factory, plus one line in src/cli/commands/index.ts.
 *
 * @example
 * ```ts
 * export const helloCommand: CommandFactory = (ctx) =>
 *   new Command('hello').description('say hello').action(function (this: Command) {
 *     ctx.print(this, { hello: 'world' }, 'hello, world');
 *   });
 * ```
 */
export type CommandFactory = (ctx: CliContext) => Command;

/** Creates the {@link CliContext} for a set of streams. */
export function createContext(io: CliIo): CliContext {
  const json = (command: Command) => Boolean(command.optsWithGlobals().json);
  return {
    io,
    json,
    print(command, result, human) {
      if (json(command)) io.stdout.write(`${JSON.stringify(result)}\n`);
      else {
        const text = typeof human === 'function' ? human() : human;
        io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      }
    },
    progress(command) {
      return new ProgressBar({ stream: io.stderr, mode: json(command) ? 'jsonl' : 'auto' });
    },
  };
}

/**
 * The `lowbit` command-line program, built with commander and runnable in-process.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { type CommandFactory, createContext } from './context.js';
import { describeError, EXIT_CODES, formatErrorLine, reportError } from './errors.js';
import { type CliIo, processIo } from './io.js';

const VERSION: string = createRequire(import.meta.url)('../../package.json').version;

/** Applies the shared output and exit behaviour to a command and all its subcommands. */
function configureTree(command: Command, io: CliIo, json: boolean): void {
  command.exitOverride();
  // Subcommand help lists --json and --version too.
  command.configureHelp({ showGlobalOptions: true });
  command.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    // Commander's own errors (unknown option, missing argument, ...) become the same one line as
    // every other error; the CommanderError thrown next is then not reported again.
    outputError: (s, write) =>
      write(`${formatErrorLine(describeError(new CommanderError(1, 'usage', s)), json)}\n`),
  });
  for (const sub of command.commands) configureTree(sub, io, json);
}

/**
 * Builds the `lowbit` program: global options, every registered subcommand, and the shared output
 * and error behaviour. Commander errors are thrown (exitOverride), never `process.exit`.
 *
 * @param json whether `--json` is on, so that errors raised while parsing are printed as JSON too.
 * @param commands the subcommands; default {@link COMMANDS}, the registry.
 */
export function createProgram(
  io: CliIo = processIo(),
  json = false,
  commands: readonly CommandFactory[] = COMMANDS,
): Command {
  const program = new Command('lowbit')
    .description('Train, inspect and run binarized and low-bit neural networks (Larq for TensorFlow.js).')
    .version(VERSION, '-V, --version', 'print the lowbit version')
    .option('--json', 'print results as one line of JSON (and progress and errors as JSON lines)')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `\nExit codes: ${EXIT_CODES.ok} ok, ${EXIT_CODES.error} error (bad value, missing or corrupt file), ` +
        `${EXIT_CODES.usage} bad command line, ${EXIT_CODES.internal} internal error, ` +
        `${EXIT_CODES.interrupted} interrupted (Ctrl-C; training saves a checkpoint first).\n` +
        'Run `lowbit <command> --help` for the options of a command.',
    );
  const ctx = createContext(io);
  for (const factory of commands) program.addCommand(factory(ctx));
  configureTree(program, io, json);
  return program;
}

/**
 * Runs `lowbit` with the given arguments (without `node` and the script name) and returns the exit
 * code; errors are reported on `io.stderr` as one line. Never calls `process.exit`. `commands`
 * replaces the registry (default {@link COMMANDS}), e.g. to embed the CLI with extra commands.
 *
 * @example
 * ```ts
 * const io = captureIo();
 * const code = await runCli(['data', 'info', '--data', 'mnist'], io); // 0; io.out() has the table
 * ```
 */
export async function runCli(
  args: readonly string[],
  io: CliIo = processIo(),
  commands: readonly CommandFactory[] = COMMANDS,
): Promise<number> {
  const json = args.includes('--json');
  try {
    await createProgram(io, json, commands).parseAsync([...args], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end with code 0; `lowbit` alone prints help to stderr (code 1 from
      // commander, a usage error here). Commander already printed its one-line error.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT_CODES.ok;
      return e.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    return reportError(e, io, json);
  }
}

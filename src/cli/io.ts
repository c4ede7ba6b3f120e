/**
 * The CLI's input/output: real process streams, or captured text for tests.
 */

/** A writable text stream: process.stdout/stderr, a file stream, or a capture. */
export interface TextStream {
  write(text: string): unknown;
  /** True on a terminal: progress bars redraw in place. */
  isTTY?: boolean;
  /** Terminal width, when known. */
  columns?: number;
}

/** Something that emits 'SIGINT' and 'SIGTERM' events: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/** Where the CLI writes: results on stdout, progress and errors on stderr. */
export interface CliIo {
  stdout: TextStream;
  stderr: TextStream;
  /** Environment variables (process.env by default). */
  env: Record<string, string | undefined>;
  /** Where Ctrl-C comes from (default `process`); tests pass an EventEmitter to simulate one. */
  signals?: SignalSource;
}

/** The running process's streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** A {@link CliIo} that keeps everything written, for tests and for embedding the CLI. */
export interface CapturedIo extends CliIo {
  /** Everything written to stdout so far. */
  out(): string;
  /** Everything written to stderr so far. */
  err(): string;
}

/**
 * Creates a {@link CapturedIo}: stdout and stderr collect text instead of printing it.
 *
 * @example
 * ```ts
 * const io = captureIo();
 * const code = await runCli(['data', 'info', '--json'], io);
 * JSON.parse(io.out());
 * ```
 */
export function captureIo(
  options: {
    env?: Record<string, string | undefined>;
    isTTY?: boolean;
    signals?: SignalSource;
    /** Called with each piece of text written to stderr (e.g. to react to progress lines). */
    onStderr?: (text: string) => void;
  } = {},
): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: {
      write: (t: string) => {
        out += t;
        return true;
      },
      isTTY: options.isTTY ?? false,
    },
    stderr: {
      write: (t: string) => {
        err += t;
        options.onStderr?.(t);
        return true;
      },
      isTTY: options.isTTY ?? false,
      columns: 120,
    },
    env: options.env ?? {},
    ...(options.signals ? { signals: options.signals } : {}),
    out: () => out,
    err: () => err,
  };
}

/**
 * Ctrl-C for long commands: the first interrupt asks the work to stop cleanly (training ends after
 * the current batch so the command can save a checkpoint); a second one exits at once.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { SignalSource, TextStream } from './io.js';

/** Options of {@link Interrupt}. */
export interface InterruptOptions {
  /** Where to say what happens; default `process.stderr`. */
  stream?: TextStream;
  /** Signals to catch; default SIGINT (Ctrl-C) and SIGTERM. */
  signals?: readonly string[];
  /** Default `process`. */
  source?: SignalSource;
  /** Called on the second interrupt; default `process.exit(130)` (128 + SIGINT). */
  exit?: (code: number) => void;
}

/**
 * Catches Ctrl-C while a command runs. After the first signal {@link Interrupt.requested} is true,
 * {@link Interrupt.signal} is aborted and the training callback from {@link Interrupt.callback}
 * stops `model.fit` after the current batch; the command then saves its checkpoint and calls
 * {@link Interrupt.dispose}. A second signal exits immediately with code 130.
 *
 * @example
 * ```ts
 * const interrupt = new Interrupt();
 * try {
 *   await model.fit(x, y, { epochs, callbacks: [progress, interrupt.callback()] });
 *   if (interrupt.requested) await saveCheckpoint(out);
 * } finally {
 *   interrupt.dispose();
 * }
 * ```
 */
export class Interrupt {
  private readonly controller = new AbortController();
  private readonly listener = () => this.onSignal();
  private readonly source: SignalSource;
  private readonly signals: readonly string[];
  private readonly stream: TextStream;
  private readonly exit: (code: number) => void;

  constructor(options: InterruptOptions = {}) {
    this.source = options.source ?? process;
    this.signals = options.signals ?? ['SIGINT', 'SIGTERM'];
    this.stream = options.stream ?? process.stderr;
    this.exit = options.exit ?? ((code) => process.exit(code));
    for (const s of this.signals) this.source.on(s, this.listener);
  }

  /** Aborted at the first interrupt. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once an interrupt was received. */
  get requested(): boolean {
    return this.controller.signal.aborted;
  }

  private onSignal(): void {
    if (!this.requested) {
      this.stream.write(
        '\ninterrupted: stopping after the current batch (press Ctrl-C again to quit at once)\n',
      );
      this.controller.abort();
      return;
    }
    this.stream.write('interrupted again: quitting without saving\n');
    this.exit(130);
  }

  /** A tfjs-layers callback that stops `model.fit` after the batch during which the interrupt came. */
  callback(): tfl.Callback {
    const interrupt = this;
    return new (class StopOnInterrupt extends tfl.Callback {
      override async onBatchEnd(): Promise<void> {
        if (interrupt.requested) this.model.stopTraining = true;
      }
    })();
  }

  /** Stops listening for signals. */
  dispose(): void {
    for (const s of this.signals) this.source.off(s, this.listener);
  }
}

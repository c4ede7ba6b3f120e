/**
 * A training progress display for `model.fit`: a live bar on a terminal, one line per epoch in logs,
 * or JSON lines for scripts.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { SingleBar } from 'cli-progress';
import type { TextStream } from './io.js';

/** How {@link ProgressBar} reports. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'jsonl' | 'none';

/** Options of {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** Where to draw; default `process.stderr` (stdout stays clean for results). */
  stream?: TextStream;
  /**
   * `'bar'`: a live bar per epoch (terminals); `'lines'`: one summary line per epoch (logs, CI);
   * `'jsonl'`: one JSON object per epoch; `'none'`: only record {@link ProgressBar.epochs};
   * `'auto'` (default): `'bar'` when the stream is a TTY, else `'lines'`.
   */
  mode?: ProgressMode;
  /** Clock in milliseconds; default `performance.now`. For tests. */
  now?: () => number;
}

/** What {@link ProgressBar} records about each finished epoch. */
export interface EpochStats {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss of the epoch (sample-weighted over batches, as tfjs reports it). */
  loss: number;
  /** Mean training accuracy, when the model was compiled with an accuracy metric. */
  acc?: number;
  valLoss?: number;
  valAcc?: number;
  /** Examples trained on in this epoch. */
  samples: number;
  /** Wall time of the epoch, seconds. */
  seconds: number;
  /** samples / seconds. */
  samplesPerSecond: number;
}

type Logs = Record<string, unknown> | undefined;

/** Reads a log value that tfjs may hand over as a number or as a scalar tensor. */
async function value(logs: Logs, key: string): Promise<number | undefined> {
  const v = logs?.[key];
  if (typeof v === 'number') return v;
  if (v && typeof (v as { data?: unknown }).data === 'function') {
    return (await (v as { data(): Promise<ArrayLike<number>> }).data())[0];
  }
  return undefined;
}

/** Formats seconds for an ETA: `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(4));

/**
 * A tfjs-layers callback that shows training progress: epoch, examples done, running loss and
 * accuracy, samples/s and ETA; it also records per-epoch statistics in {@link ProgressBar.epochs}.
 *
 * The running loss is the sample-weighted mean over the batches seen so far in the epoch,
 * sum_b(size_b * loss_b) / sum_b(size_b), which at the end of the epoch equals the epoch loss
 * tfjs reports. The bar counts examples under `model.fit` and batches under `model.fitDataset`;
 * ETA = (units left in the epoch) * (seconds so far) / (units done), samples/s = examples / seconds.
 *
 * @example
 * ```ts
 * const progress = new ProgressBar();
 * await model.fit(x, y, { epochs: 6, batchSize: 64, verbose: 0, callbacks: [progress] });
 * progress.epochs; // [{ epoch: 1, loss: 0.41, acc: 0.86, samplesPerSecond: 1520, ... }, ...]
 * ```
 */
export class ProgressBar extends tfl.Callback {
  /** Statistics of each finished epoch, in order. */
  readonly epochs: EpochStats[] = [];
  private readonly stream: TextStream;
  private readonly mode: Exclude<ProgressMode, 'auto'>;
  private readonly now: () => number;
  private bar: SingleBar | null = null;
  private epochIndex = 0;
  private epochStart = 0;
  private trainStart = 0;
  private seen = 0;
  private batchesDone = 0;
  private lossSum = 0;
  private accSum = 0;
  private accSeen = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;

  constructor(options: ProgressBarOptions = {}) {
    super();
    this.stream = options.stream ?? process.stderr;
    const mode = options.mode ?? 'auto';
    this.mode = mode === 'auto' ? (this.stream.isTTY ? 'bar' : 'lines') : mode;
    this.now = options.now ?? (() => performance.now());
  }

  private get totalEpochs(): number {
    return Number(this.params?.epochs ?? 0);
  }

  /**
   * What the bar counts: examples when `model.fit` knows them (params.samples), else batches when
   * `model.fitDataset` knows how many there are (params.steps), else examples with no total.
   */
  private get progressTotal(): { total: number; unit: 'samples' | 'batches' } {
    const samples = this.params?.samples;
    if (typeof samples === 'number') return { total: samples, unit: 'samples' };
    const steps = this.params?.steps;
    if (typeof steps === 'number') return { total: steps, unit: 'batches' };
    return { total: 0, unit: 'samples' };
  }

  private get progressValue(): number {
    return this.progressTotal.unit === 'batches' ? this.batchesDone : this.seen;
  }

  override async onTrainBegin(): Promise<void> {
    this.trainStart = this.now();
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.epochIndex = epoch;
    this.epochStart = this.now();
    this.seen = 0;
    this.batchesDone = 0;
    this.lossSum = 0;
    this.accSum = 0;
    this.accSeen = 0;
    if (this.mode === 'bar') {
      this.bar = new SingleBar({
        stream: this.stream as NodeJS.WritableStream,
        format:
          'epoch {epoch}/{epochs} {bar} {value}/{total}{unit} | loss {loss} | acc {acc} | {rate} samples/s | ETA {etaText}{extra}',
        barsize: 24,
        hideCursor: false,
        gracefulExit: false,
        fps: 2,
        clearOnComplete: false,
      });
      this.bar.start(this.progressTotal.total, 0, this.payload());
    }
  }

  private payload(): Record<string, string | number> {
    const seconds = (this.now() - this.epochStart) / 1000;
    const rate = seconds > 0 ? this.seen / seconds : 0;
    const { total, unit } = this.progressTotal;
    const done = this.progressValue;
    // Time per unit so far times units left; unknown until the first batch and without a total.
    const eta = done > 0 && total > 0 ? (Math.max(0, total - done) * seconds) / done : Number.NaN;
    return {
      epoch: this.epochIndex + 1,
      epochs: this.totalEpochs,
      loss: fmt(this.seen > 0 ? this.lossSum / this.seen : undefined),
      acc: fmt(this.accSeen > 0 ? this.accSum / this.accSeen : undefined),
      rate: Math.round(rate),
      etaText: formatDuration(eta),
      unit: unit === 'batches' ? ' batches' : '',
      extra: '',
    };
  }

  override async onBatchEnd(_batch: number, logs?: Logs): Promise<void> {
    const size = (await value(logs, 'size')) ?? Number(this.params?.batchSize ?? 0);
    const loss = await value(logs, 'loss');
    const acc = (await value(logs, 'acc')) ?? (await value(logs, 'accuracy'));
    this.seen += size;
    this.batchesDone++;
    if (loss !== undefined) this.lossSum += size * loss;
    if (acc !== undefined) {
      this.accSum += size * acc;
      this.accSeen += size;
    }
    if (this.bar) {
      this.bar.update(this.progressValue, this.payload());
      // Redraw at most 10 times a second by lowbit's clock; cli-progress also redraws on a timer.
      const t = this.now();
      if (t - this.lastDraw >= 100) {
        this.lastDraw = t;
        this.bar.render();
      }
    }
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const seconds = (this.now() - this.epochStart) / 1000;
    const stats: EpochStats = {
      epoch: epoch + 1,
      loss: (await value(logs, 'loss')) ?? (this.seen > 0 ? this.lossSum / this.seen : Number.NaN),
      samples: this.seen,
      seconds,
      samplesPerSecond: seconds > 0 ? this.seen / seconds : 0,
    };
    const acc =
      (await value(logs, 'acc')) ??
      (await value(logs, 'accuracy')) ??
      (this.accSeen > 0 ? this.accSum / this.accSeen : undefined);
    if (acc !== undefined) stats.acc = acc;
    const valLoss = await value(logs, 'val_loss');
    if (valLoss !== undefined) stats.valLoss = valLoss;
    const valAcc = (await value(logs, 'val_acc')) ?? (await value(logs, 'val_accuracy'));
    if (valAcc !== undefined) stats.valAcc = valAcc;
    this.epochs.push(stats);

    if (this.bar) {
      this.bar.update(this.progressValue, {
        ...this.payload(),
        loss: fmt(stats.loss),
        acc: fmt(stats.acc),
        rate: Math.round(stats.samplesPerSecond),
        etaText: formatDuration(0),
        // Validation runs after the last batch: show its numbers on the finished bar.
        extra: `${stats.valLoss !== undefined ? ` | val_loss ${fmt(stats.valLoss)}` : ''}${
          stats.valAcc !== undefined ? ` | val_acc ${fmt(stats.valAcc)}` : ''
        }`,
      });
      this.bar.stop();
      this.bar = null;
    } else if (this.mode === 'lines') {
      this.stream.write(`${this.epochLine(stats)}\n`);
    } else if (this.mode === 'jsonl') {
      this.stream.write(`${JSON.stringify({ event: 'epoch', epochs: this.totalEpochs, ...stats })}\n`);
    }
  }

  /** One line per finished epoch: `epoch 2/6 | loss 0.4321 | acc 0.8732 | ... | 12s | ETA 48s`. */
  private epochLine(s: EpochStats): string {
    const parts = [`epoch ${s.epoch}/${this.totalEpochs}`, `loss ${fmt(s.loss)}`];
    if (s.acc !== undefined) parts.push(`acc ${fmt(s.acc)}`);
    if (s.valLoss !== undefined) parts.push(`val_loss ${fmt(s.valLoss)}`);
    if (s.valAcc !== undefined) parts.push(`val_acc ${fmt(s.valAcc)}`);
    const elapsed = (this.now() - this.trainStart) / 1000;
    const done = this.epochs.length;
    // From the epoch number, not from the epochs seen: a resumed run (initialEpoch > 0) starts late,
    // and fitDataset does not pass initialEpoch to callbacks.
    const left = this.totalEpochs - s.epoch;
    parts.push(
      `${Math.round(s.samplesPerSecond)} samples/s`,
      formatDuration(s.seconds),
      `ETA ${formatDuration(left > 0 ? (elapsed / done) * left : 0)}`,
    );
    return parts.join(' | ');
  }

  override async onTrainEnd(): Promise<void> {
    this.bar?.stop();
    this.bar = null;
  }
}

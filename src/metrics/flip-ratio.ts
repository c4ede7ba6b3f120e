import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { checkOptions, oneOf } from '../util/options.js';

/** Options of {@link FlipRatio}. */
export interface FlipRatioArgs {
  /** Name of the metric, e.g. the log key. Default 'flip_ratio'. */
  name?: string;
  /**
   * How values are compared: 'int32' casts them to integers first (Larq casts to int8, which
   * truncates toward zero), 'float32' compares them exactly (right for k-bit values such as
   * DoReFa's multiples of 1/(2^k - 1)). Default 'int32', as Larq.
   */
  valuesDtype?: 'int32' | 'float32';
}

/**
 * The mean fraction of values that changed between consecutive updates (Larq's `FlipRatio`), e.g.
 * how many binary weights a training step flipped.
 *
 * Each update compares `values` with the previous update's:
 *
 *     flip = 1 - (number of unchanged elements) / size
 *     total <- total + flip * sign(count);  count <- count + 1
 *     result = total / (count - 1)          (0 while count <= 1)
 *
 * so the first update after creation or {@link FlipRatio.resetStates} contributes 0.
 * `resetStates` keeps the previous values, as Larq.
 *
 * During `model.fit`, lowbit reports it for every quantized kernel whose quantizer has
 * `metrics: ['flip_ratio']` (or was created in `metricsScope(['flip_ratio'], ...)`): see
 * {@link FlipRatioLogger}.
 *
 * @example
 * const m = new lq.metrics.FlipRatio();
 * m.updateState([1, 1]); // result 0
 * m.updateState([2, 2]); // result 1
 * m.updateState([1, 2]); // result 0.75
 */
export class FlipRatio {
  readonly name: string;
  readonly valuesDtype: 'int32' | 'float32';
  private previous: tf.Tensor | null = null;
  private totalValue: tf.Scalar = tf.keep(tf.scalar(0));
  private countValue = 0;

  constructor(args: FlipRatioArgs = {}) {
    checkOptions('FlipRatio', args, {
      name: { check: (v) => typeof v === 'string' && v.length > 0, expected: 'a non-empty string' },
      valuesDtype: oneOf(['int32', 'float32']),
    });
    this.name = args.name ?? 'flip_ratio';
    this.valuesDtype = args.valuesDtype ?? 'int32';
  }

  /** Compares `values` with the previous update's and accumulates the fraction that changed. */
  updateState(values: tf.Tensor | number[] | Float32Array | Int32Array): void {
    const input = values instanceof tf.Tensor ? values : tf.tensor(values as number[]);
    try {
      const current = tf.tidy(() => tf.cast(input, this.valuesDtype));
      const previous = this.previous;
      if (previous !== null && !tf.util.arraysEqual(previous.shape, current.shape)) {
        current.dispose();
        throw new ShapeError({
          where: `FlipRatio '${this.name}' update`,
          received: current.shape,
          expected: `the shape of the previous update, [${previous.shape.join(', ')}]`,
        });
      }
      if (previous !== null && this.countValue > 0) {
        const total = tf.tidy(() => {
          const unchanged = tf.sum(tf.cast(tf.equal(previous, current), 'float32'));
          const flip = tf.sub(1, tf.div(unchanged, current.size));
          return tf.add(this.totalValue, flip) as tf.Scalar;
        });
        this.totalValue.dispose();
        this.totalValue = tf.keep(total);
      }
      this.countValue += 1;
      previous?.dispose();
      this.previous = tf.keep(current);
    } finally {
      if (input !== values) input.dispose();
    }
  }

  /** total / (count - 1), or 0 before the second update. */
  result(): number {
    if (this.countValue <= 1) return 0;
    return this.totalValue.dataSync()[0] / (this.countValue - 1);
  }

  /** The accumulated sum of flip fractions. */
  get total(): number {
    return this.totalValue.dataSync()[0];
  }

  /** The number of updates since creation or the last reset. */
  get count(): number {
    return this.countValue;
  }

  /** The values of the last update (a copy), or null before the first. */
  previousValues(): tf.Tensor | null {
    return this.previous === null ? null : tf.clone(this.previous);
  }

  /** Sets total and count to 0 and keeps the previous values (Larq's `reset_state`). */
  resetStates(): void {
    this.totalValue.dispose();
    this.totalValue = tf.keep(tf.scalar(0));
    this.countValue = 0;
  }

  /** Frees the tensors the metric holds. */
  dispose(): void {
    this.totalValue.dispose();
    this.previous?.dispose();
    this.previous = null;
  }

  /** The options to rebuild it: `new FlipRatio(m.getConfig())`. */
  getConfig(): Required<FlipRatioArgs> {
    return { name: this.name, valuesDtype: this.valuesDtype };
  }

  /** Rebuilds a metric from {@link FlipRatio.getConfig}'s output. */
  static fromConfig(config: FlipRatioArgs): FlipRatio {
    if (typeof config !== 'object' || config === null) {
      throw new ConfigError({
        where: 'FlipRatio.fromConfig',
        received: config,
        expected: 'an options object',
      });
    }
    return new FlipRatio(config);
  }
}

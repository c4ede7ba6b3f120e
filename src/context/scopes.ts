/**
 * Larq's context scopes (larq/context.py): the quantized scope, in which reading a quantized
 * layer's kernel gives the quantized values, and the metrics scope, in which newly created
 * quantizers collect training metrics.
 */

let quantized = false;
let metrics: readonly string[] = [];

/**
 * Runs `fn` with the quantized scope set to `enabled` and restores the previous setting.
 *
 * Inside the scope, `layer.getWeights()`, `model.getWeights()` and `model.save()` give the
 * quantized kernels (e.g. +-1) instead of the real-valued latent weights that are trained.
 * The scope covers the synchronous part of `fn`: tfjs reads the weights synchronously when
 * `model.save` is called, so `quantizedScope(true, () => model.save(url))` saves quantized kernels.
 *
 * @example
 * const binaryKernels = lq.context.quantizedScope(true, () => model.getWeights());
 */
export function quantizedScope<T>(enabled: boolean, fn: () => T): T {
  const previous = quantized;
  quantized = enabled;
  try {
    return fn();
  } finally {
    quantized = previous;
  }
}

/** Whether the quantized scope is active. */
export function shouldQuantize(): boolean {
  return quantized;
}

/**
 * Runs `fn` with `names` as the training metrics that quantizers created inside it collect
 * (Larq's `metrics_scope`). Only `'flip_ratio'` exists.
 *
 * @example
 * const layer = lq.context.metricsScope(['flip_ratio'], () => lq.layers.quantDense({ units: 10, kernelQuantizer: 'ste_sign' }));
 */
export function metricsScope<T>(names: readonly string[], fn: () => T): T {
  const previous = metrics;
  metrics = [...names];
  try {
    return fn();
  } finally {
    metrics = previous;
  }
}

/** The metrics of the innermost metrics scope (empty outside any scope). */
export function getMetricsScope(): readonly string[] {
  return metrics;
}

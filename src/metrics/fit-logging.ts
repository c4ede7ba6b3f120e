/**
 * Reports the flip ratio of quantized kernels in `model.fit`'s logs, automatically, as Larq does.
 *
 * Larq adds a `FlipRatio` Keras metric to each quantizer with `metrics=['flip_ratio']`, updated on
 * every forward pass, so `fit`'s history holds `flip_ratio/...` per epoch. tfjs-layers has no
 * layer metrics, so lowbit wraps `LayersModel.prototype.fit` and `fitDataset`: when the model has a
 * quantized kernel whose quantizer asks for 'flip_ratio', a {@link FlipRatioLogger} is put first
 * among the callbacks. It observes each such kernel's quantized value before every training step
 * (what that step's forward pass uses, as in Larq), resets at every epoch start (as Keras resets
 * metrics) and writes the epoch's result into the epoch logs, which `History` records.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Quantizer } from '../quantizers/base.js';
import { FlipRatio } from './flip-ratio.js';

/** The key under which a tracked kernel's flip ratio is logged, and what it observes. */
export interface TrackedKernel {
  /** 'flip_ratio/<layer>' (with '/<attribute>' when a layer has several tracked kernels). */
  key: string;
  layer: tfl.layers.Layer;
  attribute: string;
  quantizer: Quantizer;
  variable: tfl.LayerVariable;
}

interface QuantizedLayerLike {
  kernelQuantizers?: Readonly<Record<string, Quantizer | null>>;
  kernelSlots?: ReadonlyArray<{ attribute: string; quantizerOption: string }>;
  layers?: tfl.layers.Layer[];
}

function collect(layers: readonly tfl.layers.Layer[], out: Omit<TrackedKernel, 'key'>[]): void {
  for (const layer of layers) {
    const l = layer as unknown as QuantizedLayerLike;
    if (Array.isArray(l.layers)) collect(l.layers, out);
    if (!l.kernelQuantizers || !l.kernelSlots) continue;
    for (const slot of l.kernelSlots) {
      const quantizer = l.kernelQuantizers[slot.quantizerOption];
      if (!quantizer?.metrics.includes('flip_ratio')) continue;
      const variable = (layer as unknown as Record<string, tfl.LayerVariable | undefined>)[slot.attribute];
      if (variable === undefined || variable === null) continue;
      out.push({ layer, attribute: slot.attribute, quantizer, variable });
    }
  }
}

/** Every quantized kernel of `model` (nested models included) whose quantizer collects 'flip_ratio'. */
export function trackedKernels(model: tfl.LayersModel): TrackedKernel[] {
  const found: Omit<TrackedKernel, 'key'>[] = [];
  collect(model.layers, found);
  const perLayer = new Map<tfl.layers.Layer, number>();
  for (const k of found) perLayer.set(k.layer, (perLayer.get(k.layer) ?? 0) + 1);
  return found.map((k) => ({
    ...k,
    key:
      (perLayer.get(k.layer) ?? 0) > 1
        ? `flip_ratio/${k.layer.name}/${k.attribute}`
        : `flip_ratio/${k.layer.name}`,
  }));
}

/**
 * A callback that logs the flip ratio of every tracked kernel (see {@link trackedKernels}) at each
 * epoch end, under 'flip_ratio/<layer>'. lowbit adds it to `model.fit` and `fitDataset` by itself;
 * use it directly only for custom loops that drive callbacks.
 *
 * flip ratio of an epoch = mean over its steps (after the first) of the fraction of the kernel's
 * quantized values that changed since the previous step.
 */
export class FlipRatioLogger extends tfl.Callback {
  private tracked: Array<TrackedKernel & { metric: FlipRatio }> = [];

  /** The kernels being tracked and their metrics (known once training begins). */
  get kernels(): ReadonlyArray<TrackedKernel & { metric: FlipRatio }> {
    return this.tracked;
  }

  override async onTrainBegin(): Promise<void> {
    // Fresh metrics per fit: every epoch starts with a reset, after which the first update counts
    // 0 whatever the previous values, so nothing needs to outlive the fit (no tensors left behind).
    // Quantized values are exact, so they are compared as floats: right for k-bit kernels too.
    this.tracked = trackedKernels(this.model).map((k) => ({
      ...k,
      metric: new FlipRatio({ valuesDtype: 'float32' }),
    }));
  }

  override async onTrainEnd(): Promise<void> {
    for (const k of this.tracked) k.metric.dispose();
  }

  override async onEpochBegin(): Promise<void> {
    for (const k of this.tracked) k.metric.resetStates();
  }

  override async onBatchBegin(): Promise<void> {
    for (const k of this.tracked) {
      const quantized = tf.tidy(() => k.quantizer.quantize(k.variable.read()));
      k.metric.updateState(quantized);
      quantized.dispose();
    }
  }

  override async onEpochEnd(_epoch: number, logs?: tfl.Logs): Promise<void> {
    if (!logs) return;
    for (const k of this.tracked) logs[k.key] = k.metric.result();
  }
}

type Callbacks = tfl.ModelFitArgs['callbacks'];
interface FitProto {
  fit(x: unknown, y: unknown, args?: tfl.ModelFitArgs): Promise<tfl.History>;
  fitDataset(dataset: unknown, args: { callbacks?: Callbacks; yieldEvery?: unknown }): Promise<tfl.History>;
}
const ORIGINAL = Symbol.for('lowbit.originalFit');
type Proto = FitProto & { [ORIGINAL]?: Pick<FitProto, 'fit' | 'fitDataset'> };

function isCallback(c: unknown): c is tfl.CustomCallback {
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof (c as { setParams?: unknown }).setParams === 'function' &&
    typeof (c as { onEpochEnd?: unknown }).onEpochEnd === 'function'
  );
}

/** `callbacks` as a list of callback objects with `logger` first (tfjs's own list can't mix kinds). */
function withLogger(
  callbacks: Callbacks,
  logger: FlipRatioLogger,
  yieldEvery: unknown,
): tfl.CustomCallback[] {
  const list = callbacks == null ? [] : Array.isArray(callbacks) ? callbacks : [callbacks];
  const objects = list.map((c) =>
    isCallback(c)
      ? c
      : new tfl.CustomCallback(c as tfl.CustomCallbackArgs, yieldEvery as tfl.ModelFitArgs['yieldEvery']),
  );
  return [logger as unknown as tfl.CustomCallback, ...objects];
}

function needsLogger(model: tfl.LayersModel): boolean {
  return trackedKernels(model).length > 0;
}

/**
 * Installs the automatic flip-ratio logging into `model.fit` / `fitDataset` (idempotent; done when
 * lowbit's metrics are imported).
 * @returns true if this call installed it.
 */
export function logFlipRatiosDuringFit(): boolean {
  const p = tfl.LayersModel.prototype as unknown as Proto;
  if (p[ORIGINAL] != null) return false;
  const original = { fit: p.fit, fitDataset: p.fitDataset };
  p[ORIGINAL] = original;
  p.fit = function (this: tfl.LayersModel, x: unknown, y: unknown, args: tfl.ModelFitArgs = {}) {
    if (!needsLogger(this)) return original.fit.call(this, x, y, args);
    const callbacks = withLogger(args.callbacks, new FlipRatioLogger(), args.yieldEvery);
    return original.fit.call(this, x, y, { ...args, callbacks });
  };
  p.fitDataset = function (
    this: tfl.LayersModel,
    dataset: unknown,
    args: { callbacks?: Callbacks; yieldEvery?: unknown },
  ) {
    if (!needsLogger(this)) return original.fitDataset.call(this, dataset, args);
    const callbacks = withLogger(args.callbacks, new FlipRatioLogger(), args.yieldEvery);
    return original.fitDataset.call(this, dataset, { ...args, callbacks });
  };
  return true;
}

/**
 * Removes the automatic flip-ratio logging, restoring tfjs's `fit` and `fitDataset`.
 * @returns true if it was installed and is now removed.
 */
export function stopLoggingFlipRatios(): boolean {
  const p = tfl.LayersModel.prototype as unknown as Proto;
  const original = p[ORIGINAL];
  if (original == null) return false;
  p.fit = original.fit;
  p.fitDataset = original.fitDataset;
  delete p[ORIGINAL];
  return true;
}

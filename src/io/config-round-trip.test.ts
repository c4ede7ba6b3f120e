import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { layerConfigRoundTrip } from './index.js';

interface AcronymArgs extends LayerArgs {
  useXNOR?: boolean;
  quantizer: string;
}

/** A layer with an acronym config key and a snake_case string value (registered for this file only). */
class AcronymLayer extends tfl.layers.Layer {
  static className = 'LowbitIoTestAcronym';
  readonly useXNOR: boolean;
  readonly quantizer: string;
  constructor(args: AcronymArgs) {
    super(args);
    this.useXNOR = args.useXNOR ?? false;
    this.quantizer = args.quantizer;
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), useXNOR: this.useXNOR, quantizer: this.quantizer };
  }
}
tf.serialization.registerClass(AcronymLayer);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('layerConfigRoundTrip', () => {
  it('Dense: snake_case keys in model.json, same camelCase config after loading', async () => {
    const layer = tfl.layers.dense({
      units: 7,
      useBias: false,
      activation: 'relu',
      kernelConstraint: 'maxNorm',
      name: 'my_dense',
    });
    const { serialized, restored } = await layerConfigRoundTrip(layer, [5]);
    expect(serialized.class_name).toBe('Dense');
    expect(serialized.config.use_bias).toBe(false);
    expect(serialized.config.units).toBe(7);
    expect(serialized.config).not.toHaveProperty('useBias');
    // tfjs turns string values to snake_case too (maxNorm -> max_norm) and back on load
    expect((serialized.config.kernel_constraint as { class_name: string }).class_name).toBe('MaxNorm');
    expect(restored).not.toBe(layer);
    expect(restored.getClassName()).toBe('Dense');
    expect(restored.getConfig()).toEqual(layer.getConfig());
  });

  it('Conv2D and BatchNormalization keep every option', async () => {
    const conv = tfl.layers.conv2d({
      filters: 3,
      kernelSize: [2, 3],
      strides: 2,
      padding: 'same',
      dilationRate: 1,
    });
    const convTrip = await layerConfigRoundTrip(conv, [8, 8, 2]);
    expect(convTrip.serialized.config.kernel_size).toEqual([2, 3]);
    expect(convTrip.restored.getConfig()).toEqual(conv.getConfig());
    const bn = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-4, center: false });
    const bnTrip = await layerConfigRoundTrip(bn, [4]);
    expect(bnTrip.serialized.config.momentum).toBe(0.9);
    expect(bnTrip.restored.getConfig()).toEqual(bn.getConfig());
  });

  it('layers with several inputs (Add)', async () => {
    const add = tfl.layers.add();
    const { serialized, restored } = await layerConfigRoundTrip(add, [[3], [3]]);
    expect(serialized.class_name).toBe('Add');
    expect(restored.getConfig()).toEqual(add.getConfig());
  });

  it('shows the serialization traps layer configs must survive: acronym keys and snake_case string values', async () => {
    const layer = new AcronymLayer({ useXNOR: true, quantizer: 'ste_sign', name: 'acronym' });
    const { serialized, restored } = await layerConfigRoundTrip(layer, [3]);
    expect(serialized.class_name).toBe('LowbitIoTestAcronym');
    expect(serialized.config.use_xnor).toBe(true);
    expect(serialized.config.quantizer).toBe('ste_sign');
    const config = restored.getConfig();
    // The tfjs facts: the constructor receives useXnor (not useXNOR), so the flag is silently lost,
    // and the string value 'ste_sign' comes back as 'steSign'.
    expect(config.useXNOR).toBe(false);
    expect(config.quantizer).toBe('steSign');
    expect(config).not.toEqual(layer.getConfig());
  });

  it('refuses a bad input shape', async () => {
    await expect(layerConfigRoundTrip(tfl.layers.dense({ units: 1 }), [0])).rejects.toThrow(ConfigError);
    await expect(layerConfigRoundTrip(tfl.layers.dense({ units: 1 }), [1.5])).rejects.toThrow(ConfigError);
    await expect(layerConfigRoundTrip(tfl.layers.add(), [[2], [0]])).rejects.toThrow(
      /received an array of length 2/,
    );
  });
});

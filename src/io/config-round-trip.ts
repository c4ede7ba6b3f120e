/**
 * The helper layer tests use for config round trips through the exact path model.json takes:
 * getConfig -> snake_case JSON text -> parse -> camelCase -> fromConfig.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '../errors.js';

/** A layer's entry as model.json stores it (keys snake_case, `class_name` as registered). */
export interface SerializedLayer {
  class_name: string;
  config: Record<string, unknown>;
  [key: string]: unknown;
}

/** What {@link layerConfigRoundTrip} returns. */
export interface LayerConfigRoundTrip {
  /** The layer's entry in the model topology written to model.json, after JSON text and back. */
  serialized: SerializedLayer;
  /** The layer tfjs's deserializer rebuilt from that topology (built, with fresh weights). */
  restored: tfl.layers.Layer;
}

/**
 * Sends one layer's config through the same path as saving to and loading from model.json.
 *
 * The layer is applied to `tfl.input`s of the given shapes, the one-layer model is serialized with
 * `toJSON` (tfjs turns config keys and string values to snake_case here), the text is parsed, and the
 * model is rebuilt with `tfl.models.modelFromJSON` (snake_case back to camelCase, class looked up in
 * tfjs's serialization registry). Compare `restored.getConfig()` with `layer.getConfig()`, and read
 * `serialized.config` to check the Larq/Keras spelling of keys and values in model.json.
 *
 * @param layer A layer not yet connected to a model (or reusable on new inputs).
 * @param inputShape The input shape without the batch dimension, or one shape per input.
 * @example
 * ```ts
 * const { serialized, restored } = await layerConfigRoundTrip(lq.layers.quantDense({ units: 3 }), [4]);
 * expect(serialized.class_name).toBe('QuantDense');
 * expect(restored.getConfig()).toEqual(layer.getConfig());
 * ```
 */
export async function layerConfigRoundTrip(
  layer: tfl.layers.Layer,
  inputShape: readonly number[] | readonly (readonly number[])[],
): Promise<LayerConfigRoundTrip> {
  const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as number[][];
  if (
    shapes.length === 0 ||
    shapes.some((s) => !Array.isArray(s) || s.some((d) => !Number.isInteger(d) || d < 1))
  ) {
    throw new ConfigError({
      where: 'layerConfigRoundTrip inputShape',
      received: inputShape,
      expected: 'a shape of positive integers without the batch dimension, or an array of such shapes',
    });
  }
  const inputs = shapes.map((shape) => tfl.input({ shape }));
  const outputs = layer.apply(inputs.length === 1 ? inputs[0]! : inputs) as
    | tfl.SymbolicTensor
    | tfl.SymbolicTensor[];
  const model = tfl.model({ inputs, outputs });
  const text = model.toJSON(null, true) as string;
  const topology = JSON.parse(text) as { config: { layers: SerializedLayer[] } };
  const serialized = topology.config.layers.find((l) => l.config.name === layer.name);
  if (serialized === undefined) {
    throw new ConfigError({
      where: 'layerConfigRoundTrip',
      received: layer.name,
      expected: 'a layer whose name appears in the serialized topology',
    });
  }
  const rebuilt = await tfl.models.modelFromJSON({ modelTopology: JSON.parse(text) });
  return { serialized, restored: rebuilt.getLayer(layer.name) };
}

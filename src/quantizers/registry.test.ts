import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { metricsScope } from '../context/scopes.js';
import { ConfigError } from '../errors.js';
import {
  ApproxSign,
  DoReFa,
  FunctionQuantizer,
  get,
  halfGaussianAlpha,
  NoOp,
  QuantizedRelu,
  registerCustomQuantizer,
  registeredQuantizers,
  SteSign,
  SteTern,
  setPrecision,
} from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const LARQ_ALIASES: Record<string, string> = {
  ste_sign: 'SteSign',
  approx_sign: 'ApproxSign',
  swish_sign: 'SwishSign',
  ste_heaviside: 'SteHeaviside',
  magnitude_aware_sign: 'MagnitudeAwareSign',
  ste_tern: 'SteTern',
  dorefa_quantizer: 'DoReFa',
  quantized_relu: 'QuantizedRelu',
};

describe('quantizers.get', () => {
  it("resolves every Larq alias, its class name and tfjs's camelCase spelling to the same class", () => {
    for (const [alias, className] of Object.entries(LARQ_ALIASES)) {
      expect(get(alias)?.getClassName()).toBe(className);
      expect(get(className)?.getClassName()).toBe(className);
      const camel = alias.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      expect(get(camel)?.getClassName()).toBe(className);
    }
    const aliases = registeredQuantizers().flatMap((e) => (e.alias ? [e.alias] : []));
    expect(aliases.sort()).toEqual(Object.keys(LARQ_ALIASES).sort());
  });

  it('accepts null, config objects, instances and functions', () => {
    expect(get(null)).toBeNull();
    expect(get(undefined)).toBeNull();
    const q = get({ className: 'SteSign', config: { clipValue: 1.25 } }) as SteSign;
    expect(q).toBeInstanceOf(SteSign);
    expect(q.clipValue).toBe(1.25);
    const instance = new ApproxSign();
    expect(get(instance)).toBe(instance);
    const fn = (x: tf.Tensor) => tf.sign(x);
    const wrapped = get(fn) as FunctionQuantizer;
    expect(wrapped).toBeInstanceOf(FunctionQuantizer);
    expect(wrapped.precision).toBe(32);
    expect((get(setPrecision(1, (x: tf.Tensor) => tf.sign(x))) as FunctionQuantizer).precision).toBe(1);
  });

  it('rejects unknown names and other types with an error naming what was given and what is valid', () => {
    expect(() => get('ste_sgn')).toThrow(ConfigError);
    expect(() => get('ste_sgn')).toThrow(/received "ste_sgn"; expected one of .*ste_sign, SteSign/);
    expect(() => get(42 as never)).toThrow(/received 42; expected null, a quantizer name/);
    expect(() => get({ className: 'Nope' })).toThrow(/className: received "Nope"/);
  });

  it('rejects unknown options, wrong option types and invalid DoReFa modes', () => {
    expect(() => new SteSign({ clip: 1 } as never)).toThrow(
      /SteSign: unknown option: received "clip"; expected one of clipValue/,
    );
    expect(() => new SteSign({ clipValue: '1' as never })).toThrow(
      /SteSign option clipValue: received "1"; expected a positive number/,
    );
    expect(() => new SteTern({ ternaryWeightNetworks: 1 as never })).toThrow(/expected true or false/);
    expect(() => new DoReFa({ mode: 'weight' as never })).toThrow(
      /DoReFa option mode: received "weight"; expected one of "activations", "weights"/,
    );
    expect(() => get({ className: 'DoReFa', config: { kBit: 0 } })).toThrow(
      /kBit: received 0; expected a positive integer/,
    );
    expect(() => new NoOp({} as never)).toThrow(/NoOp option precision: received undefined/);
    expect(() => new SteSign({ metrics: ['accuracy'] })).toThrow(
      /metrics: received "accuracy"; expected one of flip_ratio/,
    );
  });

  it('custom functions serialize by name and load again once registered', () => {
    const sign = registerCustomQuantizer(
      'my_sign',
      setPrecision(1, (x: tf.Tensor) => tf.sign(x)),
    );
    const q = get(sign) as FunctionQuantizer;
    const config = q.getConfig();
    expect(config.functionName).toBe('my_sign');
    expect(config.precision).toBe(1);
    const again = get({ className: 'QuantizerFunction', config }) as FunctionQuantizer;
    expect(again.fn).toBe(sign);
    expect(() => get({ className: 'QuantizerFunction', config: { functionName: 'unknown_fn' } })).toThrow(
      /registered with lq.quantizers.registerCustomQuantizer/,
    );
  });

  it('takes its metrics from the metrics scope and restores the scope afterwards', () => {
    const inside = metricsScope(['flip_ratio'], () => new SteSign());
    expect(inside.metrics).toEqual(['flip_ratio']);
    expect(new SteSign().metrics).toEqual([]);
    // tfjs camelCases string values when it loads a model.json.
    expect(new SteSign({ metrics: ['flipRatio'] }).metrics).toEqual(['flip_ratio']);
  });
});

describe('QuantizedRelu', () => {
  it('fixes alpha at the MSE-optimal step for half-wave Gaussian data (values from an independent Simpson-rule grid search)', () => {
    expect(Math.abs(halfGaussianAlpha(2) - 0.486)).toBeLessThan(0.002);
    expect(Math.abs(halfGaussianAlpha(4) - 0.166)).toBeLessThan(0.002);
    expect(new QuantizedRelu({ kBit: 2 }).alpha).toBe(halfGaussianAlpha(2));
  });

  it('survives the snake_case/camelCase round trip of model.json string values', () => {
    expect(new QuantizedRelu({ ste: 'clippedRelu' as never }).ste).toBe('clipped_relu');
    expect(() => new QuantizedRelu({ ste: 'tanh' as never })).toThrow(
      /ste: received "tanh"; expected one of "identity", "relu", "clipped_relu"/,
    );
  });
});

describe('quantizers as activations and as layers', () => {
  it("works as any tfjs layer's activation, by alias", () => {
    const dense = tfl.layers.dense({
      units: 2,
      activation: 'ste_sign' as never,
      useBias: false,
      inputShape: [2],
    });
    const model = tfl.sequential({ layers: [dense] });
    model.setWeights([
      tf.tensor([
        [1, -2],
        [0.5, 1],
      ]),
    ]);
    // x . W = [0.3 * 1 + 0.1 * 0.5, 0.3 * -2 + 0.1 * 1] = [0.35, -0.5] -> sign -> [1, -1]
    expect(Array.from((model.predict(tf.tensor([[0.3, 0.1]])) as tf.Tensor).dataSync())).toEqual([1, -1]);
    // The activation survives the model JSON round trip (saved as 'ste_sign', loaded camelCased).
    const json = JSON.stringify(model.toJSON(null, false));
    expect(json).toContain('"activation":"ste_sign"');
  });

  it('works as a stand-alone layer in a model, and in tfl.layers.activation', async () => {
    const model = tfl.sequential({
      layers: [tfl.layers.inputLayer({ inputShape: [3] }), new SteSign({ clipValue: 0.5 })],
    });
    expect(Array.from((model.predict(tf.tensor([[-0.2, 0, 4]])) as tf.Tensor).dataSync())).toEqual([
      -1, 1, 1,
    ]);
    const loaded = await tfl.models.modelFromJSON(JSON.parse(JSON.stringify(model.toJSON(null, false))));
    const restored = loaded.layers.find((l) => l instanceof SteSign) as SteSign;
    expect(restored.clipValue).toBe(0.5);
    const act = tfl.layers.activation({ activation: 'approx_sign' as never });
    expect(Array.from((act.apply(tf.tensor([-3, 0, 3])) as tf.Tensor).dataSync())).toEqual([-1, 1, 1]);
  });
});

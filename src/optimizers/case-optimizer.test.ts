/** CaseOptimizer: routing by predicate, Larq's errors and warning, weights and config. */
import * as tf from '@tensorflow/tfjs-core';
import '../backend/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { setWarningHandler, type WarnFn } from '../util/log.js';
import { Bop, CaseOptimizer, registerPredicate } from './index.js';

const warnings: string[] = [];
let previous: WarnFn;
beforeAll(async () => {
  await tf.setBackend('cpu');
  previous = setWarningHandler((m) => warnings.push(m));
});
afterAll(() => {
  setWarningHandler(previous);
});

let counter = 0;
/** Fresh variables named <prefix>_<n>_<key> holding `values[key]`. */
function vars(values: Record<string, number[]>): Record<string, tf.Variable> {
  counter++;
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, tf.variable(tf.tensor1d(v), true, `case_${counter}_${k}`)]),
  );
}
const startsWith =
  (key: string): ((v: tf.Variable) => boolean) =>
  (v) =>
    v.name.endsWith(`_${key}`);
const data = (v: tf.Variable) => Array.from(v.dataSync());

describe('routing', () => {
  it('each variable goes to the optimizer whose predicate accepts it, else to the default', () => {
    const v = vars({ a: [1, 2], b: [3], c: [5, 6] });
    // SGD: w <- w - lr g. a: lr 1; b: lr 0.5; c (unclaimed): default lr 0.1.
    const optimizer = new CaseOptimizer(
      [
        [startsWith('a'), tf.train.sgd(1)],
        [startsWith('b'), tf.train.sgd(0.5)],
      ],
      tf.train.sgd(0.1),
    );
    optimizer.applyGradients([
      { name: v.a.name, tensor: tf.tensor1d([1, 1]) },
      { name: v.b.name, tensor: tf.tensor1d([2]) },
      { name: v.c.name, tensor: tf.tensor1d([10, 20]) },
    ]);
    expect(data(v.a)).toEqual([0, 1]);
    expect(data(v.b)).toEqual([2]);
    expect(data(v.c)[0]).toBeCloseTo(4, 6);
    expect(data(v.c)[1]).toBeCloseTo(4, 6);
    // A name map routes the same way; every sub-optimizer steps once per step.
    optimizer.applyGradients({
      [v.a.name]: tf.tensor1d([1, 1]),
      [v.b.name]: tf.tensor1d([2]),
      [v.c.name]: tf.tensor1d([0, 0]),
    });
    expect(data(v.a)).toEqual([-1, 0]);
    expect(data(v.b)).toEqual([1]);
    expect(optimizer.iterations).toBe(2);
    expect(optimizer.optimizers.map((o) => o.iterations)).toEqual([2, 2, 2]);
  });

  it('predicates receive the tf.Variable; registered predicates can be named', () => {
    const v = vars({ x: [1], y: [1] });
    const seen: string[] = [];
    registerPredicate('case_test_is_x', (variable) => {
      seen.push(variable.name);
      expect(variable).toBeInstanceOf(tf.Variable);
      return variable.name.endsWith('_x');
    });
    const optimizer = new CaseOptimizer([['case_test_is_x', tf.train.sgd(1)]], tf.train.sgd(0));
    optimizer.applyGradients({ [v.x.name]: tf.tensor1d([1]), [v.y.name]: tf.tensor1d([1]) });
    expect(data(v.x)).toEqual([0]);
    expect(data(v.y)).toEqual([1]);
    expect(seen).toEqual([v.x.name, v.y.name]);
    // The routing is decided once per variable.
    optimizer.applyGradients({ [v.x.name]: tf.tensor1d([1]), [v.y.name]: tf.tensor1d([1]) });
    expect(seen).toHaveLength(2);
  });

  it('no default optimizer: an unclaimed variable is not trained, with a warning naming it', () => {
    const v = vars({ a: [1], rest: [7] });
    warnings.length = 0;
    const optimizer = new CaseOptimizer([[startsWith('a'), tf.train.sgd(1)]]);
    optimizer.applyGradients({ [v.a.name]: tf.tensor1d([1]), [v.rest.name]: tf.tensor1d([1]) });
    expect(data(v.a)).toEqual([0]);
    expect(data(v.rest)).toEqual([7]);
    expect(warnings).toEqual([
      `optimizer_case: no defaultOptimizer to train variable '${v.rest.name}'; it is not trained.`,
    ]);
  });
});

describe("Larq's errors", () => {
  it('a variable claimed by two predicates is an error naming it and both optimizers; nothing is updated', () => {
    const v = vars({ a: [1] });
    const optimizer = new CaseOptimizer([
      [() => true, new Bop()],
      [() => true, tf.train.sgd(1)],
    ]);
    const step = () => optimizer.applyGradients({ [v.a.name]: tf.tensor1d([1]) });
    expect(step).toThrow(ConfigError);
    expect(step).toThrow(
      `optimizer_case: variable '${v.a.name}': received "claims by optimizer 0 (Bop) and optimizer 1 (SGD)"; expected at most one predicate accepting each variable.`,
    );
    expect(data(v.a)).toEqual([1]);
  });

  it('an optimizer whose predicate claims nothing is an error', () => {
    const v = vars({ a: [1] });
    const optimizer = new CaseOptimizer([[() => false, tf.train.sgd(1)]], tf.train.adam(0.1));
    expect(() => optimizer.applyGradients({ [v.a.name]: tf.tensor1d([1]) })).toThrow(
      /optimizer 0 \(SGD\): received "no variables claimed among 1/,
    );
    expect(data(v.a)).toEqual([1]);
  });

  it('validates the pairs and the default optimizer', () => {
    const make = (pairs: unknown, d?: unknown) =>
      new CaseOptimizer(pairs as [() => boolean, tf.Optimizer][], d as tf.Optimizer);
    expect(() => make([[false, new Bop()]])).toThrow(
      /CaseOptimizer pairs\[0\]\[0\]: received false; expected a predicate function/,
    );
    expect(() => make([[() => true, false]])).toThrow(
      /CaseOptimizer pairs\[0\]\[1\]: received false; expected a tf.Optimizer/,
    );
    expect(() => make([[() => true, new Bop()]], 'adam')).toThrow(
      /CaseOptimizer defaultOptimizer: received "adam"/,
    );
    expect(() => make([() => true, new Bop()])).toThrow(/CaseOptimizer pairs\[0\]: received a function/);
    expect(() => make({})).toThrow(/CaseOptimizer pairs: received an object/);
    expect(() => make([['no_such_predicate', new Bop()]])).toThrow(
      /received "no_such_predicate"; expected one of is_binary_variable/,
    );
  });
});

describe('state and config', () => {
  it("getWeights prefixes each optimizer's weights; setWeights gives them back", async () => {
    const v = vars({ a: [1, 2], b: [3] });
    const make = () =>
      new CaseOptimizer([[startsWith('a'), tf.train.momentum(0.1, 0.9)]], tf.train.adam(0.01));
    const optimizer = make();
    optimizer.applyGradients({ [v.a.name]: tf.tensor1d([1, 2]), [v.b.name]: tf.tensor1d([3]) });
    const weights = await optimizer.getWeights();
    expect(weights.map((w) => w.name)).toEqual([
      'iter',
      'optimizer_0/iter',
      `optimizer_0/${v.a.name}/momentum`,
      'optimizer_1/iter',
      `optimizer_1/${v.b.name}/m`,
      `optimizer_1/${v.b.name}/v`,
    ]);
    // momentum accumulation = g after one step
    expect(Array.from(weights[2].tensor.dataSync())).toEqual([1, 2]);
    const copy = make();
    await copy.setWeights(weights.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) })));
    const again = await copy.getWeights();
    expect(again.map((w) => w.name)).toEqual(weights.map((w) => w.name));
    again.forEach((w, i) => {
      expect(Array.from(w.tensor.dataSync())).toEqual(Array.from(weights[i].tensor.dataSync()));
    });
    expect(copy.iterations).toBe(1);
    await expect(
      copy.setWeights([
        { name: 'iter', tensor: tf.scalar(1, 'int32') },
        { name: 'stray', tensor: tf.scalar(0) },
      ]),
    ).rejects.toThrow(/weight 'stray'; expected names 'optimizer_<i>\/<name>' with i < 2/);
  });

  it('getConfig stores predicates by name; fromConfig (tfjs camelCases names on load) rebuilds it', () => {
    const optimizer = new CaseOptimizer(
      [['is_binary_variable', new Bop({ threshold: 1e-6, gamma: 1e-3 })]],
      tf.train.adam(0.01),
    );
    const config = optimizer.getConfig();
    expect(config).toEqual({
      pairs: [
        {
          predicate: 'is_binary_variable',
          optimizer: { className: 'Bop', config: { threshold: 1e-6, gamma: 1e-3, name: 'Bop' } },
        },
      ],
      defaultOptimizer: { className: 'Adam', config: tf.train.adam(0.01).getConfig() },
      name: 'optimizer_case',
    });
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap.CaseOptimizer;
    const loaded = JSON.parse(JSON.stringify(config).replace('is_binary_variable', 'isBinaryVariable'));
    const copy = fromConfig(cls, { ...loaded, customObjects: {} }) as CaseOptimizer;
    expect(copy).toBeInstanceOf(CaseOptimizer);
    expect(copy.getConfig()).toEqual(config);
    expect(copy.optimizers[0]).toBeInstanceOf(Bop);
  });

  it('an unregistered predicate cannot be saved: clear error', () => {
    const optimizer = new CaseOptimizer([[(v) => v.name.length > 3, tf.train.sgd(1)]]);
    expect(() => optimizer.getConfig()).toThrow(
      /optimizer_case.getConfig pairs\[0\]\[0\]: received a function; expected a predicate registered with registerPredicate/,
    );
  });
});

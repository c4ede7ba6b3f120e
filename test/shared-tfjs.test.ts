// lowbit shares one tfjs-core instance with the user's code: there is one installed copy, every
// tfjs package resolves to it, and what lowbit registers is visible through the user's own import.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import * as lq from '../src/index.js';

const require = createRequire(import.meta.url);

it('declares tfjs-core, -layers and -backend-cpu as peer dependencies, so npm installs one copy', () => {
  const pkg = require('../package.json') as {
    peerDependencies: Record<string, string>;
    dependencies: Record<string, string>;
  };
  for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu']) {
    expect(pkg.peerDependencies[name]).toMatch(/4\.22/);
    expect(pkg.dependencies[name]).toBeUndefined();
  }
});

it('resolves tfjs-core to the same file from lowbit and from every tfjs package', () => {
  const core = require.resolve('@tensorflow/tfjs-core');
  for (const from of [
    '@tensorflow/tfjs-layers',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-cpu',
  ]) {
    const dir = require.resolve(`${from}/package.json`).replace(/package\.json$/, '');
    expect(require.resolve('@tensorflow/tfjs-core', { paths: [dir] })).toBe(core);
  }
});

it("registers lowbit's classes and kernels on the user's tfjs", () => {
  const names = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const cls of lq.layers.registeredLayers()) expect(names[cls.className]?.[0]).toBe(cls);
  expect(names.SteSign?.[0]).toBe(lq.quantizers.SteSign);
  expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  const layer = lq.layers.quantDense({
    units: 2,
    kernelQuantizer: 'ste_sign',
    kernelConstraint: 'weight_clip',
  });
  expect(layer).toBeInstanceOf(tfl.layers.Layer);
});

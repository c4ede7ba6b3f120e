import { EventEmitter } from 'node:events';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { Interrupt } from './interrupt.js';
import { captureIo } from './io.js';

describe('Interrupt', () => {
  it('asks to stop on the first signal and exits with 130 on the second', () => {
    const source = new EventEmitter();
    const io = captureIo();
    const exits: number[] = [];
    const interrupt = new Interrupt({ source, stream: io.stderr, exit: (c) => exits.push(c) });
    expect(interrupt.requested).toBe(false);
    source.emit('SIGINT');
    expect(interrupt.requested).toBe(true);
    expect(interrupt.signal.aborted).toBe(true);
    expect(exits).toEqual([]);
    expect(io.err()).toContain('stopping after the current batch');
    source.emit('SIGTERM');
    expect(exits).toEqual([130]);
    interrupt.dispose();
    expect(source.listenerCount('SIGINT')).toBe(0);
    expect(source.listenerCount('SIGTERM')).toBe(0);
  });

  it('stops model.fit after the batch during which the interrupt came', async () => {
    await tf.setBackend('cpu');
    const source = new EventEmitter();
    const interrupt = new Interrupt({ source, stream: captureIo().stderr, exit: () => {} });
    const x = tf.ones([10 * 8, 2]);
    const y = tf.zeros([10 * 8, 1]);
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    let batches = 0;
    const counter = new (class extends tfl.Callback {
      override async onBatchEnd(batch: number): Promise<void> {
        batches++;
        if (batch === 2) source.emit('SIGINT'); // Ctrl-C during the third batch of epoch 1
      }
    })();
    const history = await model.fit(x, y, {
      epochs: 5,
      batchSize: 8,
      verbose: 0,
      callbacks: [counter, interrupt.callback()],
    });
    expect(batches).toBe(3);
    expect(history.epoch).toEqual([0]);
    interrupt.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });
});

import { describe, ShapeError } from '../errors.js';
import type { GraphInput } from './ir.js';
import { sizeOf } from './shapes.js';

/**
 * Checks a predict() input against the graph input: a Float32Array (or, when the input records an
 * 8-bit scaling, a Uint8Array) of length prod(shape) and a shape [batch, ...input.shape] with
 * batch >= 1. Throws ShapeError otherwise; returns the batch size.
 */
export function checkInput(input: GraphInput, data: unknown, shape: unknown, where: string): number {
  const expected = `[batch >= 1, ${input.shape.join(', ')}]`;
  if (!(data instanceof Float32Array) && !(data instanceof Uint8Array && input.uint8))
    throw new ShapeError({
      where,
      received: `data ${describe(data)}`,
      expected: input.uint8
        ? 'a Float32Array (dtype float32) or a Uint8Array of 8-bit data (x = q * scale + offset)'
        : data instanceof Uint8Array
          ? 'a Float32Array (dtype float32); this model records no 8-bit input scaling (convert with { uint8Input: { scale, offset } } to accept a Uint8Array)'
          : 'a Float32Array (dtype float32)',
    });
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new ShapeError({
      where,
      received: `shape ${describe(shape)}`,
      expected: `an array of integers ${expected}`,
    });
  const ok =
    shape.length === input.shape.length + 1 &&
    shape[0] >= 1 &&
    input.shape.every((d, i) => shape[i + 1] === d);
  if (!ok) throw new ShapeError({ where, received: shape, expected });
  if (data.length !== sizeOf(shape))
    throw new ShapeError({
      where,
      received: `${data.length} values for shape [${shape.join(', ')}]`,
      expected: `${sizeOf(shape)} values`,
    });
  return shape[0];
}

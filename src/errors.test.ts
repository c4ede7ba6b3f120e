import { expect, it, describe as suite } from 'vitest';
import { ConfigError, describe, FormatError, LowbitError, ShapeError } from './errors.js';

suite('errors', () => {
  it('ConfigError names where, what was received and what is valid', () => {
    const e = new ConfigError({
      where: 'quantizers.get',
      received: 'ste_sgn',
      expected: ['ste_sign', 'approx_sign'],
    });
    expect(e).toBeInstanceOf(LowbitError);
    expect(e.message).toBe('quantizers.get: received "ste_sgn"; expected one of ste_sign, approx_sign.');
  });

  it('ShapeError and FormatError build their messages from structured arguments', () => {
    expect(new ShapeError({ where: 'predict', received: [2, 3], expected: '[batch, 784]' }).message).toBe(
      'predict: received shape [2, 3]; expected [batch, 784].',
    );
    expect(new FormatError({ source: 'a.idx', problem: 'magic 0x0', expected: '0x803' }).message).toBe(
      'a.idx: magic 0x0; expected 0x803.',
    );
  });

  it('describe gives a short description of any value', () => {
    expect(describe(null)).toBe('null');
    expect(describe(3)).toBe('3');
    expect(describe([1, 2])).toBe('an array of length 2');
    expect(describe({ a: 1 })).toBe('an object {a}');
    expect(describe(new Map())).toBe('an instance of Map');
    expect(describe(function f() {})).toBe('a function (f)');
  });
});

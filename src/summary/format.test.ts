/** Python / terminaltables formatting, against values Python itself prints. */
import { describe, expect, it } from 'vitest';
import { asciiTable, memoryAsReadable, numberAsReadable, pyFixed, shapeAsPython } from './format.js';

describe('pyFixed (Python f"{x:.Nf}")', () => {
  it.each([
    // Exact binary ties round to even in Python; JavaScript's toFixed would give 1.13, 0.13, 2.63.
    [1.125, 2, '1.12'],
    [0.125, 2, '0.12'],
    [2.625, 2, '2.62'],
    [0.375, 2, '0.38'],
    // 2.675 is stored as 2.67499999..., so Python prints 2.67.
    [2.675, 2, '2.67'],
    [0, 2, '0.00'],
    [236, 2, '236.00'],
    [0.9303, 4, '0.9303'],
    [0.07, 2, '0.07'],
    [-1.5, 0, '-2'],
    [2.5, 0, '2'],
  ])('%s with %i digits -> %s', (x, digits, text) => {
    expect(pyFixed(x, digits)).toBe(text);
  });

  it('groups thousands like f"{x:,.2f}"', () => {
    expect(pyFixed(1234567.891, 2, true)).toBe('1,234,567.89');
    expect(pyFixed(999.999, 2, true)).toBe('1,000.00');
    expect(pyFixed(12, 1, true)).toBe('12.0');
  });
});

describe("numberAsReadable (Larq's _number_as_readable_str)", () => {
  it.each([
    [0, '0'],
    [32, '32'],
    [896, '896'],
    [999, '999'],
    [1952, '1.95 k'],
    [40746, '40.7 k'],
    [38794, '38.8 k'],
    [884736, '885 k'],
    // 884500 is a tie at 3 significant figures: Python's .3g rounds it to even (884000).
    [884500, '884 k'],
    // Larq's own comment: 999000 -> '999 k', and rounding first turns 999600 into 1.00 M.
    [999000, '999 k'],
    [999600, '1 M'],
    [1411584, '1.41 M'],
    [2794240, '2.79 M'],
    [1e15, '1.00E+15'],
    // Larq's test_number_as_readable_str_large.
    [1e16, '1.00E+16'],
  ])('%d -> %s', (n, text) => {
    expect(numberAsReadable(n)).toBe(text);
  });
});

describe("memoryAsReadable (Larq's memory_as_readable_str)", () => {
  it.each([
    [0, '0.00 B'],
    // Larq's worked example: 864 x 1 + 32 x 32 = 1888 bits = 236 bytes.
    [1888, '236.00 B'],
    [1120, '140.00 B'],
    // 896 x 32 bits = 3584 bytes = 3.5 KiB.
    [28672, '3.50 KiB'],
    // 1023.5 bytes stays in bytes; 1024 bytes is 1.00 KiB.
    [8188, '1,023.50 B'],
    [8192, '1.00 KiB'],
    // 1152 bytes = 1.125 KiB: a tie, printed 1.12 by Python.
    [9216, '1.12 KiB'],
    [8 * 1024 ** 3 * 2000, '2,000.00 GiB'],
  ])('%d bits -> %s', (bits, text) => {
    expect(memoryAsReadable(bits)).toBe(text);
  });
});

describe('shapeAsPython', () => {
  it('prints tuples with -1 for the batch, and a trailing comma for one element', () => {
    expect(shapeAsPython([null, 32, 32, 3])).toBe('(-1, 32, 32, 3)');
    expect(shapeAsPython([2])).toBe('(2,)');
  });
});

describe('asciiTable (terminaltables AsciiTable, inner_column_border = False)', () => {
  it('pads cells by one space, aligns per column, overlays the title and draws heading and footing borders', () => {
    const text = asciiTable(
      [
        ['Name', 'Count\n(n)'],
        ['a', '1'],
        ['bbb', '22'],
        ['Total', '23'],
      ],
      { title: 'T', justify: ['left', 'right'], headingBorder: true, footingBorder: true },
    );
    // Widths: column 0 = 5 ('Total'), column 1 = 5 ('Count'); each padded to 7: total 14.
    expect(text).toBe(
      [
        '+T-------------+',
        '| Name   Count |',
        '|          (n) |',
        '+--------------+',
        '| a          1 |',
        '| bbb       22 |',
        '+--------------+',
        '| Total     23 |',
        '+--------------+',
      ].join('\n'),
    );
  });

  it('hides a title wider than the table, and with two rows draws only the heading border', () => {
    const text = asciiTable(
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
      { title: 'a very long title', headingBorder: true, footingBorder: true },
    );
    expect(text).toBe(['+------+', '| a  b |', '+------+', '| c  d |', '+------+'].join('\n'));
  });
});

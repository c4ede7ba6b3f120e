/**
 * Text formatting that reproduces Larq's `lq.models.summary` byte for byte: Python's number
 * formatting (`f"{x:.2f}"`, `:.3g`, `str(float)`) and terminaltables' `AsciiTable` layout.
 *
 * JavaScript's `toFixed` and `toPrecision` round exact ties up (1.125 -> "1.13") where Python
 * rounds them to even ("1.12"), so rounding here works on the exact decimal expansion.
 */

/** Groups the digits of a non-negative integer string with commas: "1234567" -> "1,234,567". */
function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Rounds a non-negative decimal string `int.frac` to `digits` fractional digits, ties to even
 * (Python's correctly rounded formatting). Returns [integer part, fractional part].
 */
function roundDecimal(intPart: string, frac: string, digits: number): [string, string] {
  const kept = frac.slice(0, digits).padEnd(digits, '0');
  const rest = frac.slice(digits);
  const scaled = BigInt(intPart + kept);
  let up = false;
  if (rest.length > 0 && rest[0] >= '5') {
    const beyondHalf = rest[0] > '5' || /[1-9]/.test(rest.slice(1));
    // An exact tie goes to the even neighbour.
    up = beyondHalf || scaled % 2n === 1n;
  }
  const rounded = (up ? scaled + 1n : scaled).toString().padStart(digits + 1, '0');
  return [rounded.slice(0, rounded.length - digits), rounded.slice(rounded.length - digits)];
}

/**
 * Python's `f"{x:.{digits}f}"` (or `f"{x:,.{digits}f}"` with `thousands`): fixed point with exact
 * round-half-even on the binary value. Finite numbers below 1e21 only.
 */
export function pyFixed(x: number, digits: number, thousands = false): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const negative = x < 0 || Object.is(x, -0);
  // toFixed(100) gives the exact decimal digits of the double (up to 100 places).
  const [intPart, frac = ''] = Math.abs(x).toFixed(100).split('.');
  const [i, f] = roundDecimal(intPart, frac, digits);
  const whole = thousands ? groupThousands(i) : i;
  return `${negative ? '-' : ''}${whole}${digits > 0 ? `.${f}` : ''}`;
}

/**
 * Rounds a non-negative integer to 3 significant figures as Python's `float(f"{n:.3g}")` does
 * (ties to even): 884736 -> 885000, 884500 -> 884000.
 */
function roundTo3Significant(n: number): number {
  const digits = BigInt(Math.round(n)).toString();
  if (digits.length <= 3) return Number(digits);
  const [head] = roundDecimal(digits.slice(0, 3), digits.slice(3), 0);
  // A carry (999.5 -> 1000) adds a digit; the magnitude stays that of the original number.
  return Number(head) * 10 ** (digits.length - 3);
}

/** Python's `f"{x:.3g}"` for 0 <= x < 1000 with at most 3 significant digits: no trailing zeros. */
function pyG3(x: number): string {
  if (x === 0) return '0';
  const exponent = Math.floor(Math.log10(x));
  const decimals = Math.max(0, 2 - exponent);
  const text = pyFixed(x, decimals);
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

/**
 * Larq's `_number_as_readable_str` for counts: 3 significant figures with k, M, B, T suffixes
 * (1,952 -> "1.95 k", 884,736 -> "885 k", 999,000 -> "999 k", 999,600 -> "1 M"), below 1000 the
 * plain number, from 10^15 on scientific notation ("1.00E+16").
 */
export function numberAsReadable(count: number): string {
  if (count < 0 || !Number.isFinite(count)) return String(count);
  const rounded = roundTo3Significant(count);
  if (rounded < 1000) return String(rounded);
  if (rounded >= 1e15) {
    const [mantissa, exp] = rounded.toExponential(2).split('e');
    const e = Number(exp);
    return `${mantissa}E${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  let num = rounded;
  let magnitude = 0;
  while (Math.abs(num) >= 1000 && magnitude < 4) {
    magnitude += 1;
    num /= 1000;
  }
  return pyG3(num) + ['', ' k', ' M', ' B', ' T'][magnitude];
}

/**
 * Larq's `memory_as_readable_str`: a size in bits as bytes with binary prefixes, two decimals:
 * bytes = bits / 8; the first of B, KiB, MiB, GiB (steps of 1024) under 1024, else GiB.
 * 1888 bits -> "236.00 B"; 28672 bits -> "3.50 KiB".
 */
export function memoryAsReadable(bits: number): string {
  const suffixes = ['B', 'KiB', 'MiB', 'GiB'];
  const bytes = bits / 8;
  let rounded = bytes;
  let suffix = suffixes[0];
  for (let i = 0; i < suffixes.length; i++) {
    rounded = bytes / 1024 ** i;
    suffix = suffixes[i];
    if (rounded < 1024) break;
  }
  return `${pyFixed(rounded, 2, true)} ${suffix}`;
}

/** A dimension or shape as Python prints Larq's normalized tuples: null (batch) -> -1, "(2,)". */
export function shapeAsPython(shape: readonly (number | null)[]): string {
  const dims = shape.map((d) => (d ? String(d) : '-1'));
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
}

/** Horizontal alignment of a table column. */
export type Justify = 'left' | 'right';

/** Layout of an {@link asciiTable}: terminaltables' `AsciiTable` with its borders switched. */
export interface AsciiTableStyle {
  /** Shown inside the top border when it fits (else hidden, as terminaltables does). */
  title?: string;
  /** Per column; missing columns are left-justified. */
  justify?: readonly Justify[];
  /** A border under the first row. */
  headingBorder?: boolean;
  /** A border above the last row. */
  footingBorder?: boolean;
}

/**
 * Renders rows of cells (a cell may hold several lines, split at '\n') as terminaltables'
 * `AsciiTable` with `inner_column_border = False`: each cell padded by one space on each side,
 * '|' only at the outer edges, '+---+' borders, the title overlaid on the top border.
 */
export function asciiTable(rows: readonly (readonly string[])[], style: AsciiTableStyle = {}): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const cells = rows.map((r) => Array.from({ length: columns }, (_, c) => (r[c] ?? '').split('\n')));
  const widths = Array.from({ length: columns }, (_, c) =>
    Math.max(0, ...cells.flatMap((r) => r[c].map((line) => line.length))),
  );
  const total = widths.reduce((sum, w) => sum + w + 2, 0);
  const border = `+${'-'.repeat(total)}+`;
  const title = style.title;
  const top =
    title !== undefined && title.length <= total && columns > 0
      ? `+${title}${'-'.repeat(total - title.length)}+`
      : border;
  const lines: string[] = [top];
  cells.forEach((row, i) => {
    const height = Math.max(1, ...row.map((cell) => cell.length));
    for (let l = 0; l < height; l++) {
      const body = row
        .map((cell, c) => {
          const text = cell[l] ?? '';
          const aligned = style.justify?.[c] === 'right' ? text.padStart(widths[c]) : text.padEnd(widths[c]);
          return ` ${aligned} `;
        })
        .join('');
      lines.push(`|${body}|`);
    }
    if (i === rows.length - 1) return;
    if (style.headingBorder && i === 0) lines.push(border);
    else if (style.footingBorder && i === rows.length - 2) lines.push(border);
  });
  lines.push(border);
  return lines.join('\n');
}

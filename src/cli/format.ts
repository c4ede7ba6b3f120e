/**
 * Plain-text formatting for CLI output.
 */

/**
 * Lays out rows as a text table with columns padded to their widest cell; numbers (and cells that
 * look like numbers or percentages) are right-aligned, text left-aligned.
 *
 * @example
 * ```ts
 * table([['split', 'count'], ['train', 8000]]);
 * // split  count
 * // train   8000
 * ```
 */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths: number[] = [];
  for (const r of cells) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  const numeric = (c: string) => /^-?[\d,.]+%?$/.test(c);
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric(c) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Formats a shape as `[8000, 28, 28, 1]`. */
export function shape(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

/** Formats part / whole as a percentage with one decimal: `10.0%`. */
export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

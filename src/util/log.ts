/**
 * lowbit's warnings go through one replaceable sink, so applications (and tests) can route or
 * silence them. Default: `console.warn`.
 */
export type WarnFn = (message: string) => void;

let sink: WarnFn = (message) => console.warn(`lowbit: ${message}`);

/** Emits a warning through the current sink. */
export function warn(message: string): void {
  sink(message);
}

/**
 * Replaces the warning sink and returns the previous one.
 *
 * @example
 * const previous = lq.setWarningHandler((m) => myLogger.warn(m));
 */
export function setWarningHandler(fn: WarnFn): WarnFn {
  const previous = sink;
  sink = fn;
  return previous;
}

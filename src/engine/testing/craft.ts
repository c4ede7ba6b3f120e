import { crc32 } from '../format/crc32.js';

/**
 * An independent writer of the documented `.lbm` layout (magic, version, lengths, CRC-32, JSON header,
 * data) for tests that craft hostile files with a valid checksum.
 */
export function craftLbm(
  header: unknown,
  data: Uint8Array,
  opts: { version?: number; magic?: number[] } = {},
): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(24 + json.length + data.length);
  out.set(opts.magic ?? [0x89, 0x4c, 0x42, 0x4d, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(out.buffer);
  v.setUint32(8, opts.version ?? 1, true);
  v.setUint32(12, json.length, true);
  v.setUint32(16, data.length, true);
  out.set(json, 24);
  out.set(data, 24 + json.length);
  v.setUint32(20, crc32(out.subarray(24), crc32(out.subarray(0, 20))), true);
  return out;
}

/** Splits a valid `.lbm` file into its parsed header and its data section. */
export function splitLbm(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const h = v.getUint32(12, true);
  return {
    header: JSON.parse(new TextDecoder().decode(bytes.subarray(24, 24 + h))),
    data: bytes.slice(24 + h),
  };
}

/** Replaces a random leaf (or subtree) of a JSON value with junk, in place. */
export function mutateJson(root: Record<string, unknown>, next: () => number): void {
  const junk = [
    null,
    -1,
    0,
    1,
    2,
    31,
    33,
    1e300,
    -1e300,
    2 ** 31,
    2 ** 53,
    0.5,
    '',
    'x',
    'same',
    'bits',
    [],
    [1],
    [1, 2],
    [null, 1],
    {},
    { kind: 'bits' },
    true,
  ];
  let obj = root as Record<string | number, unknown>;
  let key: string | number = '';
  for (let depth = 0; depth < 6; depth++) {
    const keys: (string | number)[] = Array.isArray(obj) ? obj.map((_, i) => i) : Object.keys(obj);
    if (keys.length === 0) break;
    key = keys[Math.floor(next() * keys.length)];
    const child = obj[key];
    if (child === null || typeof child !== 'object' || next() < 0.25) break;
    obj = child as Record<string | number, unknown>;
  }
  obj[key] = junk[Math.floor(next() * junk.length)];
}

// Browser entry bundled by engine.browser.test.ts: loads /model.lbm with the engine runtime, runs
// /input.bin through it and publishes every traced value (as plain arrays) on window.__engineResult.
import { load } from '../../src/engine/index.js';

declare global {
  interface Window {
    __engineResult?:
      | {
          values: Record<string, number[]>;
          output: number[];
          popcount: string;
          threads: number;
          batchSplit: boolean;
          fallback: string | null;
          isolated: boolean;
          ms: { load: number; run: number };
        }
      | { error: string };
  }
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const shape = (params.get('shape') ?? '').split(',').map(Number);
  const bytes = new Uint8Array(await (await fetch('/model.lbm')).arrayBuffer());
  const input = new Float32Array(await (await fetch('/input.bin')).arrayBuffer());
  const t0 = performance.now();
  const net = await load(bytes, {
    popcount: (params.get('popcount') as 'scalar' | 'simd') ?? 'auto',
    threads: Number(params.get('threads') ?? 1),
  });
  const t1 = performance.now();
  const values: Record<string, number[]> = {};
  for (const [name, t] of net.trace(input, shape)) values[name] = Array.from(t.data);
  window.__engineResult = {
    values,
    output: Array.from(net.predict(input, shape).data),
    popcount: net.info.popcount,
    threads: net.info.threads,
    batchSplit: net.info.batchSplit,
    fallback: net.info.threadFallback,
    isolated: globalThis.crossOriginIsolated === true,
    ms: { load: t1 - t0, run: performance.now() - t1 },
  };
  net.dispose();
}

main().catch((e: unknown) => {
  window.__engineResult = { error: String((e as Error)?.stack ?? e) };
});

/**
 * Shared set-up of the real-browser tests: Debian's Chromium (installed by .ci/run) driven by
 * playwright-core with the flags this closed-network machine needs. Tests skip, with this reason,
 * when the browser is absent.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Path of the Chromium binary, or undefined when it is not installed. */
export const CHROMIUM: string | undefined = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) =>
  existsSync(p),
);

/** Why browser tests are skipped, for their titles. */
export const CHROMIUM_SKIP_REASON = "skipped: /usr/bin/chromium is absent; install Debian's chromium";

/** Launches headless Chromium without network side traffic (its background requests fail here). */
export function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error(CHROMIUM_SKIP_REASON);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// Debian's Chromium driven by playwright-core, for the browser tests: a
// headless browser with a fresh profile, and the rule for when the tests
// may be skipped (no /usr/bin/chromium outside CI).
import { type Browser, chromium } from "playwright-core";

export const chromiumPath = "/usr/bin/chromium";

/** Whether the browser tests run: always in CI, elsewhere when Chromium is installed. */
export function browserAvailable(): boolean {
  try {
    Deno.statSync(chromiumPath);
    return true;
  } catch {
    if (Deno.env.get("CI") === "true") {
      throw new Error(`${chromiumPath} is missing, and CI must run the browser tests`);
    }
    console.warn(`browser tests skipped: ${chromiumPath} is missing (apt-get install chromium)`);
    return false;
  }
}

/** Launch headless Chromium; playwright gives it a fresh temporary profile (user data dir). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}

import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

// Debian's chromium, or the one CHROMIUM_PATH names; no browser is ever downloaded.
const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** The chromium the browser tests drive, or undefined when this machine has none. */
export const chromiumPath = CANDIDATES.find((path): path is string => path !== undefined && path !== "" && existsSync(path));

/** Starts a headless chromium (as root it needs --no-sandbox). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
}

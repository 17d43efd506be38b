import { access } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { MeowmxConfig } from "../config.js";

/** The config file the CLI reads unless `--config` names another. */
export const DEFAULT_CONFIG_FILE = "meowmx.config.ts";

/**
 * Loads the default export of a config file (TypeScript or JavaScript). The default file may be
 * missing (then the config is empty); a file named with `--config` must exist.
 */
export async function loadConfig(path: string | undefined): Promise<MeowmxConfig> {
  const file = resolve(path ?? DEFAULT_CONFIG_FILE);
  try {
    await access(file);
  } catch {
    if (path === undefined) return {};
    throw new Error(`no config file at ${file}`);
  }
  const { tsImport } = await import("tsx/esm/api");
  const module = (await tsImport(pathToFileURL(file).href, import.meta.url)) as { default?: MeowmxConfig | { default?: MeowmxConfig } };
  // A file outside an ESM package loads as CommonJS: its default export sits one level down.
  const exported = module.default !== undefined && "default" in module.default ? module.default.default : module.default;
  if (exported === undefined) throw new Error(`${file} has no default export (export default defineConfig({ ... }))`);
  return exported as MeowmxConfig;
}

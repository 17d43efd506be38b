import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { MeowmxError } from "../errors.js";
import type { Store } from "../store/store.js";
import { EXPLORER_DEFAULTS, type Explorer, type ExplorerOptions } from "./options.js";
import { guard, hostMatcher } from "./guard.js";
import { LagHistory } from "./lag-history.js";
import { mountRoutes } from "./routes.js";

// The page: plain files, no build step, nothing fetched from elsewhere.
const PAGE_FILES = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
} as const;

/** Starts the explorer's web server (see `startExplorer`). */
export async function serveExplorer(store: Store, options: ExplorerOptions): Promise<Explorer> {
  const host = options.host ?? EXPLORER_DEFAULTS.host;
  const token = options.allowWrites === true ? randomBytes(24).toString("base64url") : undefined;
  const history = new LagHistory(store);
  const closing = new AbortController();
  let port = 0;

  const app = new Hono();
  app.use("*", guard(hostMatcher(host, () => port), token));
  for (const [path, { file, type }] of Object.entries(PAGE_FILES)) {
    const body = await readFile(new URL(`./page/${file}`, import.meta.url), "utf8");
    app.get(path, (c) => c.body(body, 200, { "content-type": type }));
  }
  mountRoutes(app, { store, options, token, history, closing: closing.signal });
  app.onError((error, c) => {
    if (error instanceof MeowmxError) return c.json({ error: error.message, code: error.code }, error.code === "INVALID_ARGUMENT" ? 400 : 422);
    return c.json({ error: error.message }, 500);
  });
  app.notFound((c) => c.json({ error: "not found" }, 404));

  const server = createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? EXPLORER_DEFAULTS.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  history.start();
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    close: async () => {
      history.stop();
      closing.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
    },
  };
}

import { timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { MiddlewareHandler } from "hono";

/** The header a write request carries its token in. */
export const TOKEN_HEADER = "x-meowmx-token";

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];
const WILDCARD_HOSTS = ["0.0.0.0", "::", "[::]"];

// The page's own files and what it fetches come from this server; nothing else loads or runs.
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/**
 * Which Host headers name this server. A page that a rebinding DNS name loads sends that name: only
 * the bound host is answered, with the loopback names when it is a loopback or wildcard address, and
 * any IP address (never a DNS name) when it is a wildcard address.
 */
export function hostMatcher(boundHost: string, port: () => number): (header: string | undefined) => boolean {
  const bound = isIP(boundHost) === 6 ? `[${boundHost}]` : boundHost.toLowerCase();
  const wildcard = WILDCARD_HOSTS.includes(bound);
  const names = new Set([bound, ...(wildcard || LOOPBACK_NAMES.includes(bound) ? LOOPBACK_NAMES : [])]);
  return (header) => {
    if (header === undefined) return false;
    let url: URL;
    try {
      url = new URL(`http://${header}`);
    } catch {
      return false;
    }
    if (url.username !== "" || url.pathname !== "/" || Number(url.port || 80) !== port()) return false;
    return names.has(url.hostname) || (wildcard && isIP(url.hostname.replace(/^\[|\]$/g, "")) !== 0);
  };
}

/**
 * Refuses requests for another host, and writes (any method but GET and HEAD) without the token or
 * from another origin; adds the security headers to every answer.
 */
export function guard(isOurHost: (header: string | undefined) => boolean, token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : Buffer.from(token);
  return async (c, next) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
    const host = c.req.header("host");
    if (!isOurHost(host)) return c.json({ error: "this explorer does not answer for that host" }, 403);
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      if (expected === undefined) return c.json({ error: "writes are off: start the explorer with --allow-writes" }, 403);
      const given = Buffer.from(c.req.header(TOKEN_HEADER) ?? "");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return c.json({ error: "missing or wrong write token" }, 403);
      const origin = c.req.header("origin");
      if (origin !== undefined && origin !== `http://${host}`) return c.json({ error: "writes from another origin are refused" }, 403);
    }
    await next();
  };
}

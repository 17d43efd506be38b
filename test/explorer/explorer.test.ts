import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startExplorer } from "../../src/index.js";
import { hostMatcher, TOKEN_HEADER } from "../../src/explorer/guard.js";
import { CustomerTotals, Order } from "../support/aggregates.js";
import { describeEachBackend } from "../support/backends.js";
import { explorersForEachTest } from "../support/explorers.js";

/** A raw HTTP request, so that the Host and Origin headers are what the test says. */
async function send(url: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  const target = new URL(url);
  const req = request({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method ?? "GET", headers: options.headers });
  req.end();
  const [response] = (await once(req, "response")) as [import("node:http").IncomingMessage];
  let body = "";
  for await (const chunk of response) body += chunk;
  return { status: response.statusCode, headers: response.headers, body };
}

describe("which Host headers the explorer answers", () => {
  it("on a loopback address: that address and the loopback names, on its port", () => {
    const ours = hostMatcher("127.0.0.1", () => 4000);
    for (const host of ["127.0.0.1:4000", "localhost:4000", "[::1]:4000", "LOCALHOST:4000"]) expect(ours(host), host).toBe(true);
    for (const host of [undefined, "", "evil.example:4000", "127.0.0.1:4001", "127.0.0.1", "user@127.0.0.1:4000", "127.0.0.1:4000/x", "127.0.0.1.evil.example:4000", "10.0.0.1:4000"]) {
      expect(ours(host), String(host)).toBe(false);
    }
  });

  it("on a wildcard address: IP addresses and loopback names, never another DNS name", () => {
    const ours = hostMatcher("0.0.0.0", () => 80);
    for (const host of ["192.168.1.5", "10.0.0.1:80", "[fe80::1]", "localhost"]) expect(ours(host), host).toBe(true);
    for (const host of ["rebind.attacker.example", "intranet:80", "192.168.1.5:81"]) expect(ours(host), host).toBe(false);
  });

  it("on a named host: that name only", () => {
    const ours = hostMatcher("ops.example.lan", () => 4000);
    expect(ours("ops.example.lan:4000")).toBe(true);
    expect(ours("localhost:4000")).toBe(false);
  });
});

describeEachBackend("the explorer's server", ({ newStore }) => {
  const serve = explorersForEachTest();

  it("refuses requests addressed to another host, and sends its security headers", async () => {
    const store = await newStore();
    const { url } = await serve(store);
    const port = new URL(url).port;
    const page = await send(url);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<title>meowmx explorer<\/title>/);
    expect(page.headers["content-security-policy"]).toMatch(/script-src 'self'/);
    expect(page.headers["x-frame-options"]).toBe("DENY");
    expect((await send(`${url}api/categories`, { headers: { host: `localhost:${port}` } })).status).toBe(200);
    for (const host of [`evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`]) {
      for (const path of ["", "api/categories", "app.js"]) {
        const refused = await send(`${url}${path}`, { headers: { host } });
        expect(refused.status, `${host} ${path}`).toBe(403);
        expect(refused.body).not.toMatch(/meowmx explorer|aggregateType/);
      }
    }
  });

  it("refuses every write unless writes are allowed and the request carries the token, from no other origin", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c-1", total: 10 })]);
    const subscriptions = [{ name: "receipts", handler: () => {} }];
    const readOnly = await serve(store, { subscriptions, projections: [CustomerTotals] });
    const session = JSON.parse((await send(`${readOnly.url}api/session`)).body);
    expect(session).toMatchObject({ allowWrites: false, token: null });
    const off = await send(`${readOnly.url}api/rebuild?name=customer-totals`, { method: "POST" });
    expect([off.status, JSON.parse(off.body).error]).toEqual([403, "writes are off: start the explorer with --allow-writes"]);

    const writable = await serve(store, { subscriptions, projections: [CustomerTotals], allowWrites: true });
    const { token } = JSON.parse((await send(`${writable.url}api/session`)).body) as { token: string };
    expect(token).toMatch(/^[\w-]{32}$/);
    const origin = writable.url.replace(/\/$/, "");
    const host = new URL(writable.url).host;
    const attempts: Array<{ headers: Record<string, string>; status: number }> = [
      { headers: {}, status: 403 },
      { headers: { [TOKEN_HEADER]: `${token.slice(0, -1)}x` }, status: 403 },
      { headers: { [TOKEN_HEADER]: token, origin: "http://evil.example" }, status: 403 },
      { headers: { [TOKEN_HEADER]: token, host: "evil.example" }, status: 403 },
    ];
    for (const attempt of attempts) {
      const refused = await send(`${writable.url}api/rebuild?name=customer-totals`, { method: "POST", headers: attempt.headers });
      expect(refused.status, JSON.stringify(attempt.headers)).toBe(attempt.status);
    }
    expect(await store.projection(CustomerTotals).get("c-1")).toBeUndefined();

    const started = await send(`${writable.url}api/rebuild?name=customer-totals`, { method: "POST", headers: { [TOKEN_HEADER]: token, origin, host } });
    expect(started.status).toBe(202);
    await expect.poll(async () => JSON.parse((await send(`${writable.url}api/projections`)).body)[0].rebuild.state).toBe("done");
    expect(await store.projection(CustomerTotals).get("c-1")).toEqual({ orders: 1, total: 10, refunded: 0 });
    const replayed = await send(`${writable.url}api/replay-parked?name=receipts`, { method: "POST", headers: { [TOKEN_HEADER]: token } });
    expect(JSON.parse(replayed.body)).toEqual({ replayed: 0 });
    const unknown = await send(`${writable.url}api/replay-parked?name=nobody`, { method: "POST", headers: { [TOKEN_HEADER]: token } });
    expect([unknown.status, JSON.parse(unknown.body).error]).toEqual([404, "no subscription named nobody in the config file: its handler is needed to replay"]);
  });

  it("pages a category's streams and searches their ids literally", async () => {
    const store = await newStore();
    for (const id of ["o-01", "o-02", "o-03", "o-04", "o-05", "o-06", "o-07", "a_1", "ab1", "50%"]) {
      await store.append("order", id, [Order.events.OrderCreated({ customerId: "c-1", total: 1 })]);
    }
    await store.append("order", "o-07", [Order.events.OrderShipped({ trackingCode: "T" })]);
    const { url } = await serve(store);
    const streams = async (query: string) => JSON.parse((await send(`${url}api/streams?type=order&${query}`)).body) as { streams: Array<{ aggregateId: string; version: number }>; total: number };
    const ids = (page: { streams: Array<{ aggregateId: string }> }) => page.streams.map((stream) => stream.aggregateId);
    expect(ids(await streams("limit=4"))).toEqual(["50%", "a_1", "ab1", "o-01"]);
    const last = await streams("limit=4&offset=8");
    expect([ids(last), last.total]).toEqual([["o-06", "o-07"], 10]);
    expect(last.streams[1]!.version).toBe(2);
    expect(ids(await streams("search=_"))).toEqual(["a_1"]);
    expect(ids(await streams("search=%25"))).toEqual(["50%"]);
    expect((await streams("search=O-0")).total).toBe(7);
  });

  it("answers bad parameters with 400 and a message", async () => {
    const store = await newStore();
    const { url } = await serve(store);
    for (const [path, message] of [
      ["api/streams", "the query parameter type is required"],
      ["api/streams?type=order&limit=0", "limit must be between 1 and 500, got 0"],
      ["api/stream?type=order&id=o-1&from=-1", "the query parameter from must be a whole number, got -1"],
      ["api/events?before=nonsense", /position/],
    ] as const) {
      const answer = await send(`${url}${path}`);
      expect(answer.status, path).toBe(400);
      expect(JSON.parse(answer.body).error, path).toMatch(message);
    }
    expect((await send(`${url}api/nothing`)).status).toBe(404);
  });

  it("streams new events to a live page until it closes, and fails to start on a port in use", async () => {
    const store = await newStore();
    const explorer = await serve(store);
    const response = await fetch(`${explorer.url}api/live?type=order`);
    const reader = response.body!.getReader();
    const appended = await store.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c-1", total: 10 })]);
    let text = "";
    while (!text.includes("\n\n")) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(`id: ${appended.events[0]!.position}`);
    expect(JSON.parse(text.match(/^data: (.*)$/m)![1]!)).toMatchObject({ aggregateId: "o-1", type: "OrderCreated" });

    const port = Number(new URL(explorer.url).port);
    await expect(startExplorer(store, { port })).rejects.toThrow(/EADDRINUSE/);
    await explorer.close();
    expect(await reader.read().then((result) => result.done, () => true)).toBe(true);
  });
});

describe("npx meowmx ui", () => {
  it("serves the explorer over a data dir until Ctrl-C", async () => {
    const dir = await mkdtemp(join(tmpdir(), "meowmx-ui-"));
    try {
      const bin = join(import.meta.dirname, "../../src/cli/bin.ts");
      const env = { ...process.env, DATABASE_URL: "", MEOWMX_DATABASE_URL: "" };
      const demo = spawn(process.execPath, ["--import", "tsx", bin, "--data-dir", dir, "demo"], { env, stdio: "ignore" });
      expect((await once(demo, "exit"))[0]).toBe(0);
      const ui = spawn(process.execPath, ["--import", "tsx", bin, "--data-dir", dir, "ui", "--port", "0"], { env });
      let output = "";
      ui.stdout.on("data", (chunk) => (output += chunk));
      await expect.poll(() => output, { timeout: 30_000 }).toMatch(/meowmx explorer on http:\/\/127\.0\.0\.1:\d+\/ \(read-only\)/);
      const url = output.match(/http:\/\/\S+\//)![0];
      expect(JSON.parse((await send(`${url}api/categories`)).body)).toMatchObject([{ aggregateType: "order", streams: 1, events: 10 }]);
      ui.kill("SIGINT");
      expect((await once(ui, "exit"))[0]).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

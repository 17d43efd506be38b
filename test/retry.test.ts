import { getEventListeners, setMaxListeners } from "node:events";
import { expect, it } from "vitest";
import { sleep } from "../src/retry.js";

it("leaves nothing attached to the signal that can cut a sleep short, however many sleeps share it", async () => {
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 1000 }, () => sleep(0, stop.signal)));
  expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
  const long = sleep(60_000, stop.signal);
  expect(getEventListeners(stop.signal, "abort")).toHaveLength(1);
  const started = performance.now();
  stop.abort();
  await long;
  expect(performance.now() - started).toBeLessThan(1000);
});

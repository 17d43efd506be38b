import { expect, it } from "vitest";
import { main } from "./getting-started.js";

it("the getting-started walk-through does what the guide says", async () => {
  // The guide starts on the embedded database: run it there even when the suite has a PostgreSQL.
  const saved = [process.env.DATABASE_URL, process.env.MEOWMX_DATABASE_URL];
  delete process.env.DATABASE_URL;
  delete process.env.MEOWMX_DATABASE_URL;
  const result = await main().finally(() => {
    if (saved[0] !== undefined) process.env.DATABASE_URL = saved[0];
    if (saved[1] !== undefined) process.env.MEOWMX_DATABASE_URL = saved[1];
  });
  const { state, version, attempts, receipts, tea, id } = result;
  expect(state).toEqual({ items: ["tea", "mug"], total: 13, checkedOut: true });
  expect(version).toBe(3);
  expect(attempts).toBe(1);
  expect(receipts).toContain(id);
  expect(tea).toEqual({ sold: 1, revenue: 4 });
});

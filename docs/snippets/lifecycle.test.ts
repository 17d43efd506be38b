import { expect, it } from "vitest";
import { lifecycle } from "./lifecycle.js";

it("runs the data lifecycle page's steps", async () => {
  // The page's steps run on the embedded database, in memory, even when the suite has a PostgreSQL.
  const saved = [process.env.DATABASE_URL, process.env.MEOWMX_DATABASE_URL];
  delete process.env.DATABASE_URL;
  delete process.env.MEOWMX_DATABASE_URL;
  const { left, before, after } = await lifecycle().finally(() => {
    if (saved[0] !== undefined) process.env.DATABASE_URL = saved[0];
    if (saved[1] !== undefined) process.env.MEOWMX_DATABASE_URL = saved[1];
  });
  expect(left).toEqual([2]);
  expect(before).toEqual({ email: "ada@example.org", plan: "pro", phones: ["+44 20 7946 0958"] });
  expect(after).toEqual({ email: "forgotten@invalid.example", plan: "pro", phones: [""] });
});

import { expect, it } from "vitest";
import { lifecycle } from "./lifecycle.js";

it("runs the data lifecycle page's steps", async () => {
  const { left, before, after } = await lifecycle();
  expect(left).toEqual([2]);
  expect(before).toEqual({ email: "ada@example.org", plan: "pro", phones: ["+44 20 7946 0958"] });
  expect(after).toEqual({ email: "forgotten@invalid.example", plan: "pro", phones: [""] });
});

import { checkAggregate, checkUpcasters } from "meowmx/testing";
import { expect, it } from "vitest";
import { Invoice } from "./releases.js";

it("lifts every shape the first release stored", () => {
  checkUpcasters(Invoice);
  checkAggregate(Invoice);
});

it("reads release 1's invoice as release 2's", () => {
  const opened = { id: "00000000-0000-4000-8000-000000000001", aggregateType: "invoice", aggregateId: "i-1", version: 1, metadata: {}, position: "", createdAt: new Date(0), schemaVersion: 1 };
  expect(Invoice.parseEvent({ ...opened, type: "InvoiceOpened", data: { email: "a@b.c", cents: 4250 } })!.data).toEqual({ email: "a@b.c", amount: 42.5, currency: "EUR" });
  expect(Invoice.parseEvent({ ...opened, version: 2, type: "InvoiceSettled", data: {} })).toMatchObject({ type: "InvoicePaid", data: {} });
});

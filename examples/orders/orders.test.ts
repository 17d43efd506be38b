import { checkAggregate, checkProjection, given } from "meowmx/testing";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../../test/support/backends.js";
import { CustomerTotals } from "./customer-totals.js";
import { addItem, Order, ship } from "./order.js";
import { createOrdersTable, startOrdersReadModel } from "./read-model.js";

const created = Order.events.OrderCreated({ customerId: "alice" });
const pen = Order.events.ItemAdded({ sku: "pen", price: 2 });

describe("the order aggregate", () => {
  it("ships an open order with items", () => {
    given(Order, [created, pen])
      .when((order) => ship(order, "T-1"))
      .then([Order.events.OrderShipped({ trackingCode: "T-1" })]);
    given(Order, [created, pen]).when((order) => ship(order, "T-1")).thenState({ status: "shipped", customerId: "alice", items: 1, total: 2 });
  });

  it("refuses to ship an empty or shipped order, or to add to a shipped one", () => {
    given(Order, [created]).when((order) => ship(order, "T")).thenThrows(/empty order/);
    given(Order, [created, pen, Order.events.OrderShipped({ trackingCode: "T" })]).when((order) => ship(order, "T")).thenThrows(/shipped/);
    given(Order, [created, pen, Order.events.OrderShipped({ trackingCode: "T" })]).when((order) => addItem(order, "ink", 1)).thenThrows(/cannot add/);
  });

  it("keeps the laws of an aggregate", () => {
    checkAggregate(Order);
  });

  it("has customer totals that fold the same in any batches", () => {
    checkProjection(CustomerTotals);
  });
});

describeEachBackend("the orders example", ({ newStore }) => {
  it("keeps the user's orders table and the customer totals from the events", async () => {
    const store = await newStore();
    const table = `${store.schema}.orders`;
    await createOrdersTable(store.db, table);
    const readModel = startOrdersReadModel(store, table);
    const totals = store.projection(CustomerTotals).start();
    const orders = store.repository(Order);
    await orders.create("o-1", () => created);
    await orders.create("o-2", () => Order.events.OrderCreated({ customerId: "bob" }));
    await Promise.all([2, 3, 4].map((price) => orders.update("o-1", (order) => addItem(order, `sku-${price}`, price))));
    await orders.update("o-1", (order) => ship(order, "T-1"));
    await readModel.caughtUp();
    await totals.caughtUp();
    const rows = await store.db.selectFrom(table).selectAll().orderBy("id").execute();
    expect(rows).toEqual([
      { id: "o-1", customer_id: "alice", status: "shipped", items: 3, total: 9, version: 5 },
      { id: "o-2", customer_id: "bob", status: "open", items: 0, total: 0, version: 1 },
    ]);
    expect(await totals.get("alice")).toEqual({ orders: 1 });
  });
});

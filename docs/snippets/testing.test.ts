// #region given
import fc from "fast-check";
import { arbitraryEvents, checkAggregate, given } from "meowmx/testing";
import { describe, expect, it } from "vitest";
import { addItem, Cart, checkOut } from "./getting-started.js";

describe("the cart", () => {
  it("checks out a cart with items", () => {
    given(Cart, [Cart.events.ItemAdded({ sku: "tea", price: 4 })])
      .when(checkOut)
      .then([Cart.events.CheckedOut({})]);
  });

  it("refuses to check out an empty cart, and does nothing the second time", () => {
    given(Cart).when(checkOut).thenThrows(/empty/);
    given(Cart, [Cart.events.ItemAdded({ sku: "tea", price: 4 }), Cart.events.CheckedOut({})]).when(checkOut).thenNothing();
  });

  it("adds up the prices", () => {
    given(Cart, [Cart.events.ItemAdded({ sku: "tea", price: 4 })])
      .when((cart) => addItem(cart, "mug", 9))
      .thenState({ items: ["tea", "mug"], total: 13, checkedOut: false });
  });
  // #endregion given

  // #region properties
  it("never has a negative total, whatever happened", () => {
    fc.assert(fc.property(arbitraryEvents(Cart, { maxLength: 30 }), (events) => Cart.fold(events).total >= 0));
  });

  it("keeps the laws every aggregate must keep", () => {
    checkAggregate(Cart); // pure and deterministic, JSON-safe states, folds that compose
  });
  // #endregion properties

  it("is what the guide shows", () => {
    expect(Cart.type).toBe("cart");
  });
});

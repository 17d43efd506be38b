import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePosition, encodePosition, positionOf } from "../../src/log/position.js";

const uint64 = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n });

describe("positions", () => {
  it("positionOf, from decimal text, encodes as encodePosition does, whatever came before", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(uint64, uint64), { minLength: 1, maxLength: 20 }), (positions) => {
        for (const [transactionId, sequence] of positions) {
          const cursor = positionOf(transactionId.toString(), sequence.toString());
          expect(cursor).toBe(encodePosition({ transactionId, sequence }));
          expect(decodePosition(cursor)).toEqual({ transactionId, sequence });
        }
      }),
    );
  });

  it("keeps sequence numbers past 2^53 exact", () => {
    const sequence = 2n ** 53n + 1n;
    expect(decodePosition(positionOf("7", sequence.toString())).sequence).toBe(sequence);
  });
});

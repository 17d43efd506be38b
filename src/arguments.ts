import { InvalidArgumentError } from "./errors.js";

/** Checks a numeric option: a whole number of at least `min`, or an `InvalidArgumentError` naming it. */
export function assertWholeNumber(value: unknown, name: string, min: 0 | 1): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got ${String(value)}`);
  }
}

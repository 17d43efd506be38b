import { InvalidArgumentError } from "commander";

/** Parses a command-line number that must be a whole number of at least 1. */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`not a whole number >= 1: ${value}`);
  return n;
}

/** Parses a TCP port: 0 (any free port) to 65535. */
export function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`not a port (0 to 65535): ${value}`);
  return n;
}

import { InvalidArgumentError } from "../errors.js";

/**
 * Where an event stands in global commit order: the id of the transaction that wrote it, then its
 * sequence number. Events are read in this order, and only once every transaction with a lower id
 * has ended, so an event that commits late is never skipped.
 */
export interface LogPosition {
  readonly transactionId: bigint;
  readonly sequence: bigint;
}

/** The position before every event. */
export const START: LogPosition = { transactionId: 0n, sequence: 0n };

const WIDTH = 16;
const PATTERN = /^[0-9a-f]{16}-[0-9a-f]{16}$/;

/**
 * Encodes a position as the opaque cursor string of `RecordedEvent.position`: fixed-width hex, so
 * that comparing two cursors as strings compares their places in the log.
 */
export function encodePosition(position: LogPosition): string {
  return `${position.transactionId.toString(16).padStart(WIDTH, "0")}-${position.sequence.toString(16).padStart(WIDTH, "0")}`;
}

/** The cursor just before `cursor`, so that a read after it starts with the event at `cursor`. */
export function positionBefore(cursor: string): string {
  const { transactionId, sequence } = decodePosition(cursor);
  return encodePosition({ transactionId, sequence: sequence - 1n });
}

/** Decodes a cursor made by {@link encodePosition}; `undefined` or "" is the start of the log. */
export function decodePosition(cursor: string | undefined): LogPosition {
  if (cursor === undefined || cursor === "") return START;
  if (!PATTERN.test(cursor)) throw new InvalidArgumentError(`not a meowmx position: ${JSON.stringify(cursor)}`);
  return { transactionId: BigInt(`0x${cursor.slice(0, WIDTH)}`), sequence: BigInt(`0x${cursor.slice(WIDTH + 1)}`) };
}

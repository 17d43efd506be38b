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

/**
 * {@link encodePosition} of a position read as decimal text, as rows carry it. Rows come in runs of
 * one transaction, so the last transaction id's hex is kept; sequence numbers below 2^53 skip BigInt.
 */
export function positionOf(transactionId: string, sequence: string): string {
  if (transactionId !== lastTransaction.text) {
    lastTransaction = { text: transactionId, hex: BigInt(transactionId).toString(16).padStart(WIDTH, "0") };
  }
  const seq = sequence.length < 16 ? Number(sequence).toString(16) : BigInt(sequence).toString(16);
  return `${lastTransaction.hex}-${seq.padStart(WIDTH, "0")}`;
}

let lastTransaction = { text: "0", hex: "0".repeat(WIDTH) };

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

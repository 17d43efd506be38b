import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { EncryptionKeyError, InvalidArgumentError } from "../errors.js";

/** The field of an object that stands for a sealed personal value. */
export const SEALED = "meowmx:personal";

/**
 * What a personal value is stored as: `keyId.iv.ciphertext.tag` (base64url, AES-256-GCM under the
 * subject's key, the key id as associated data), and what it reads as once that key is destroyed.
 */
export interface Sealed {
  readonly [SEALED]: string;
  readonly forgotten: unknown;
}

/** A subject's data key, unwrapped. */
export interface DataKey {
  readonly keyId: string;
  readonly key: Buffer;
}

const ALGORITHM = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** A value sealed under `key`. */
export function seal(key: DataKey, value: unknown, forgotten: unknown): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key.key, iv).setAAD(Buffer.from(key.keyId));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString("base64url"));
  return { [SEALED]: `${key.keyId}.${parts.join(".")}`, forgotten };
}

/** Whether `value` is a sealed personal value. */
export function isSealed(value: unknown): value is Sealed {
  return typeof value === "object" && value !== null && typeof (value as Record<string, unknown>)[SEALED] === "string";
}

/** The id of the key a sealed value needs. */
export function keyIdOf(sealed: Sealed): string {
  return sealed[SEALED].slice(0, sealed[SEALED].indexOf("."));
}

/** The value sealed in `sealed`; throws when the key is not the one it was sealed with or the text was altered. */
export function open(key: DataKey, sealed: Sealed): unknown {
  const [keyId, iv, ciphertext, tag] = sealed[SEALED].split(".");
  if (keyId !== key.keyId || iv === undefined || ciphertext === undefined || tag === undefined) throw new Error("a sealed value in a form this version cannot read");
  const decipher = createDecipheriv(ALGORITHM, key.key, Buffer.from(iv, "base64url")).setAAD(Buffer.from(keyId)).setAuthTag(Buffer.from(tag, "base64url"));
  return JSON.parse(Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8"));
}

/**
 * Wraps the data keys for the keys table with `connect({ encryptionKey })` (AES-256-GCM, the key id
 * as associated data), so that the table alone reveals nothing; without one, keys are kept as they are.
 */
export class KeyWrap {
  private readonly master: Buffer | undefined;

  constructor(encryptionKey: string | Uint8Array | undefined) {
    this.master = encryptionKey === undefined ? undefined : masterKeyOf(encryptionKey);
  }

  get wraps(): boolean {
    return this.master !== undefined;
  }

  /** The stored form of a new data key. */
  wrap(keyId: string, key: Buffer): Buffer {
    if (this.master === undefined) return key;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.master, iv).setAAD(Buffer.from(keyId));
    const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
  }

  /** The data key of a stored row; an {@link EncryptionKeyError} when this store's encryptionKey cannot unwrap it. */
  unwrap(keyId: string, stored: Buffer, wrapped: boolean): DataKey {
    if (!wrapped) return { keyId, key: stored };
    if (this.master === undefined) {
      throw new EncryptionKeyError("the personal data keys are wrapped with an encryption key: connect with the same encryptionKey to read personal data");
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, this.master, stored.subarray(0, IV_BYTES))
        .setAAD(Buffer.from(keyId))
        .setAuthTag(stored.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return { keyId, key: Buffer.concat([decipher.update(stored.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]) };
    } catch (error) {
      throw new EncryptionKeyError("the personal data keys were wrapped with another encryptionKey than this store's", { cause: error });
    }
  }
}

/** A new random data key. */
export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

function masterKeyOf(encryptionKey: string | Uint8Array): Buffer {
  const key =
    typeof encryptionKey === "string"
      ? /^[0-9a-f]{64}$/i.test(encryptionKey)
        ? Buffer.from(encryptionKey, "hex")
        : Buffer.from(encryptionKey, "base64")
      : Buffer.from(encryptionKey);
  if (key.length !== KEY_BYTES) {
    throw new InvalidArgumentError(`encryptionKey must be ${KEY_BYTES} bytes: a Uint8Array, 64 hex digits or base64 (e.g. openssl rand -base64 32), got ${key.length} bytes`);
  }
  return key;
}

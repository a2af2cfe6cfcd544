import { createHmac, randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";

/** scrypt with Node's defaults (N=16384, r=8, p=1): ~40 ms here, fine for a login, too slow for per-request use. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32);
  return `scrypt$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

function parseStored(stored: string) {
  const [kind, salt, hash] = stored.split("$");
  if (kind !== "scrypt" || !salt || !hash) return undefined;
  return { salt: Buffer.from(salt, "base64url"), expected: Buffer.from(hash, "base64url") };
}

/** Blocks the event loop for ~40 ms: only at startup (is the configured password the stored one?). */
export function verifyPasswordSync(password: string, stored: string): boolean {
  const parsed = parseStored(stored);
  if (!parsed) return false;
  return timingSafeEqual(scryptSync(password, parsed.salt, parsed.expected.length), parsed.expected);
}

/**
 * Scrypt verifications at once. They run on libuv's thread pool (4 threads), which fs and DNS
 * share: two keep one thread per core busy at most and leave the pool's other threads free.
 */
const MAX_CONCURRENT_SCRYPT = 2;
let running = 0;
const waiting: Array<() => void> = [];

/** Off the event loop (crypto.scrypt on the thread pool); at most MAX_CONCURRENT_SCRYPT at a time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseStored(stored);
  if (!parsed) return false;
  if (running >= MAX_CONCURRENT_SCRYPT) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    const actual = await new Promise<Buffer>((resolve, reject) =>
      scrypt(password, parsed.salt, parsed.expected.length, (error, key) => (error ? reject(error) : resolve(key))),
    );
    return timingSafeEqual(actual, parsed.expected);
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

export function sign(secret: string, value: string): string {
  return `${value}.${createHmac("sha256", secret).update(value).digest("base64url")}`;
}

/** Returns the signed value, or undefined when the signature does not match. */
export function unsign(secret: string, signed: string): string | undefined {
  const dot = signed.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const value = signed.slice(0, dot);
  const expected = Buffer.from(sign(secret, value));
  const actual = Buffer.from(signed);
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? value : undefined;
}

/** Readable random ids without look-alike characters (no 0/o, 1/l/i). */
const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
export function randomId(length: number, alphabet = ALPHABET): string {
  const bytes = randomBytes(length * 2);
  let out = "";
  for (let i = 0; out.length < length; i++) {
    const b = bytes[i % bytes.length]!;
    // Rejection sampling keeps the distribution uniform.
    if (b < 256 - (256 % alphabet.length)) out += alphabet[b % alphabet.length];
    if (i > length * 8) return out + randomId(length - out.length, alphabet);
  }
  return out;
}

/**
 * Ids the edge mints for new actors (tickets, conversations): 26 lowercase
 * Crockford base32 characters, like a ULID.
 *
 * @module
 */
export { isAddressPart } from "../cluster/actor_key.ts";

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
const idLength = 26;

/**
 * A fresh id: 48 bits of epoch milliseconds then 80 random bits, so ids sort
 * by creation time. Its first character is 0–7 until the year 10889.
 */
export function newId(now: number): string {
  let time = "";
  for (let rest = Math.floor(now), i = 0; i < 10; i++, rest = Math.floor(rest / 32)) {
    time = alphabet[rest % 32] + time;
  }
  return time + base32(crypto.getRandomValues(new Uint8Array(10)), idLength - 10);
}

/**
 * The id a create with this idempotency key always gets, so a retried create
 * reaches the same actor. It starts with `z`, which no time-based id does,
 * and carries 125 bits of SHA-256 of the (tenant, sub, key) triple.
 */
export async function derivedId(tenant: string, sub: string, key: string): Promise<string> {
  const input = new TextEncoder().encode(JSON.stringify([tenant, sub, key]));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  return "z" + base32(digest, idLength - 1);
}

/** What an `Idempotency-Key` header may hold. */
export const idempotencyKeyPattern = /^[A-Za-z0-9._:-]{1,200}$/;

/** The first `chars` characters of `bytes` in the id alphabet, 5 bits each. */
export function base32(bytes: Uint8Array, chars: number): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      bits -= 5;
      out += alphabet[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

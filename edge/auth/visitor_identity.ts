/**
 * Who a widget visitor is. Only a tenant's `identityHash` binds a visitor to
 * one of the tenant's customer ids (a verified identity); every other visitor
 * is anonymous, under an id the server mints: `anon:` then 16 random
 * characters and a 26-character MAC of them and the tenant, keyed by the JWT
 * secret. A returning visitor keeps its anonymous id by handing it back, and
 * no one can choose an id that names someone else: a client-chosen id never
 * becomes an identity.
 *
 * @module
 */
import { anonymousVisitorPrefix as anonymousPrefix } from "../../actors/session.ts";
import { base32 } from "../ids.ts";

const randomChars = 16;
const macChars = 26;

export { isAnonymousVisitorId as isAnonymousId } from "../../actors/session.ts";

/** A new anonymous visitor id of `tenant`, signed with `secret`. */
export async function mintAnonymousId(secret: string, tenant: string): Promise<string> {
  const random = base32(crypto.getRandomValues(new Uint8Array(10)), randomChars);
  return anonymousPrefix + random + await mac(secret, tenant, random);
}

/** True when `id` was minted by {@linkcode mintAnonymousId} for `tenant` under `secret`. */
export async function isMintedAnonymousId(
  secret: string,
  tenant: string,
  id: string,
): Promise<boolean> {
  if (
    !id.startsWith(anonymousPrefix) || id.length !== anonymousPrefix.length + randomChars + macChars
  ) {
    return false;
  }
  const random = id.slice(anonymousPrefix.length, anonymousPrefix.length + randomChars);
  return timingSafeEqual(id.slice(-macChars), await mac(secret, tenant, random));
}

/**
 * True when `identityHash` is how a tenant vouches for `visitorId`:
 * `hex(HMAC-SHA256(key: identitySecret, message: visitorId))`, any case.
 */
export async function isIdentityHash(
  identitySecret: string,
  visitorId: string,
  identityHash: string,
): Promise<boolean> {
  // `verify` compares the MACs in constant time, so response times tell an
  // attacker nothing about how close a forged hash came.
  const key = await hmacKey(identitySecret);
  return await crypto.subtle.verify("HMAC", key, hexBytes(identityHash), encoder.encode(visitorId));
}

const encoder = new TextEncoder();

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

// The message starts with a label and holds NULs, which no JWT signing input
// does, so these MACs can never pass for token signatures or the reverse.
async function mac(secret: string, tenant: string, random: string): Promise<string> {
  const message = encoder.encode(`anonymous-visitor\0${tenant}\0${random}`);
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), message);
  return base32(new Uint8Array(signature), macChars);
}

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function timingSafeEqual(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  }
  return difference === 0;
}

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
import { base32 } from "../ids.ts";

/** What every anonymous visitor id starts with; no verified id may. */
export const anonymousPrefix = "anon:";

const randomChars = 16;
const macChars = 26;

/** True when `id` is in the anonymous namespace (minted or not). */
export function isAnonymousId(id: string): boolean {
  return id.startsWith(anonymousPrefix);
}

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
  if (!isAnonymousId(id) || id.length !== anonymousPrefix.length + randomChars + macChars) {
    return false;
  }
  const random = id.slice(anonymousPrefix.length, anonymousPrefix.length + randomChars);
  return timingSafeEqual(id.slice(-macChars), await mac(secret, tenant, random));
}

// The message starts with a label and holds NULs, which no JWT signing input
// does, so these MACs can never pass for token signatures or the reverse.
async function mac(secret: string, tenant: string, random: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const message = encoder.encode(`anonymous-visitor\0${tenant}\0${random}`);
  return base32(new Uint8Array(await crypto.subtle.sign("HMAC", key, message)), macChars);
}

function timingSafeEqual(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  }
  return difference === 0;
}

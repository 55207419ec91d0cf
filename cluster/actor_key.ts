/**
 * The string form of an actor's address, `kind/tenant/id`, used as the key in
 * the event log and on the ring.
 *
 * @module
 */
import type { ActorAddress } from "../actors/decider.ts";

const PART = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The key of an address. Parts are validated by {@linkcode invalidAddressPart}. */
export function actorKey(address: ActorAddress): string {
  return `${address.kind}/${address.tenant}/${address.id}`;
}

/** Parse a key made by {@linkcode actorKey}. */
export function parseActorKey(key: string): ActorAddress {
  const [kind, tenant, id, ...rest] = key.split("/");
  if (!kind || !tenant || !id || rest.length > 0) throw new TypeError(`not an actor key: ${key}`);
  return { kind, tenant, id };
}

/**
 * The name of the first address part that is not 1–128 characters of
 * letters, digits and `._:-` (starting with a letter or digit), or null.
 */
export function invalidAddressPart(address: ActorAddress): keyof ActorAddress | null {
  for (const part of ["kind", "tenant", "id"] as const) {
    if (typeof address[part] !== "string" || !PART.test(address[part])) return part;
  }
  return null;
}

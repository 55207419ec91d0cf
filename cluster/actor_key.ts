/**
 * The string form of an actor's address, `kind/tenant/id`, used as the key in
 * the event log and on the ring.
 *
 * @module
 */
import type { ActorAddress } from "../actors/decider.ts";

/**
 * What a kind, tenant or id may be: 1–128 letters, digits and `._:-`,
 * starting with a letter or digit. The one definition every validator uses.
 */
export const addressPartPattern: RegExp = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** True when `value` may be a kind, tenant or id of an actor address. */
export function isAddressPart(value: string): boolean {
  return addressPartPattern.test(value);
}

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
    if (typeof address[part] !== "string" || !isAddressPart(address[part])) return part;
  }
  return null;
}

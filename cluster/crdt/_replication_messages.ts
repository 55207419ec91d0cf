// What replicators send each other, and the checks inbound messages pass
// before anything is merged.
import * as v from "valibot";

const bytes = v.instance(Uint8Array);

/**
 * One tenant's batched delta, published on its delta subject. `at` is when
 * the batch's oldest delta was created, on the writer's wall clock (for the
 * convergence lag metric only: nothing is ordered by it).
 */
export const deltaMessage = v.object({
  from: v.string(),
  tenant: v.string(),
  delta: bytes,
  at: v.optional(v.number()),
});

/**
 * A replica's digest of each tenant it holds. `solicit` asks every peer to
 * announce its own digests at once (a replica that just started does).
 */
export const digestMessage = v.object({
  from: v.string(),
  digests: v.array(v.tuple([v.string(), v.number()])),
  solicit: v.boolean(),
});
/** A digest announcement. */
export type DigestMessage = v.InferOutput<typeof digestMessage>;

/**
 * Asks a replica for the states of some tenants. With `buckets`, the
 * asker's bucket digests of a tenant, the answer holds only the buckets that
 * differ (the full state when none does: then only a floor differs).
 */
export const stateRequest = v.object({
  tenants: v.array(v.string()),
  buckets: v.optional(v.array(v.tuple([v.string(), v.array(v.number())]))),
});

/** The states (or the differing parts of them) a replica holds of the tenants asked for. */
export const stateReply = v.object({ states: v.array(v.tuple([v.string(), bytes])) });
/** A state reply. */
export type StateReply = v.InferOutput<typeof stateReply>;

/** `payload` checked against `schema`, or undefined. */
export function parse<S extends v.GenericSchema>(
  schema: S,
  payload: unknown,
): v.InferOutput<S> | undefined {
  const result = v.safeParse(schema, payload);
  return result.success ? result.output : undefined;
}

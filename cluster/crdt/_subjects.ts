// The NATS subjects of one replicated data set. Tenants go through
// subjectToken, as everywhere else: `acme.eu` is one token, unaliased.
import { subjectToken } from "../transport/subjects.ts";

/** The subjects data set `dataSet` of cluster `prefix` replicates on. */
export interface CrdtSubjects {
  /** Delta batches of one tenant's state. */
  deltas(tenant: string): string;
  /** Delta batches of every tenant (a wildcard, to subscribe only). */
  readonly allDeltas: string;
  /** Digest announcements of every replica. */
  readonly digests: string;
  /** Full states, served by replica `replica` on request. */
  state(replica: string): string;
}

/** The subjects of data set `dataSet` in cluster `prefix`. */
export function crdtSubjects(prefix: string, dataSet: string): CrdtSubjects {
  const base = `${prefix}.crdt.${token(dataSet, "data set")}`;
  return {
    deltas: (tenant) => `${base}.delta.${subjectToken(tenant)}`,
    allDeltas: `${base}.delta.*`,
    digests: `${base}.digests`,
    state: (replica) => `${base}.state.${token(replica, "replica")}`,
  };
}

// One subject token: no separators, wildcards or whitespace.
function token(value: string, what: string): string {
  if (value === "" || /[.*>\s]/.test(value)) {
    throw new RangeError(`${what} ${JSON.stringify(value)} cannot be a NATS subject token`);
  }
  return value;
}

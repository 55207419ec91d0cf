/**
 * Every NATS subject of a cluster, under its `SB_CLUSTER` prefix, so several
 * clusters (and test runs) share one NATS server safely.
 *
 * @module
 */

/** The subjects of cluster `prefix`. */
export function subjects(prefix: string): {
  node: (id: string) => string;
  nodeStats: (id: string) => string;
  query: string;
  conversation: (tenant: string, id: string) => string;
  sessions: (tenant: string) => string;
  presence: (tenant: string) => string;
  signals: (tenant: string, id: string) => string;
} {
  return {
    /** Actor requests for the actors node `id` owns. */
    node: (id) => `${prefix}.node.${id}`,
    /** Per-node statistics for the admin view. */
    nodeStats: (id) => `${prefix}.stats.${id}`,
    /** Store queries (history, lists) any node with a store answers; a queue group. */
    query: `${prefix}.query`,
    /** Committed events of one pushed actor (a live conversation), in order. */
    conversation: (tenant, id) => `${prefix}.conv.${tenant}.${id}`,
    /** Status and assignment changes of a tenant's conversations. */
    sessions: (tenant) => `${prefix}.sessions.${tenant}`,
    /** Ephemeral signals of a conversation (typing, read markers), relayed, never stored. */
    signals: (tenant, id) => `${prefix}.signal.${tenant}.${id}`,
    /** Agent presence (status and capacity) of a tenant, announced by edges. */
    presence: (tenant) => `${prefix}.presence.${tenant}`,
  };
}

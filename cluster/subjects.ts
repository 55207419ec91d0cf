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
} {
  return {
    /** Actor requests for the actors node `id` owns. */
    node: (id) => `${prefix}.node.${id}`,
    /** Per-node statistics for the admin view. */
    nodeStats: (id) => `${prefix}.stats.${id}`,
    /** Store queries (history, lists) any node with a store answers; a queue group. */
    query: `${prefix}.query`,
  };
}

/**
 * Every NATS subject of a cluster, under its `SB_CLUSTER` prefix, so several
 * clusters (and test runs) share one NATS server safely.
 *
 * Tenants, ids and node ids may hold `.`, which NATS reads as a token
 * separator (and `*`, `>` and spaces would be worse), so each such part goes
 * through {@linkcode subjectToken}: `conv(acme, eu.x)` and `conv(acme.eu, x)`
 * are different subjects, and a tenant with a dot is still one token for a
 * wildcard.
 *
 * @module
 */

/** The subjects of cluster `prefix`. */
export function subjects(prefix: string): {
  node: (id: string) => string;
  nodeStats: (id: string) => string;
  heads: (id: string) => string;
  query: string;
  conversation: (tenant: string, id: string) => string;
  sessions: (tenant: string) => string;
  queue: (tenant: string) => string;
  signals: (tenant: string, id: string) => string;
  pluginsChanged: string;
  pluginAdmin: string;
  pluginAdminAt: (id: string) => string;
} {
  const t = subjectToken;
  return {
    /** Actor requests for the actors node `id` owns. */
    node: (id) => `${prefix}.node.${t(id)}`,
    /** Conversation heads the edges ask node `id` for, many conversations a request. */
    heads: (id) => `${prefix}.heads.${t(id)}`,
    /** Per-node statistics for the admin view. */
    nodeStats: (id) => `${prefix}.stats.${t(id)}`,
    /** Store queries (history, lists) any node with a store answers; a queue group. */
    query: `${prefix}.query`,
    /** Committed events of one pushed actor (a live conversation), in order. */
    conversation: (tenant, id) => `${prefix}.conv.${t(tenant)}.${t(id)}`,
    /** Status and assignment changes of a tenant's conversations. */
    sessions: (tenant) => `${prefix}.sessions.${t(tenant)}`,
    /** The tenant's queue after its changes: positions, estimated waits and offers out. */
    queue: (tenant) => `${prefix}.queue.${t(tenant)}`,
    /** Ephemeral signals of a conversation (typing, read markers), relayed, never stored. */
    signals: (tenant, id) => `${prefix}.signal.${t(tenant)}.${t(id)}`,
    /** A tenant's plugin changed in the store: every node re-reads it. */
    pluginsChanged: `${prefix}.plugins.changed`,
    /** Plugin admin requests (register, list, activate), any node; a queue group. */
    pluginAdmin: `${prefix}.plugins.admin`,
    /** Plugin admin requests to node `id`, whose sandbox and counters answer. */
    pluginAdminAt: (id) => `${prefix}.plugins.admin.${t(id)}`,
  };
}

// Letters, digits, `_`, `:` and `-` stand for themselves; NATS gives none of
// them a meaning inside a token.
const plain = /^[A-Za-z0-9_:-]$/;
// Ids are mostly plain already: one test instead of a string per character.
const allPlain = /^[A-Za-z0-9_:-]+$/;

/**
 * `value` as one NATS subject token, by an injective escape: every UTF-8
 * byte of a character other than letters, digits and `_:-` becomes `~` and
 * two hex digits (`.` is `~2e`, `~` itself `~7e`); the empty string is `~`.
 */
export function subjectToken(value: string): string {
  if (value === "") return "~";
  if (allPlain.test(value)) return value;
  let token = "";
  for (const char of value) {
    if (plain.test(char)) token += char;
    else for (const byte of encoder.encode(char)) token += `~${byte.toString(16).padStart(2, "0")}`;
  }
  return token;
}

const encoder = new TextEncoder();

/**
 * Process configuration, read from environment variables only.
 *
 * @module
 */

/** Which part of Switchboard this process runs. */
export type Role = "standalone" | "node" | "edge";

/** The resolved configuration of one process. */
export interface Config {
  role: Role;
  /** Postgres URL; absent → embedded PGlite in {@linkcode Config.dataDir}. */
  databaseUrl?: string;
  /** NATS URL; absent → in-process bus. */
  natsUrl?: string;
  /** Redis URL; absent → in-process shared state. */
  redisUrl?: string;
  /** Where standalone keeps PGlite and its generated JWT secret. */
  dataDir: string;
  httpPort: number;
  /** HS256 secret; absent in standalone → generated and kept in the data dir. */
  jwtSecret?: string;
  nodeId: string;
  /** Prefix of every NATS subject and Redis key of this cluster. */
  cluster: string;
  /** Postgres schema holding Switchboard's tables. */
  dbSchema: string;
  /** Requests (HTTP and WebSocket commands) per second a tenant may make, over all edges. */
  tenantRatePerSecond: number;
  /** Requests per second one caller (tenant and sub) may make, over all edges. */
  callerRatePerSecond: number;
  /** Frames per second one WebSocket may send. */
  connectionRatePerSecond: number;
  /** Widget bootstraps per second one client address may make. */
  bootstrapRatePerSecond: number;
  /** Postgres `statement_timeout` of the node's connections, in ms (5000 when absent). */
  pgStatementTimeoutMs?: number;
  /** Postgres `idle_in_transaction_session_timeout`, in ms (10000 when absent). */
  pgIdleInTransactionTimeoutMs?: number;
  /** Appends waiting for the event store before new ones are `overloaded` (8192 when absent). */
  commitQueueMax?: number;
  /** Least time between two commits of a node's group committer, in ms (5 when absent; 0 commits at once). */
  commitSpacingMs?: number;
  /** How long a command's idempotency record is kept, in hours. */
  idempotencyHours: number;
  /** Each routing plugin call's deadline, in ms (50 when absent). */
  pluginDeadlineMs?: number;
}

/** Every environment variable Switchboard reads. */
export const configVariables = [
  "SB_ROLE",
  "DATABASE_URL",
  "NATS_URL",
  "REDIS_URL",
  "SB_DATA_DIR",
  "SB_HTTP_PORT",
  "SB_JWT_SECRET",
  "NODE_ID",
  "SB_CLUSTER",
  "SB_DB_SCHEMA",
  "SB_TENANT_RATE",
  "SB_CALLER_RATE",
  "SB_BOOTSTRAP_RATE",
  "SB_CONNECTION_RATE",
  "SB_PG_STATEMENT_TIMEOUT_MS",
  "SB_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS",
  "SB_COMMIT_QUEUE_MAX",
  "SB_COMMIT_SPACING_MS",
  "SB_IDEMPOTENCY_HOURS",
  "SB_PLUGIN_DEADLINE_MS",
] as const;

// HS256 keys shorter than the hash's output weaken it (RFC 7518 §3.2).
const MIN_SECRET_BYTES = 32;

/** Thrown for an environment variable that is set but invalid. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Read the configuration from `env` (the process environment by default). */
export function loadConfig(
  env: Partial<Record<(typeof configVariables)[number], string>> = Deno.env.toObject(),
): Config {
  const role = (env.SB_ROLE ?? "standalone") as Role;
  if (!["standalone", "node", "edge"].includes(role)) {
    throw new ConfigError(`SB_ROLE must be standalone, node or edge, not "${role}"`);
  }
  const natsUrl = nonEmpty(env.NATS_URL);
  const jwtSecret = nonEmpty(env.SB_JWT_SECRET);
  if (role !== "standalone") {
    if (!natsUrl) throw new ConfigError(`SB_ROLE=${role} needs NATS_URL`);
    if (!jwtSecret) throw new ConfigError(`SB_ROLE=${role} needs SB_JWT_SECRET`);
    if (new TextEncoder().encode(jwtSecret).length < MIN_SECRET_BYTES) {
      throw new ConfigError(
        `SB_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes (HS256 needs a key as long as its hash); generate one with: openssl rand -base64 32`,
      );
    }
  }
  return {
    role,
    databaseUrl: nonEmpty(env.DATABASE_URL),
    natsUrl,
    redisUrl: nonEmpty(env.REDIS_URL),
    dataDir: nonEmpty(env.SB_DATA_DIR) ?? "./data",
    httpPort: port(nonEmpty(env.SB_HTTP_PORT) ?? (role === "node" ? "0" : "8080")),
    jwtSecret,
    nodeId: subjectToken(
      "NODE_ID",
      nonEmpty(env.NODE_ID) ?? `node-${crypto.randomUUID().slice(0, 8)}`,
    ),
    cluster: subjectToken("SB_CLUSTER", env.SB_CLUSTER ?? "sb"),
    dbSchema: schemaName(env.SB_DB_SCHEMA ?? "switchboard"),
    tenantRatePerSecond: positive("SB_TENANT_RATE", env.SB_TENANT_RATE ?? "5000"),
    callerRatePerSecond: positive("SB_CALLER_RATE", env.SB_CALLER_RATE ?? "50"),
    connectionRatePerSecond: positive("SB_CONNECTION_RATE", env.SB_CONNECTION_RATE ?? "20"),
    bootstrapRatePerSecond: positive("SB_BOOTSTRAP_RATE", env.SB_BOOTSTRAP_RATE ?? "5"),
    pgStatementTimeoutMs: positive(
      "SB_PG_STATEMENT_TIMEOUT_MS",
      env.SB_PG_STATEMENT_TIMEOUT_MS ?? "5000",
    ),
    pgIdleInTransactionTimeoutMs: positive(
      "SB_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS",
      env.SB_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS ?? "10000",
    ),
    commitQueueMax: positive("SB_COMMIT_QUEUE_MAX", env.SB_COMMIT_QUEUE_MAX ?? "8192"),
    commitSpacingMs: positive("SB_COMMIT_SPACING_MS", env.SB_COMMIT_SPACING_MS ?? "5", true),
    idempotencyHours: positive("SB_IDEMPOTENCY_HOURS", env.SB_IDEMPOTENCY_HOURS ?? "24"),
    pluginDeadlineMs: positive("SB_PLUGIN_DEADLINE_MS", env.SB_PLUGIN_DEADLINE_MS ?? "50"),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

// A finite number above zero, or with `orZero` at least zero.
function positive(variable: string, value: string, orZero = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !orZero)) {
    const wanted = orZero ? "a number of 0 or more" : "a positive number";
    throw new ConfigError(`${variable} must be ${wanted}, not "${value}"`);
  }
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`SB_HTTP_PORT must be a port number, not "${value}"`);
  }
  return n;
}

// One token of a NATS subject (and a Redis key prefix): a `.` would split it,
// `*`, `>` or a space would make it a wildcard or break it.
function subjectToken(variable: string, value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    throw new ConfigError(
      `${variable} must be 1 to 64 letters, digits, _ or - (it goes into NATS subjects), not "${value}"`,
    );
  }
  return value;
}

// Quoted wherever it is used, so a reserved word such as `user` works; kept to
// the alphabet of unquoted names so it is typed the same way in psql.
function schemaName(value: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value) || value.startsWith("pg_")) {
    throw new ConfigError(
      `SB_DB_SCHEMA must be lowercase letters, digits and _ (not starting with a digit or pg_), not "${value}"`,
    );
  }
  return value;
}

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
  /** How long a command's idempotency record is kept, in hours. */
  idempotencyHours: number;
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
  "SB_IDEMPOTENCY_HOURS",
] as const;

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
  return {
    role,
    databaseUrl: nonEmpty(env.DATABASE_URL),
    natsUrl: nonEmpty(env.NATS_URL),
    redisUrl: nonEmpty(env.REDIS_URL),
    dataDir: nonEmpty(env.SB_DATA_DIR) ?? "./data",
    httpPort: port(env.SB_HTTP_PORT ?? "8080"),
    jwtSecret: nonEmpty(env.SB_JWT_SECRET),
    nodeId: nonEmpty(env.NODE_ID) ?? `node-${crypto.randomUUID().slice(0, 8)}`,
    cluster: name("SB_CLUSTER", env.SB_CLUSTER ?? "sb"),
    dbSchema: name("SB_DB_SCHEMA", env.SB_DB_SCHEMA ?? "switchboard"),
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
    idempotencyHours: positive("SB_IDEMPOTENCY_HOURS", env.SB_IDEMPOTENCY_HOURS ?? "24"),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function positive(variable: string, value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new ConfigError(`${variable} must be a positive number, not "${value}"`);
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

// Used in NATS subjects and as a Postgres identifier, so keep it to a safe alphabet.
function name(variable: string, value: string): string {
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(value)) {
    throw new ConfigError(
      `${variable} must be lowercase letters, digits and _ (starting with a letter), not "${value}"`,
    );
  }
  return value;
}

/**
 * The options of the HTTP handler, apart from it: the handler and the
 * route servers it builds both read them.
 *
 * @module
 */
import type { Backend } from "../../cluster/protocol.ts";
import type { Logger } from "../../cluster/telemetry/log.ts";
import type { MetricsRegistry } from "../../cluster/telemetry/metrics.ts";
import type { RateLimiter } from "../limits/rate_limit.ts";
import type { CallerRateLimiter } from "../limits/caller_limits.ts";
import type { AgentSummary } from "../live/agents.ts";
import type { ReadMarkers } from "../live/read_markers.ts";

/** Options of `createHttpHandler` (`handler.ts`). */
export interface HttpHandlerOptions {
  /** The runtime: the only way to reach actors and queries. */
  backend: Backend;
  /** HS256 secret bearer tokens are signed with. */
  jwtSecret: string;
  /** Where the handler registers its metrics and whose text `/metrics` serves. */
  metrics: MetricsRegistry;
  /** The current time in epoch ms; `Date.now` by default. */
  now?: () => number;
  /** How long a request may wait for the runtime; 5000 ms by default. */
  requestTimeoutMs?: number;
  /** Asked once per authenticated request, per caller (see `callerLimiter`); none by default. */
  rateLimiter?: CallerRateLimiter;
  /**
   * Asked once per request of a public route (the widget bootstrap), keyed
   * by the client's IP address; none by default.
   */
  bootstrapLimiter?: RateLimiter;
  /**
   * How many of a tenant's agents are online, told to the conversations the
   * widget opens. Without it every tenant counts as staffed: a chat waits
   * for an agent rather than becoming a ticket at once.
   */
  presence?: { onlineAgents(tenant: string): Promise<number> };
  /** The tenant's agents with presence and load; none known without it. */
  agents?: (tenant: string) => Promise<AgentSummary[]>;
  /** Replicated read markers; without them only the checkpointed ones count. */
  readMarkers?: Pick<ReadMarkers, "marker">;
  /** Where failures are reported; JSON lines on stderr by default. */
  log?: Logger;
}

/**
 * The HTTP API as a web-standard request handler: authenticates, validates,
 * forwards to the actors through a {@linkcode Backend}, and maps their
 * answers to status codes. It holds no business state.
 *
 * @example
 * ```ts
 * const handler = createHttpHandler({ backend, jwtSecret, metrics });
 * Deno.serve({ port: 8080 }, handler);
 * ```
 *
 * @module
 */
import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import { withinTimeout } from "../../cluster/abortable.ts";
import { tracer } from "../../cluster/telemetry/tracing.ts";
import type { ActorRequest, Backend } from "../../cluster/protocol.ts";
import type { MetricsRegistry } from "../../cluster/telemetry/metrics.ts";
import type { AgentSummary } from "../live/agents.ts";
import type { ReadMarkers } from "../live/read_markers.ts";
import { createLogger, type Logger } from "../../cluster/telemetry/log.ts";
import { AuthError, bearerToken, signToken, verifyOpsToken, verifyToken } from "../auth/auth.ts";
import { isMintedAnonymousId, mintAnonymousId } from "../auth/visitor_identity.ts";
import { openApiDocument } from "./openapi.ts";
import type { RateDecision, RateLimiter } from "../limits/rate_limit.ts";
import type { CallerDecision, CallerRateLimiter, RateScope } from "../limits/caller_limits.ts";
import {
  type ApiCall,
  type ApiRoute,
  type ClusterRoute,
  type OpsContext,
  type PublicRoute,
  type Route,
} from "./route_types.ts";
import { routes } from "./routes.ts";
import { noArguments } from "./schemas.ts";
import { readJsonObject } from "./_body.ts";
import { idempotencyKeyPattern, isAddressPart } from "../ids.ts";
import { clientCommand, fingerprintOf, keylessCommand } from "../idempotency.ts";
import { QueryFailedError } from "../../cluster/store/store_query.ts";
import { actorFailure, errorResponse, HttpError, jsonResponse, retryLater } from "./_responses.ts";
import { createRouter, type RouteMatch } from "./_router.ts";
import { validate } from "./_validate.ts";
import { preflight, withCors } from "./cors.ts";

/** Options of {@linkcode createHttpHandler}. */
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

/**
 * Serve the HTTP API of {@linkcode routes}. `info` (as `Deno.serve` passes
 * it) names the client for per-address rate limits.
 */
export function createHttpHandler(
  options: HttpHandlerOptions,
): (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  const { backend, jwtSecret, metrics, rateLimiter, bootstrapLimiter, presence, agents } = options;
  const readMarkers = options.readMarkers;
  const now = options.now ?? Date.now;
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const log = options.log ?? createLogger({ role: "edge" });
  const match = createRouter(routes);
  const openApi = openApiDocument(routes);
  const ops: OpsContext = {
    ready: () => backend.ready(),
    metricsText: () => metrics.render(),
    openApi: () => openApi,
  };
  const requests = metrics.counter({
    name: "sb_http_requests_total",
    help: "HTTP requests answered, by route template and status.",
    labelNames: ["method", "route", "status"],
  });
  const duration = metrics.histogram({
    name: "sb_http_request_duration_seconds",
    help: "Time to answer an HTTP request.",
    labelNames: ["method", "route"],
  });
  const limiterFailures = metrics.counter({
    name: "sb_rate_limiter_failures_total",
    help: "Rate limiter errors; the request was let through.",
  });

  // The runtime skips work past the deadline; this bounds the wait even when
  // the answer is lost on the way back.
  function withinDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
    return withinTimeout(
      work,
      Math.max(0, deadline - now()),
      () => retryLater("timeout", `the runtime did not answer within ${timeoutMs} ms`),
    );
  }

  async function authenticate<P>(
    request: Request,
    at: number,
    verify: (secret: string, token: string, options: { now: number }) => Promise<P>,
  ): Promise<P> {
    try {
      return await verify(jwtSecret, bearerToken(request.headers.get("authorization")), {
        now: at,
      });
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      if (error.reason === "credential") throw new HttpError(403, "forbidden", error.message);
      throw new HttpError(401, error.code, error.message, {
        headers: { "www-authenticate": 'Bearer realm="switchboard"' },
      });
    }
  }

  async function serveCluster(route: ClusterRoute, request: Request): Promise<unknown> {
    const at = now();
    await authenticate(request, at, verifyOpsToken);
    const deadline = at + timeoutMs;
    return await route.handle({
      backend: {
        status: () => withinDeadline(backend.status(), deadline),
        deadLetters: (limit) => withinDeadline(backend.deadLetters(limit), deadline),
      },
    });
  }

  // Rate limits fail open: a broken limiter must not take the API down with it.
  async function admit(
    decide: (() => RateDecision | CallerDecision | Promise<RateDecision | CallerDecision>) | null,
    of: string,
  ): Promise<void> {
    if (!decide) return;
    let decision;
    try {
      decision = await decide();
    } catch (error) {
      limiterFailures.inc();
      log.warn("rate limiter failed; request let through", describe(error));
      return;
    }
    if (!decision.allowed) {
      const over = "scope" in decision && decision.scope ? scopeNames[decision.scope] : of;
      throw new HttpError(429, "rate_limited", `too many requests for this ${over}`, {
        headers: { "retry-after": String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) },
      });
    }
  }

  // Sends to actors within the request's deadline, carrying its trace context
  // and the fingerprint of the HTTP request its idempotency key came with.
  function sender(deadline: number, traceContext: Context, fingerprint?: string) {
    const traceparent = traceparentOf(traceContext);
    return async (request: Omit<ActorRequest, "deadline" | "traceparent">): Promise<unknown> => {
      const answer = await withinDeadline(
        backend.request({
          ...request,
          deadline,
          ...(traceparent && { traceparent }),
          ...(fingerprint && { fingerprint }),
        }),
        deadline,
      );
      if (!answer.ok) throw actorFailure(answer.error);
      return answer.reply;
    };
  }

  async function servePublic(
    route: PublicRoute,
    request: Request,
    info: Deno.ServeHandlerInfo | undefined,
    traceContext: Context,
  ): Promise<unknown> {
    const at = now();
    await admit(
      bootstrapLimiter ? () => bootstrapLimiter.take(clientAddress(info)) : null,
      "client",
    );
    const body = validate(route.body, await readJsonObject(request));
    const deadline = at + timeoutMs;
    const idempotencyKey = idempotencyKeyOf(request);
    const fingerprint = idempotencyKey && fingerprintOf(httpRequestOf(request, body));
    return await route.handle({
      body,
      idempotencyKey,
      now: at,
      origin: request.headers.get("origin"),
      send: sender(deadline, traceContext, fingerprint),
      backend: { widgetTenant: (key) => asked(backend.widgetTenant(key), deadline) },
      token: (claims, ttlSeconds) => signToken(jwtSecret, claims, ttlSeconds, { now: at }),
      anonymousIds: {
        mint: (tenant) => mintAnonymousId(jwtSecret, tenant),
        minted: (tenant, id) => isMintedAnonymousId(jwtSecret, tenant, id),
      },
      agentsOnline: (tenant) => presence?.onlineAgents(tenant) ?? Promise.resolve(1),
    });
  }

  async function serveApi(
    route: ApiRoute,
    params: Record<string, string>,
    request: Request,
    traceContext: Context,
  ): Promise<unknown> {
    const at = now();
    const principal = await authenticate(request, at, verifyToken);
    if (!route.roles.includes(principal.role)) {
      throw new HttpError(403, "forbidden", `role ${principal.role} may not ${route.operationId}`);
    }
    await admit(rateLimiter ? () => rateLimiter.take(principal) : null, "caller");
    if (params.id !== undefined && !isAddressPart(params.id)) {
      throw new HttpError(404, "not_found", `nothing at ${new URL(request.url).pathname}`);
    }
    const query = route.query &&
      validate(route.query, Object.fromEntries(new URL(request.url).searchParams));
    const isPost = route.method === "POST";
    const body = isPost
      ? validate(route.body ?? noArguments, await readJsonObject(request, route.maxBodyBytes))
      : {};
    const idempotencyKey = isPost ? idempotencyKeyOf(request) : undefined;
    const client = idempotencyKey &&
      clientCommand(principal, idempotencyKey, httpRequestOf(request, body));
    const issued = client ? { commandId: client.commandId } : keylessCommand();
    const deadline = at + timeoutMs;
    const send = sender(deadline, traceContext, client ? client.fingerprint : undefined);
    const call: ApiCall<unknown, unknown> = {
      principal,
      params,
      body,
      query,
      idempotencyKey,
      now: at,
      ask: (target, op, command, hints) => {
        const by = { sub: principal.sub, role: principal.role };
        return send({
          address: { kind: target.kind, tenant: principal.tenant, id: target.id },
          op,
          ...(command && { command: { ...command, by } }),
          ...issued,
          ...(hints?.fresh && { fresh: true }),
        });
      },
      agents: () => agents?.(principal.tenant) ?? Promise.resolve([]),
      readMarker: (conversation) =>
        readMarkers?.marker(principal.tenant, conversation, principal) ?? 0,
      backend: {
        events: (...args) => asked(backend.events(...args), deadline),
        messages: (...args) => asked(backend.messages(...args), deadline),
        list: (query) => asked(backend.list(query), deadline),
        settings: (tenant) => asked(backend.settings(tenant), deadline),
        putSettings: (tenant, settings) => asked(backend.putSettings(tenant, settings), deadline),
        plugins: (request, node) => withinDeadline(backend.plugins(request, node), deadline),
      },
    };
    return await route.handle(call);
  }

  // Store queries fail like actor requests do, so they map to statuses alike.
  function asked<T>(query: Promise<T>, deadline: number): Promise<T> {
    return withinDeadline(query, deadline).catch((error) => {
      throw error instanceof QueryFailedError ? actorFailure(error) : error;
    });
  }

  async function dispatch(
    request: Request,
    info: Deno.ServeHandlerInfo | undefined,
    found: RouteMatch<Route>,
    traceContext: Context,
  ): Promise<Response> {
    switch (found.kind) {
      case "no_route":
        throw new HttpError(404, "not_found", `no route ${new URL(request.url).pathname}`);
      case "wrong_method":
        throw new HttpError(
          405,
          "method_not_allowed",
          `${request.method} is not allowed here; allowed: ${found.allow.join(", ")}`,
          { headers: { allow: found.allow.join(", ") } },
        );
    }
    const { route, params } = found;
    if (route.kind === "ops") return route.handle(ops);
    const answer = route.kind === "public"
      ? await servePublic(route, request, info, traceContext)
      : route.kind === "cluster"
      ? await serveCluster(route, request)
      : await serveApi(route, params, request, traceContext);
    return jsonResponse(route.status, answer);
  }

  return async (request, info) => {
    if (request.method === "OPTIONS" && new URL(request.url).pathname.startsWith("/v1/")) {
      return preflight(request);
    }
    const started = performance.now();
    const found = match(request.method, new URL(request.url).pathname);
    const route = found.kind === "found" ? found.route.path : "unmatched";
    const method = knownMethods.has(request.method) ? request.method : "other";
    const parent = propagation.extract(context.active(), request.headers, headersGetter);
    const span = tracer.startSpan(`${method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": method, "http.route": route },
    }, parent);
    const traceContext = trace.setSpan(parent, span);
    let response: Response;
    try {
      response = await context.with(
        traceContext,
        () => dispatch(request, info, found, traceContext),
      );
    } catch (error) {
      const failure = error instanceof HttpError
        ? error
        : new HttpError(500, "internal", "internal error");
      if (failure.status === 500) {
        log.error("request failed", {
          method,
          route,
          trace_id: span.spanContext().traceId,
          ...describe(error),
        });
      } else if (failure.extra.internal !== undefined) {
        log.warn("request failed; retryable", {
          method,
          route,
          code: failure.code,
          trace_id: span.spanContext().traceId,
          error: failure.extra.internal,
        });
      }
      response = errorResponse(failure);
    }
    response = withCors(request, response);
    endSpan(span, response.status);
    requests.inc({ method, route, status: String(response.status) });
    duration.observe({ method, route }, (performance.now() - started) / 1000);
    return response;
  };
}

const scopeNames: Record<RateScope, string> = {
  caller: "caller",
  visitors: "tenant's visitors",
  tenant: "tenant",
};

const knownMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const headersGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

function traceparentOf(traceContext: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(traceContext, carrier);
  return carrier.traceparent;
}

function endSpan(span: Span, status: number): void {
  span.setAttribute("http.response.status_code", status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

function describe(error: unknown): Record<string, unknown> {
  return error instanceof Error
    ? { error: `${error.name}: ${error.message}`, stack: error.stack }
    : { error: String(error) };
}

/** The client's address; behind a proxy it is the proxy's, so limit per client there. */
export function clientAddress(info: Deno.ServeHandlerInfo | undefined): string {
  const address = info?.remoteAddr;
  return address && "hostname" in address ? address.hostname : "unknown";
}

// What an idempotency key is bound to: method, path and (validated) body.
function httpRequestOf(request: Request, body: unknown): unknown[] {
  return [request.method, new URL(request.url).pathname, body];
}

function idempotencyKeyOf(request: Request): string | undefined {
  const key = request.headers.get("idempotency-key");
  if (key === null) return undefined;
  if (!idempotencyKeyPattern.test(key)) {
    throw new HttpError(
      400,
      "validation",
      "Idempotency-Key must be 1-200 characters of A-Z a-z 0-9 . _ : -",
      { field: "Idempotency-Key" },
    );
  }
  return key;
}

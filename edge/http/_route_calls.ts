/**
 * Serving a matched route of each kind: authenticating the caller, admitting
 * it past the rate limits, validating its input and handing the route its
 * call, whose sends and store queries keep to the request's deadline and
 * carry its trace context and idempotency key.
 *
 * @module
 */
import { type Context, propagation } from "@opentelemetry/api";
import { withinTimeout } from "../../cluster/abortable.ts";
import type { ActorRequest } from "../../cluster/protocol.ts";
import type { Logger } from "../../cluster/telemetry/log.ts";
import { AuthError, bearerToken, signToken, verifyOpsToken, verifyToken } from "../auth/auth.ts";
import { isMintedAnonymousId, mintAnonymousId } from "../auth/visitor_identity.ts";
import type { RateDecision } from "../limits/rate_limit.ts";
import type { CallerDecision, RateScope } from "../limits/caller_limits.ts";
import type { ApiCall, ApiRoute, ClusterRoute, PublicRoute } from "./route_types.ts";
import type { HttpHandlerOptions } from "./handler_options.ts";
import { noArguments } from "./schemas.ts";
import { readJsonObject } from "./_body.ts";
import { idempotencyKeyPattern, isAddressPart } from "../ids.ts";
import { clientCommand, fingerprintOf, keylessCommand } from "../idempotency.ts";
import { QueryFailedError } from "../../cluster/store/store_query.ts";
import { actorFailure, HttpError, retryLater } from "./_responses.ts";
import { validate } from "./_validate.ts";

/** The handler's options with their defaults applied. */
export type RouteServerOptions =
  & Omit<HttpHandlerOptions, "now" | "requestTimeoutMs" | "log">
  & { now: () => number; timeoutMs: number; log: Logger };

/** Serve a matched route of each kind, answering the body of its response. */
export interface RouteServers {
  serveCluster(route: ClusterRoute, request: Request): Promise<unknown>;
  /** `client` is the client's address, which the bootstrap limiter counts by. */
  servePublic(
    route: PublicRoute,
    request: Request,
    client: string,
    traceContext: Context,
  ): Promise<unknown>;
  serveApi(
    route: ApiRoute,
    params: Record<string, string>,
    request: Request,
    traceContext: Context,
  ): Promise<unknown>;
}

/** The route servers of a handler with `options`. */
export function createRouteServers(options: RouteServerOptions): RouteServers {
  const { backend, jwtSecret, metrics, rateLimiter, bootstrapLimiter, presence, agents } = options;
  const { readMarkers, now, timeoutMs, log } = options;
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
    client: string,
    traceContext: Context,
  ): Promise<unknown> {
    const at = now();
    await admit(
      bootstrapLimiter ? () => bootstrapLimiter.take(client) : null,
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

  return { serveCluster, servePublic, serveApi };
}

const scopeNames: Record<RateScope, string> = {
  caller: "caller",
  visitors: "tenant's visitors",
  tenant: "tenant",
};

function traceparentOf(traceContext: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(traceContext, carrier);
  return carrier.traceparent;
}

/** `error` as the fields of a log line. */
export function describe(error: unknown): Record<string, unknown> {
  return error instanceof Error
    ? { error: `${error.name}: ${error.message}`, stack: error.stack }
    : { error: String(error) };
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

/**
 * The HTTP API as a web-standard request handler: authenticates, validates,
 * forwards to the actors through a `Backend`, and maps their
 * answers to status codes. It holds no business state.
 *
 * This module matches routes, answers CORS, traces and meters each request
 * and logs its failures; `_route_calls.ts` serves each kind of route.
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
import { tracer } from "../../cluster/telemetry/tracing.ts";
import { createLogger } from "../../cluster/telemetry/log.ts";
import type { HttpHandlerOptions } from "./handler_options.ts";
import { openApiDocument } from "./openapi.ts";
import type { OpsContext, Route } from "./route_types.ts";
import { routes } from "./routes.ts";
import { errorResponse, HttpError, jsonResponse } from "./_responses.ts";
import { createRouter, type RouteMatch } from "./_router.ts";
import { createRouteServers, describe } from "./_route_calls.ts";
import { preflight, withCors } from "./cors.ts";

/**
 * Serve the HTTP API of {@linkcode routes}. `info` (as `Deno.serve` passes
 * it) names the client for per-address rate limits.
 */
export function createHttpHandler(
  options: HttpHandlerOptions,
): (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  const { backend, metrics } = options;
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
  const { serveCluster, servePublic, serveApi } = createRouteServers({
    ...options,
    now,
    timeoutMs,
    log,
  });

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
      ? await servePublic(route, request, clientAddress(info), traceContext)
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

const knownMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const headersGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

function endSpan(span: Span, status: number): void {
  span.setAttribute("http.response.status_code", status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** The client's address; behind a proxy it is the proxy's, so limit per client there. */
export function clientAddress(info: Deno.ServeHandlerInfo | undefined): string {
  const address = info?.remoteAddr;
  return address && "hostname" in address ? address.hostname : "unknown";
}

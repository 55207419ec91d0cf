/**
 * Cross-origin access to the API. The widget runs on the tenant's own
 * sites: the bootstrap answers those origins only when the tenant's widget
 * lists them (`widget.allowedOrigins`; without a list, any origin), and the
 * WebSocket refuses a visitor token from any other. Staff routes take a
 * bearer token and no cookie, so a page of another origin can do nothing
 * with them the token's holder could not do anyway: they answer any origin
 * (the console reaches another edge when its own dies).
 *
 * @module
 */
import type { TenantSettings, WidgetSettings } from "../../actors/decider.ts";
import { HttpError } from "./_responses.ts";

const allowedHeaders = "authorization, content-type, idempotency-key";

/** Whether a page of `origin` may use the widget; a request without an Origin is no page's. */
export function widgetOriginAllowed(widget: WidgetSettings, origin: string | null): boolean {
  if (origin === null || widget.allowedOrigins === undefined) return true;
  return widget.allowedOrigins.includes(origin);
}

/** Tenants whose widget settings an edge keeps at once; past it the oldest go. */
const maxCachedTenants = 10_000;

/**
 * `widgetOriginAllowed` for a tenant named by a token, its settings read
 * through `settings` and kept `ttlMs`: a reconnect storm of visitors costs
 * one read per tenant, and a client that is not a page (no Origin) none.
 */
export function tenantOriginCheck(
  settings: (tenant: string) => Promise<TenantSettings>,
  ttlMs = 5000,
): (tenant: string, origin: string | null) => Promise<boolean> {
  const cache = new Map<string, { at: number; widget?: WidgetSettings }>();
  return async (tenant, origin) => {
    if (origin === null) return true;
    const now = Date.now();
    let entry = cache.get(tenant);
    if (!entry || now - entry.at > ttlMs) {
      entry = { at: now, widget: (await settings(tenant)).widget };
      cache.delete(tenant);
      cache.set(tenant, entry);
      if (cache.size > maxCachedTenants) cache.delete(cache.keys().next().value!);
    }
    return !entry.widget || widgetOriginAllowed(entry.widget, origin);
  };
}

/** Refuse a page of an origin the tenant's widget does not list. */
export function checkWidgetOrigin(widget: WidgetSettings, origin: string | null): void {
  if (!widgetOriginAllowed(widget, origin)) {
    throw new HttpError(
      403,
      "origin_not_allowed",
      `the widget is not allowed on ${origin}: add it to widget.allowedOrigins`,
    );
  }
}

/** The answer to a CORS preflight of an API path. */
export function preflight(request: Request): Response {
  return new Response(null, {
    status: 204,
    headers: {
      ...corsHeaders(request),
      "access-control-allow-methods": "GET, POST",
      "access-control-allow-headers": allowedHeaders,
      "access-control-max-age": "600",
    },
  });
}

/** Let the page that sent `request` read `response` (refusals included, so it can tell why). */
export function withCors(request: Request, response: Response): Response {
  for (const [name, value] of Object.entries(corsHeaders(request))) {
    response.headers.set(name, value);
  }
  return response;
}

function corsHeaders(request: Request): Record<string, string> {
  const origin = request.headers.get("origin");
  if (origin === null) return {};
  return {
    "access-control-allow-origin": origin,
    "access-control-expose-headers": "retry-after",
    vary: "origin",
  };
}

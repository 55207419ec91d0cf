/**
 * The router a node holds: asks the tenant's router where a waiting chat or
 * ticket goes. A built-in router (by name, see `plugins/routers`) runs in
 * process; any other name is a plugin, run sandboxed by the node's
 * {@linkcode PluginHost}, which falls back to least-loaded on its own.
 *
 * @module
 */
import type { Decision, Json } from "../../plugins/sdk.ts";
import { builtinRouters } from "../../plugins/routers/mod.ts";
import { routeLeastLoaded } from "../../plugins/routers/least_loaded.ts";
import type { PluginHost, RouteOutcome, RouteRequest } from "../../plugins/host/plugin_host.ts";
import { hostPluginName } from "./plugin_registry.ts";

export type { RouteOutcome, RouteRequest };

/** The router a tenant picked and its options; least-loaded with none by default. */
export interface RouterChoice {
  router?: string;
  routerOptions?: Record<string, unknown>;
}

/** The router tenants get when they pick none. */
export const defaultRouter = "least-loaded";

/** Routes with built-ins in process and plugins through a plugin host. */
export class Router {
  #plugins: PluginHost;

  constructor(plugins: PluginHost) {
    this.#plugins = plugins;
  }

  /** Where `request.item` should go, by the router `choice` names, and who decided. */
  route(tenant: string, choice: RouterChoice, request: RouteRequest): Promise<RouteOutcome> {
    const name = choice.router ?? defaultRouter;
    const builtin = builtinRouters.get(name);
    if (!builtin) {
      // A tenant's plugins live under its own name in the host: no tenant reaches another's.
      return this.#plugins.route(hostPluginName(tenant, name), {
        ...request,
        item: { ...request.item, tenant },
      });
    }
    const router = { name, version: builtin.version ?? "builtin" };
    try {
      const options = (choice.routerOptions ?? {}) as Record<string, Json>;
      const input = { ...request, options };
      return Promise.resolve(builtin.route(input)).then(
        (decision: Decision) => ({ decision, router }),
        (error) => fallback(request, error),
      );
    } catch (error) {
      // A built-in throws only on options it cannot use (sticky's `fallback`).
      return Promise.resolve(fallback(request, error));
    }
  }
}

function fallback(request: RouteRequest, error: unknown): RouteOutcome {
  return {
    decision: routeLeastLoaded({ ...request, options: {} }),
    router: { name: defaultRouter, version: "builtin" },
    fallback: { cause: "error", detail: error instanceof Error ? error.message : String(error) },
  };
}

/**
 * The admin operations on tenants' routing plugins, answered by a node (the
 * edge has no sandbox): a registration is validated by loading it in this
 * node's sandbox before it is stored and broadcast; listings carry this
 * node's counters.
 *
 * @module
 */
import { PluginError } from "../../plugins/host/plugin_host.ts";
import type { PluginAdminRequest, PluginAdminResponse, PluginView } from "../protocol.ts";
import {
  type EventStore,
  type PluginRecord,
  PluginVersionTakenError,
} from "../store/event_store.ts";
import { hostPluginName, type PluginRegistry } from "./plugin_registry.ts";

/** Answer plugin admin requests on node `node`. */
export function pluginAdmin(
  store: EventStore,
  registry: PluginRegistry,
  node: string,
): (request: PluginAdminRequest) => Promise<PluginAdminResponse> {
  async function views(tenant: string, name?: string): Promise<PluginView[]> {
    const records = await store.plugins(tenant, name);
    return records.map((record) => viewOf(record, registry));
  }

  async function changed(tenant: string, name: string, version: string) {
    // This node is in step before it answers; the others follow the broadcast.
    await registry.sync(tenant, name);
    registry.broadcast({ tenant, name });
    const found = (await views(tenant, name)).find((view) => view.version === version)!;
    return { ok: true as const, node, plugin: found };
  }

  async function register(request: Extract<PluginAdminRequest, { op: "register" }>) {
    const { tenant, name, version, source, options } = request;
    const existing = (await store.plugins(tenant, name)).find((r) => r.version === version);
    if (existing) {
      // A retried registration of the same version is answered as the first was.
      if (existing.source === source && sameJson(existing.options, options)) {
        return { ok: true as const, node, plugin: viewOf(existing, registry) };
      }
      throw new PluginVersionTakenError(name, version);
    }
    await registry.load({ tenant, name, version, source, options });
    await store.addPlugin({
      tenant,
      name,
      version,
      source,
      options,
      state: request.mode,
      createdAt: Date.now(),
      createdBy: request.by,
    });
    return await changed(tenant, name, version);
  }

  async function answer(request: PluginAdminRequest): Promise<PluginAdminResponse> {
    switch (request?.op) {
      case "register":
        return await register(request);
      case "list":
        return { ok: true, node, plugins: await views(request.tenant) };
      case "activate": {
        const { tenant, name, version } = request;
        if (!await store.activatePlugin(tenant, name, version, Date.now())) {
          return refused("not_found", `no version ${version} of plugin ${name}`);
        }
        return await changed(tenant, name, version);
      }
      case "rollback": {
        const version = await store.rollbackPlugin(request.tenant, request.name);
        if (version === null) {
          return refused("no_previous_version", `${request.name} had no active version before`);
        }
        return await changed(request.tenant, request.name, version);
      }
      case "route": {
        const outcome = await registry.host.route(
          hostPluginName(request.tenant, request.name),
          request.request,
        );
        return { ok: true, node, outcome };
      }
      default:
        return refused("validation", "unknown plugin admin operation");
    }
  }

  return async (request) => {
    try {
      return await answer(request);
    } catch (error) {
      if (error instanceof PluginError) return refused(error.code, error.message);
      if (error instanceof PluginVersionTakenError) return refused("version_taken", error.message);
      return { ok: false, error: { code: "unavailable", message: String(error), retryable: true } };
    }
  };
}

function refused(code: string, message: string): PluginAdminResponse {
  return { ok: false, error: { code, message, retryable: false } };
}

function viewOf(record: PluginRecord, registry: PluginRegistry): PluginView {
  const info = registry.host.versions(hostPluginName(record.tenant, record.name))
    .find((loaded) => loaded.version === record.version);
  return {
    name: record.name,
    version: record.version,
    state: record.state,
    options: record.options,
    sourceBytes: new TextEncoder().encode(record.source).length,
    createdAt: record.createdAt,
    createdBy: record.createdBy,
    activatedAt: record.activatedAt,
    local: info
      ? { role: info.role, children: info.children, breaker: info.breaker, stats: info.stats }
      : null,
  };
}

// Options come back from jsonb with their keys reordered.
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value).sort().map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
  );
}

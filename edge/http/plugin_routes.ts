/**
 * The admin API of tenants' routing plugins: register a version (validated
 * in a node's sandbox, stored, broadcast to every node), list versions with
 * a node's counters, activate one, roll back. Admins only; each tenant sees
 * and uses only its own plugins.
 *
 * @module
 */
import * as v from "valibot";
import { maxSourceBytes } from "../../plugins/host/plugin_host.ts";
import type { PluginAdminRequest, PluginAdminResponse } from "../../cluster/protocol.ts";
import { HttpError, retryLater } from "./_responses.ts";
import type { ApiCall, ApiRoute } from "./route_types.ts";

/** How a node's refusal of a plugin operation is told to the client. */
const statusByCode: Record<string, number> = {
  validation: 400,
  bad_name: 400,
  bad_options: 400,
  source_too_large: 400,
  load_failed: 422,
  probe_failed: 422,
  not_found: 404,
};

const pluginName = v.pipe(
  v.string("must be a string"),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/, "must be 1-100 letters, digits or ._@+-"),
);

const encoder = new TextEncoder();

/** `POST /v1/admin/plugins` */
export const registerPluginBody = v.strictObject({
  name: pluginName,
  version: pluginName,
  source: v.pipe(
    v.string("must be a string"),
    v.check(
      (source) => encoder.encode(source).length <= maxSourceBytes,
      `must be at most ${maxSourceBytes} bytes`,
    ),
  ),
  options: v.optional(v.record(v.string(), v.unknown(), "must be an object")),
  mode: v.optional(v.picklist(["active", "shadow"], "must be active or shadow")),
});

/** `POST /v1/admin/plugins/{name}/activate` */
export const activatePluginBody = v.strictObject({ version: pluginName });

/** `GET /v1/admin/plugins`: which node's counters to show (any node's by default). */
export const listPluginsQuery = v.object({
  node: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
});

// The JSON of a largest source, escaped, and the rest of the body.
const registerBodyBytes = 2 * maxSourceBytes + 16 * 1024;

type Call<B = unknown, Q = unknown> = ApiCall<B, Q>;

async function ask<T extends PluginAdminResponse>(
  call: Call,
  request: PluginAdminRequest,
  node?: string,
): Promise<Extract<T, { ok: true }>> {
  const response = await call.backend.plugins(request, node);
  if (response.ok) return response as Extract<T, { ok: true }>;
  const { code, message, retryable } = response.error;
  if (retryable) throw retryLater(code, message);
  throw new HttpError(statusByCode[code] ?? 409, code, message);
}

// The router matches any segment; a name no version can have is not there.
function nameOf(call: Call): string {
  const { name } = call.params;
  if (!v.is(pluginName, name)) throw new HttpError(404, "not_found", `no plugin ${name}`);
  return name;
}

type PluginOne = Extract<PluginAdminResponse, { plugin: unknown }>;

// A change of one version answers it as stored, with the node that answered.
async function onePlugin(call: Call, request: PluginAdminRequest) {
  const { node, plugin } = await ask<PluginOne>(call, request);
  return { node, ...plugin };
}
type PluginList = Extract<PluginAdminResponse, { plugins: unknown }>;

/** The plugin admin routes. */
export const pluginRoutes: readonly ApiRoute[] = [
  {
    kind: "api",
    method: "GET",
    path: "/v1/admin/plugins",
    operationId: "listPlugins",
    summary:
      "The tenant's routing plugin versions with their state (active, shadow, inactive) and, under local, the role and counters (calls, errors, timeouts, fallbacks, latency, shadow agreement) of the node that answered: any node, or the one named by ?node=.",
    roles: ["admin"],
    query: listPluginsQuery,
    status: 200,
    response: "PluginList",
    handle: async (call) => {
      const { query, principal } = call as Call<unknown, v.InferOutput<typeof listPluginsQuery>>;
      const listed = await ask<PluginList>(
        call,
        { op: "list", tenant: principal.tenant },
        query.node,
      );
      return { node: listed.node, items: listed.plugins };
    },
  },
  {
    kind: "api",
    method: "POST",
    path: "/v1/admin/plugins",
    operationId: "registerPlugin",
    summary:
      "Register a routing plugin version: an ES module (source up to 256 KiB) whose default export is a RoutingPlugin of plugins/sdk.ts. It is loaded once in a node's sandbox and probed; refused with 422 load_failed or probe_failed (400 for a bad name or options) it is stored nowhere. Stored, it goes to every node: mode active (the default) swaps it in for new calls, mode shadow runs it beside the active version and counts agreement. Versions never change: the same version again answers the stored one when identical, else 409 version_taken.",
    roles: ["admin"],
    body: registerPluginBody,
    maxBodyBytes: registerBodyBytes,
    status: 201,
    response: "Plugin",
    handle: async (call) => {
      const { body, principal } = call as Call<v.InferOutput<typeof registerPluginBody>>;
      return await onePlugin(call, {
        op: "register",
        tenant: principal.tenant,
        by: principal.sub,
        name: body.name,
        version: body.version,
        source: body.source,
        // The node's sandbox checks that they are plain JSON.
        options: (body.options ?? {}) as Extract<PluginAdminRequest, { op: "register" }>["options"],
        mode: body.mode ?? "active",
      });
    },
  },
  {
    kind: "api",
    method: "POST",
    path: "/v1/admin/plugins/{name}/activate",
    operationId: "activatePlugin",
    summary:
      "Make a registered version the active one on every node (promoting a shadow); calls in flight finish on the version they started on.",
    roles: ["admin"],
    body: activatePluginBody,
    status: 200,
    response: "Plugin",
    handle: async (call) => {
      const { body, principal } = call as Call<v.InferOutput<typeof activatePluginBody>>;
      return await onePlugin(call, {
        op: "activate",
        tenant: principal.tenant,
        name: nameOf(call),
        version: body.version,
      });
    },
  },
  {
    kind: "api",
    method: "POST",
    path: "/v1/admin/plugins/{name}/rollback",
    operationId: "rollbackPlugin",
    summary:
      "Activate again the version that was active before the current one, on every node; again steps further back. 409 no_previous_version when there is none.",
    roles: ["admin"],
    status: 200,
    response: "Plugin",
    handle: (call) =>
      onePlugin(call, { op: "rollback", tenant: call.principal.tenant, name: nameOf(call) }),
  },
];

// The rig of the HTTP edge's unit tests: the handler over a scripted Backend
// that records what the edge asked, so only the edge's own behaviour is
// under test.
import { assertEquals, assertExists, assertObjectMatch } from "@std/assert";
import type { ActorAddress, StoredTenantSettings, TenantSettings } from "../../actors/decider.ts";
import { createLogger } from "../../cluster/telemetry/log.ts";
import { MetricsRegistry } from "../../cluster/telemetry/metrics.ts";
import type {
  ActorRequest,
  ActorResponse,
  Backend,
  ClusterStatus,
  ConversationHead,
  Page,
  PluginAdminRequest,
  PluginAdminResponse,
  ProjectionQuery,
  StoredEvent,
  WidgetTenant,
} from "../../cluster/protocol.ts";
import { readHeads } from "../../cluster/runtime/heads.ts";
import { effectiveSettings } from "../../cluster/store/tenant_directory.ts";
import { type Role, signToken } from "../../edge/auth/auth.ts";
import { createHttpHandler } from "../../edge/http/handler.ts";
import type { HttpHandlerOptions } from "../../edge/http/handler_options.ts";

/** The JWT secret of the harness. */
export const secret = "test-secret-of-at-least-32-bytes!!";
/** The time of every request the harness makes. */
export const now = Date.UTC(2030, 0, 1);

/** Records every call and answers as scripted (by default: echoes the request). */
export class ScriptedBackend implements Backend {
  requests: ActorRequest[] = [];
  eventCalls: [ActorAddress, number, number][] = [];
  listCalls: ProjectionQuery[] = [];
  isReady = true;
  answer: (request: ActorRequest) => ActorResponse | Promise<ActorResponse> = (request) => ({
    ok: true,
    reply: { id: request.address.id, echo: request.command ?? null },
    seq: 1,
  });

  request(request: ActorRequest): Promise<ActorResponse> {
    this.requests.push(request);
    return Promise.resolve().then(() => this.answer(request));
  }

  /** Heads as `answer` reads them, one request per conversation recorded. */
  heads(
    addresses: readonly ActorAddress[],
    deadline: number,
  ): Promise<(ConversationHead | null)[]> {
    return readHeads((request) => this.request(request), addresses, deadline);
  }

  events(address: ActorAddress, afterSeq: number, limit: number): Promise<Page<StoredEvent>> {
    this.eventCalls.push([address, afterSeq, limit]);
    const event = { seq: afterSeq + 1, type: "created", data: {}, commandId: "c", at: now };
    return Promise.resolve({ items: [event], nextCursor: null });
  }

  messages(): Promise<Page<Record<string, unknown>>> {
    return Promise.resolve({ items: [], nextCursor: null });
  }

  list(query: ProjectionQuery): Promise<Page<Record<string, unknown>>> {
    this.listCalls.push(query);
    return Promise.resolve({ items: [{ id: "t1" }], nextCursor: "next" });
  }

  ready(): boolean {
    return this.isReady;
  }

  deadLetters(): Promise<Record<string, unknown>[]> {
    return Promise.resolve([]);
  }

  status(): Promise<ClusterStatus> {
    return Promise.resolve({ epoch: 3, viewId: "v3", nodes: [], edges: ["e1"] });
  }

  settingsCalls: [string, StoredTenantSettings | null][] = [];
  /** What `settings` answers per tenant; the defaults otherwise. */
  stored = new Map<string, StoredTenantSettings>();

  settings(tenant: string): Promise<TenantSettings> {
    this.settingsCalls.push([tenant, null]);
    return Promise.resolve(effectiveSettings(this.stored.get(tenant) ?? null));
  }

  putSettings(tenant: string, settings: StoredTenantSettings): Promise<TenantSettings> {
    this.settingsCalls.push([tenant, settings]);
    return Promise.resolve(effectiveSettings(settings));
  }

  widgetKeyCalls: string[] = [];

  /** The tenant of `stored` whose widget has `key`. */
  widgetTenant(key: string): Promise<WidgetTenant | null> {
    this.widgetKeyCalls.push(key);
    const found = [...this.stored].find(([, settings]) => settings.widget?.key === key);
    return Promise.resolve(
      found ? { tenant: found[0], settings: effectiveSettings(found[1]) } : null,
    );
  }

  pluginCalls: [PluginAdminRequest, string | undefined][] = [];
  /** What `plugins` answers. */
  pluginAnswer: PluginAdminResponse = {
    ok: false,
    error: { code: "not_found", message: "no plugins here", retryable: false },
  };

  plugins(request: PluginAdminRequest, node?: string): Promise<PluginAdminResponse> {
    this.pluginCalls.push([request, node]);
    return Promise.resolve(this.pluginAnswer);
  }

  get last(): ActorRequest {
    const request = this.requests.at(-1);
    assertExists(request, "the backend received no request");
    return request;
  }
}

/** A handler over a {@linkcode ScriptedBackend}, and what it recorded. */
export interface Harness {
  backend: ScriptedBackend;
  metrics: MetricsRegistry;
  logs: Record<string, unknown>[];
  call(method: string, path: string, init?: CallInit): Promise<Response>;
}

/** How {@linkcode Harness.call} makes its request. */
export interface CallInit {
  /** A token, or the claims to sign one with (alice, agent of demo by default). */
  token?: string | null | { sub?: string; tenant?: string; role?: Role };
  /** Sent as JSON unless it is a string (sent as is) or a stream. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The client's IP address; 192.0.2.1 by default. */
  from?: string;
}

/** The HTTP handler over a fresh {@linkcode ScriptedBackend}, at {@linkcode now}. */
export function harness(options: Partial<HttpHandlerOptions> = {}): Harness {
  const backend = new ScriptedBackend();
  const metrics = new MetricsRegistry();
  const logs: Record<string, unknown>[] = [];
  const handler = createHttpHandler({
    backend,
    jwtSecret: secret,
    metrics,
    now: () => now,
    log: createLogger({}, (line) => logs.push(JSON.parse(line))),
    ...options,
  });
  return {
    backend,
    metrics,
    logs,
    async call(method, path, init = {}) {
      const headers = new Headers(init.headers);
      const token = init.token === null || typeof init.token === "string"
        ? init.token
        : await tokenFor(init.token ?? {});
      if (token !== null) headers.set("authorization", `Bearer ${token}`);
      let body: BodyInit | undefined;
      if (init.body instanceof ReadableStream || typeof init.body === "string") body = init.body;
      else if (init.body !== undefined) body = JSON.stringify(init.body);
      if (body !== undefined && !headers.has("content-type")) {
        headers.set("content-type", "application/json");
      }
      const remoteAddr = { transport: "tcp" as const, hostname: init.from ?? "192.0.2.1", port: 1 };
      return await handler(
        new Request(`http://edge.test${path}`, { method, headers, body }),
        { remoteAddr, completed: Promise.resolve() },
      );
    },
  };
}

function tokenFor(claims: { sub?: string; tenant?: string; role?: Role }): Promise<string> {
  return signToken(secret, { sub: "alice", tenant: "demo", role: "agent", ...claims }, 3600, {
    now,
  });
}

async function errorOf(response: Response): Promise<Record<string, unknown>> {
  const body = await response.json();
  assertEquals(Object.keys(body), ["error"]);
  return body.error;
}

/** Check `response` is an error with `status` whose error has `expected`'s fields. */
export async function expectError(
  response: Response,
  status: number,
  expected: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  assertEquals(response.status, status);
  const error = await errorOf(response);
  assertObjectMatch(error, expected);
  assertEquals(typeof error.message, "string");
  return error;
}

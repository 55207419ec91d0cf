// The widget on a tenant's own site: CORS of the bootstrap (preflight
// included) for the widget's allowed origins, and the WebSocket's Origin
// check of visitor tokens. Without a browser: the requests a browser sends.
import { assert, assertEquals } from "@std/assert";
import { tenantOriginCheck } from "../edge/http/cors.ts";
import { type ApiServer, call, startApiServer } from "./_support/api_server.ts";

const widgetKey = "wk_cors_0123456789abcdef";
const shop = "https://shop.example";
const evil = "https://evil.example";

async function withWidget(
  allowedOrigins: string[] | undefined,
  test: (server: ApiServer) => Promise<void>,
): Promise<void> {
  const server = await startApiServer();
  try {
    const admin = await server.token({ sub: "root", role: "admin" });
    const saved = await call(`${server.url}/v1/admin/settings`, admin, "POST", {
      widget: { key: widgetKey, ...(allowedOrigins && { allowedOrigins }) },
    });
    assertEquals(saved.status, 200, JSON.stringify(saved.body));
    await test(server);
  } finally {
    await server.close();
  }
}

function bootstrapFrom(server: ApiServer, origin?: string) {
  return fetch(`${server.url}/v1/widget/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(origin && { origin }) },
    body: JSON.stringify({ widgetKey }),
  });
}

/** Open a socket as a page of `origin` would, say hello, and return the first answer. */
async function helloFrom(
  server: ApiServer,
  origin: string,
  token: string,
): Promise<{ frame: Record<string, unknown>; code?: number }> {
  // Deno's WebSocket takes headers; the DOM's type (the browser code's lib) does not know them.
  const options = { headers: { origin } } as unknown as string[];
  const socket = new WebSocket(`${server.url.replace("http", "ws")}/v1/ws`, options);
  const answer = Promise.withResolvers<{ frame: Record<string, unknown>; code?: number }>();
  let frame: Record<string, unknown> = {};
  socket.onopen = () => socket.send(JSON.stringify({ t: "hello", token }));
  socket.onmessage = (event) => {
    frame = JSON.parse(event.data);
    if (frame.t === "welcome") {
      socket.close();
      answer.resolve({ frame });
    }
  };
  socket.onclose = (event) => answer.resolve({ frame, code: event.code });
  return await answer.promise;
}

Deno.test("web cors: a preflight of the bootstrap is answered for the page's origin", async () => {
  await withWidget([shop], async (server) => {
    const response = await fetch(`${server.url}/v1/widget/sessions`, {
      method: "OPTIONS",
      headers: {
        origin: shop,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, idempotency-key",
      },
    });
    await response.body?.cancel();
    assertEquals(response.status, 204);
    assertEquals(response.headers.get("access-control-allow-origin"), shop);
    assert(response.headers.get("access-control-allow-methods")!.includes("POST"));
    assert(response.headers.get("access-control-allow-headers")!.includes("idempotency-key"));
  });
});

Deno.test("web cors: the bootstrap admits the widget's origins and refuses others with origin_not_allowed", async () => {
  await withWidget([shop], async (server) => {
    const allowed = await bootstrapFrom(server, shop);
    assertEquals(allowed.status, 201);
    assertEquals(allowed.headers.get("access-control-allow-origin"), shop);
    await allowed.body?.cancel();

    const refused = await bootstrapFrom(server, evil);
    assertEquals(refused.status, 403);
    // Readable by the page, so the widget can say why.
    assertEquals(refused.headers.get("access-control-allow-origin"), evil);
    const body = await refused.json();
    assertEquals(body.error.code, "origin_not_allowed");
    assert(body.error.message.includes(evil));

    const serverSide = await bootstrapFrom(server);
    assertEquals(serverSide.status, 201, "no Origin: not a page, so not refused");
    await serverSide.body?.cancel();
  });
});

Deno.test("web cors: a widget without allowedOrigins works from any origin", async () => {
  await withWidget(undefined, async (server) => {
    const response = await bootstrapFrom(server, evil);
    assertEquals(response.status, 201);
    await response.body?.cancel();
  });
});

Deno.test("web cors: the WebSocket refuses a visitor token from another origin, admits agents", async () => {
  await withWidget([shop], async (server) => {
    const session = await (await bootstrapFrom(server, shop)).json();
    const fromShop = await helloFrom(server, shop, session.token);
    assertEquals(fromShop.frame.t, "welcome");

    const fromEvil = await helloFrom(server, evil, session.token);
    assertEquals(fromEvil.frame.t, "err");
    assertEquals(fromEvil.frame.code, "origin_not_allowed");
    assertEquals(fromEvil.code, 1008);

    const agent = await server.token({ sub: "alice", role: "agent" });
    assertEquals((await helloFrom(server, evil, agent)).frame.t, "welcome");
  });
});

Deno.test("web cors: a visitor token in the subprotocol from another origin is refused before the upgrade", async () => {
  await withWidget([shop], async (server) => {
    const session = await (await bootstrapFrom(server, shop)).json();
    const response = await fetch(`${server.url}/v1/ws`, {
      headers: {
        origin: evil,
        upgrade: "websocket",
        connection: "upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-protocol": `switchboard.v1, bearer.${session.token}`,
      },
    });
    assertEquals(response.status, 403);
    assertEquals((await response.json()).error.code, "origin_not_allowed");
  });
});

Deno.test("web cors: allowedOrigins must be origins", async () => {
  await withWidget(undefined, async (server) => {
    const admin = await server.token({ sub: "root", role: "admin" });
    const saved = await call(`${server.url}/v1/admin/settings`, admin, "POST", {
      widget: { key: widgetKey, allowedOrigins: ["https://shop.example/path"] },
    });
    assertEquals(saved.status, 400);
    assertEquals((saved.body.error as { field: string }).field, "widget.allowedOrigins.0");
  });
});

Deno.test("web cors: the socket's Origin check reads a tenant's settings once per ttl, and never without an Origin", async () => {
  let reads = 0;
  const check = tenantOriginCheck(() => {
    reads++;
    return Promise.resolve({ widget: { key: widgetKey, allowedOrigins: [shop] } } as never);
  }, 50);
  assert(await check("acme", null), "not a page");
  assertEquals(reads, 0);
  assert(await check("acme", shop));
  assert(!await check("acme", evil));
  assertEquals(reads, 1);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert(await check("acme", shop));
  assertEquals(reads, 2);
});

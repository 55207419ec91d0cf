import { assert, assertEquals, assertMatch } from "@std/assert";
import { call, startApiServer } from "./_support/api_server.ts";
import { signToken } from "../edge/auth/auth.ts";

Deno.test("tickets over HTTP on Postgres: create, read, list, work, history", async () => {
  const api = await startApiServer();
  try {
    const visitor = await api.token({ sub: "carol", role: "visitor" });
    const alice = await api.token({ sub: "alice" });
    const ticket = { subject: "Printer on fire", body: "It is really on fire." };
    for (const [field, value] of [["priority", "urgent"], ["team", "vip"], ["tags", ["x"]]]) {
      const triaged = await call(`${api.url}/v1/tickets`, visitor, "POST", {
        ...ticket,
        [field as string]: value,
      });
      assertEquals([triaged.status, triaged.body.error], [400, {
        code: "validation",
        message: `visitors may not set ${field}`,
        field,
      }]);
    }
    const created = await call(`${api.url}/v1/tickets`, visitor, "POST", ticket);
    assertEquals(created.status, 201);
    const id = created.body.id as string;
    assertEquals(created.body, {
      id,
      subject: "Printer on fire",
      status: "new",
      requester: "carol",
      comments: 0,
      createdAt: created.body.createdAt,
      updatedAt: created.body.updatedAt,
      resolvedAt: null,
      closedAt: null,
    });
    const triage = await call(`${api.url}/v1/tickets/${id}/priority`, alice, "POST", {
      priority: "urgent",
    });
    assertEquals([triage.status, triage.body.priority], [200, "urgent"]);

    assertEquals((await call(`${api.url}/v1/tickets/${id}/claim`, alice, "POST")).status, 200);
    const reply = await call(`${api.url}/v1/tickets/${id}/comments`, alice, "POST", {
      body: "On my way with an extinguisher.",
    });
    assertEquals([reply.status, reply.body.status], [200, "in_progress"]);
    const note = await call(`${api.url}/v1/tickets/${id}/comments`, alice, "POST", {
      body: "Customer is upset.",
      visibility: "internal",
    });
    assertEquals(note.body.notes, 1);
    // A visitor's own command is answered with the visitor view: no assignee, no notes.
    const answer = await call(`${api.url}/v1/tickets/${id}/comments`, visitor, "POST", {
      body: "Thanks!",
    });
    assertEquals(answer.status, 200);
    assertEquals([answer.body.comments, answer.body.assignee, answer.body.notes], [
      2,
      undefined,
      undefined,
    ]);
    assertEquals(answer.body.priority, undefined);
    const read = await call(`${api.url}/v1/tickets/${id}`, alice, "GET");
    assertEquals([read.status, read.body.assignee, read.body.comments], [200, "alice", 2]);

    const mine = await call(`${api.url}/v1/tickets?assignee=alice`, alice, "GET");
    assertEquals((mine.body.items as { id: string }[]).map((t) => t.id), [id]);
    const history = await call(`${api.url}/v1/tickets/${id}/events`, alice, "GET");
    const types = (history.body.items as { type: string }[]).map((e) => e.type);
    assertEquals(types[0], "created");
    assert(types.includes("assigned") && types.includes("commented"));
  } finally {
    await api.close();
  }
});

Deno.test("200 concurrent claims of one ticket: one 200, 199 409s naming the winner, one claim event", async () => {
  const api = await startApiServer();
  try {
    const supervisor = await api.token({ sub: "sue", role: "supervisor" });
    const created = await call(`${api.url}/v1/tickets`, supervisor, "POST", {
      subject: "Contested",
      body: "Everyone wants this one.",
    });
    const id = created.body.id as string;
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => api.token({ sub: `agent${i}` })),
    );
    const results = await Promise.all(
      tokens.map((token) => call(`${api.url}/v1/tickets/${id}/claim`, token, "POST")),
    );
    const winners = results.filter((r) => r.status === 200);
    assertEquals(winners.length, 1);
    const winner = winners[0].body.assignee as string;
    const losers = results.filter((r) => r.status === 409);
    assertEquals(losers.length, 199);
    for (const loser of losers) {
      const error = loser.body.error as { code: string; details: { owner: string } };
      assertEquals([error.code, error.details.owner], ["already_claimed", winner]);
    }
    const history = await call(`${api.url}/v1/tickets/${id}/events?limit=200`, supervisor, "GET");
    const claims = (history.body.items as { type: string; data: { via?: string } }[])
      .filter((e) => e.type === "assigned");
    assertEquals(claims.length, 1);
  } finally {
    await api.close();
  }
});

Deno.test("bad input gets the right status and code, and the server keeps serving", async () => {
  const api = await startApiServer();
  try {
    const alice = await api.token({ sub: "alice" });
    const other = await api.token({ sub: "mallory", tenant: "globex" });
    const url = `${api.url}/v1/tickets`;
    const created = await call(url, alice, "POST", { subject: "Mine", body: "acme's ticket" });
    const id = created.body.id as string;
    const expired = await signToken(
      "test-secret-0123456789abcdef0123456789",
      {
        sub: "alice",
        tenant: "acme",
        role: "agent",
      },
      1,
      { now: Date.now() - 60_000 },
    );
    const forged = await signToken("not-the-secret-000000000000000000000000", {
      sub: "alice",
      tenant: "acme",
      role: "admin",
    }, 600);

    const cases: [
      string,
      Promise<{ status: number; body: Record<string, unknown> }>,
      number,
      string,
    ][] = [
      ["malformed json", call(url, alice, "POST", "{not json"), 400, "malformed_json"],
      ["wrong type", call(url, alice, "POST", { subject: 42, body: "x" }), 400, "validation"],
      [
        "subject too long",
        call(url, alice, "POST", { subject: "s".repeat(201), body: "x" }),
        400,
        "validation",
      ],
      [
        "oversized body",
        call(url, alice, "POST", { subject: "big", body: "x".repeat(70_000) }),
        413,
        "payload_too_large",
      ],
      ["unknown id", call(`${url}/nosuchticket`, alice, "GET"), 404, "not_found"],
      ["unknown id command", call(`${url}/nosuchticket/claim`, alice, "POST"), 404, "not_found"],
      ["another tenant's id", call(`${url}/${id}`, other, "GET"), 404, "not_found"],
      ["another tenant's claim", call(`${url}/${id}/claim`, other, "POST"), 404, "not_found"],
      ["another tenant's history", call(`${url}/${id}/events`, other, "GET"), 404, "not_found"],
      ["expired token", call(url, expired, "GET"), 401, "unauthorized"],
      ["forged token", call(url, forged, "GET"), 401, "unauthorized"],
      ["no token", call(url, null, "GET"), 401, "unauthorized"],
      ["bad cursor", call(`${url}?cursor=nonsense`, alice, "GET"), 400, "validation"],
    ];
    for (const [name, pending, status, code] of cases) {
      const { status: got, body } = await pending;
      assertEquals([name, got, (body.error as { code: string }).code], [name, status, code]);
    }
    const field = (await call(url, alice, "POST", { subject: "", body: "x" })).body.error as {
      field: string;
    };
    assertEquals(field.field, "subject");
    const still = await call(`${url}/${id}`, alice, "GET");
    assertEquals([still.status, still.body.subject], [200, "Mine"]);
  } finally {
    await api.close();
  }
});

Deno.test("Idempotency-Key: a retried create and a retried command return the original result", async () => {
  const api = await startApiServer();
  try {
    const alice = await api.token({ sub: "alice" });
    const body = { subject: "Once", body: "only once" };
    const first = await call(`${api.url}/v1/tickets`, alice, "POST", body, {
      "idempotency-key": "k-1",
    });
    const again = await call(`${api.url}/v1/tickets`, alice, "POST", body, {
      "idempotency-key": "k-1",
    });
    assertEquals([first.status, again.status], [201, 201]);
    assertEquals(again.body, first.body);
    const id = first.body.id as string;
    const comment = { body: "hello" };
    const c1 = await call(`${api.url}/v1/tickets/${id}/comments`, alice, "POST", comment, {
      "idempotency-key": "c-1",
    });
    const c2 = await call(`${api.url}/v1/tickets/${id}/comments`, alice, "POST", comment, {
      "idempotency-key": "c-1",
    });
    assertEquals(c2.body, c1.body);
    const history = await call(`${api.url}/v1/tickets/${id}/events`, alice, "GET");
    assertEquals(
      (history.body.items as { type: string }[]).filter((e) => e.type === "commented").length,
      1,
    );
    const list = await call(`${api.url}/v1/tickets`, alice, "GET");
    assertEquals((list.body.items as unknown[]).length, 1);
  } finally {
    await api.close();
  }
});

Deno.test("ops endpoints: health, readiness, metrics with runtime figures, openapi", async () => {
  const api = await startApiServer();
  try {
    const alice = await api.token({ sub: "alice" });
    await call(`${api.url}/v1/tickets`, alice, "POST", { subject: "m", body: "m" });
    assertEquals(await fetch(`${api.url}/healthz`).then((r) => (r.body?.cancel(), r.status)), 200);
    assertEquals(await fetch(`${api.url}/readyz`).then((r) => (r.body?.cancel(), r.status)), 200);
    const metrics = await fetch(`${api.url}/metrics`).then((r) => r.text());
    for (
      const name of [
        "sb_active_actors",
        "sb_mailbox_depth",
        "sb_actor_turn_seconds",
        "sb_commit_batch_size",
        "sb_commit_batch_seconds",
      ]
    ) {
      assertMatch(metrics, new RegExp(`^${name}`, "m"));
    }
    assertMatch(metrics, /^sb_active_actors\{kind="ticket"\} 1$/m);
    const openapi = await fetch(`${api.url}/v1/openapi.json`).then((r) => r.json());
    assert(openapi.paths["/v1/tickets"]);
  } finally {
    await api.close();
  }
});

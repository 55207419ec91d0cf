// One behavioural suite run over both transports: NATS (the real server) and
// the in-process bus, so standalone and unit tests see what a cluster sees.
import { connect as connectRaw, ServiceErrorHeader } from "nats";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { connectNatsTransport, NatsTransport } from "../cluster/transport/nats_transport.ts";
import {
  NoRespondersError,
  type Transport,
  TransportRemoteError,
  TransportTimeoutError,
  TransportUnavailableError,
} from "../cluster/transport/transport.ts";
import { NatsServer } from "./_support/nats_server.ts";
import { NATS_URL, uniqueName } from "./_support/services.ts";

/** Two transports on one bus, with the log lines they wrote. */
interface Pair extends AsyncDisposable {
  a: Transport;
  b: Transport;
  logs: string[];
}

/** A bus the test may take down and bring back. */
interface Outage {
  down(): Promise<void>;
  up(): Promise<void>;
}

interface Implementation {
  name: string;
  /** Two transports on the shared bus. */
  open(): Promise<Pair>;
  /** Two transports on a bus of their own, so taking it down disturbs no other test. */
  openIsolated(): Promise<Pair & Outage>;
}

const implementations: Implementation[] = [
  {
    name: "nats",
    open: () => natsPair(NATS_URL),
    async openIsolated() {
      const server = await NatsServer.start();
      const pair = await natsPair(server.url);
      return {
        ...pair,
        down: async () => {
          await server.stop();
          await until(() => !pair.a.connected && !pair.b.connected);
        },
        up: async () => {
          await server.restart();
          await until(() => pair.a.connected && pair.b.connected);
        },
        async [Symbol.asyncDispose]() {
          await pair[Symbol.asyncDispose]();
          await server.stop();
        },
      };
    },
  },
  {
    name: "in-process",
    open: () => Promise.resolve(busPair()),
    openIsolated: () => Promise.resolve(busPair()),
  },
];

for (const { name, open, openIsolated } of implementations) {
  Deno.test(`${name}: request/reply round-trips MessagePack values`, async () => {
    await using pair = await open();
    const subject = `${uniqueName("sbt")}.echo`;
    pair.b.serve(subject, (payload) => Promise.resolve({ echo: payload }));
    await settle(pair);
    const value = {
      nested: { list: [1, -2, 3.5, 2 ** 40, "ünïcode", null, true, [[]]], empty: {} },
      bytes: new Uint8Array([0, 1, 127, 128, 255]),
      max: Number.MAX_SAFE_INTEGER,
      min: -(2 ** 31),
      tiny: 1e-300,
    };
    assertEquals(await pair.a.request(subject, value, { timeoutMs: 2000 }), { echo: value });
  });

  Deno.test(`${name}: headers reach request and message handlers`, async () => {
    await using pair = await open();
    const prefix = uniqueName("sbt");
    const headers = {
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "x-tenant": "acme",
    };
    pair.b.serve(`${prefix}.who`, (_, seen) => Promise.resolve(seen));
    const published = Promise.withResolvers<Record<string, string>>();
    pair.b.subscribe(`${prefix}.note`, (_, seen) => published.resolve(seen));
    await settle(pair);

    assertEquals(await pair.a.request(`${prefix}.who`, 1, { timeoutMs: 2000, headers }), headers);
    pair.a.publish(`${prefix}.note`, 1, headers);
    assertEquals(await published.promise, headers);
  });

  Deno.test(`${name}: a subject nobody serves rejects with NoRespondersError`, async () => {
    await using pair = await open();
    const error = await assertRejects(() =>
      pair.a.request(`${uniqueName("sbt")}.nobody`, {}, { timeoutMs: 5000 })
    );
    assertInstanceOf(error, NoRespondersError);
  });

  Deno.test(`${name}: a late reply rejects with TransportTimeoutError`, async () => {
    await using pair = await open();
    const subject = `${uniqueName("sbt")}.slow`;
    const release = Promise.withResolvers<void>();
    pair.b.serve(subject, async () => {
      await release.promise;
      return "late";
    });
    await settle(pair);
    try {
      await assertRejects(
        () => pair.a.request(subject, {}, { timeoutMs: 100 }),
        TransportTimeoutError,
      );
    } finally {
      release.resolve();
    }
  });

  Deno.test(`${name}: a throwing handler answers TransportRemoteError and keeps serving`, async () => {
    await using pair = await open();
    const subject = `${uniqueName("sbt")}.flaky`;
    pair.b.serve(subject, (payload) => {
      if (payload === "fail") throw new Error("boom\nat line two");
      return Promise.resolve(`ok ${payload}`);
    });
    await settle(pair);
    const error = await assertRejects(
      () => pair.a.request(subject, "fail", { timeoutMs: 2000 }),
      TransportRemoteError,
    );
    assertStringIncludes(error.message, "boom");
    assertEquals(await pair.a.request(subject, "again", { timeoutMs: 2000 }), "ok again");
    assert(pair.logs.some((line) => line.includes("a request handler failed")));
  });

  Deno.test(`${name}: a queue group hands each request to one member`, async () => {
    await using pair = await open();
    const subject = `${uniqueName("sbt")}.work`;
    const served = { a: 0, b: 0 };
    for (const member of ["a", "b"] as const) {
      pair[member].serve(subject, () => Promise.resolve(++served[member]), { queue: "workers" });
    }
    await settle(pair);
    const requests = 40;
    await Promise.all(
      Array.from({ length: requests }, () => pair.a.request(subject, null, { timeoutMs: 2000 })),
    );
    assertEquals(served.a + served.b, requests);
    assert(served.a > 0 && served.b > 0, "both members served");
  });

  Deno.test(`${name}: subscribers get every publish in order until they close`, async () => {
    await using pair = await open();
    const prefix = uniqueName("sbt");
    const exact: unknown[] = [];
    const wildcard: unknown[] = [];
    const local = pair.a.subscribe(`${prefix}.events.tick`, (payload) => exact.push(payload));
    pair.b.subscribe(`${prefix}.events.*`, (payload) => wildcard.push(payload));
    await settle(pair);

    for (let i = 1; i <= 10; i++) pair.a.publish(`${prefix}.events.tick`, i);
    await until(() => exact.length === 10 && wildcard.length === 10);
    const sent = Array.from({ length: 10 }, (_, i) => i + 1);
    assertEquals(exact, sent);
    assertEquals(wildcard, sent);

    // The publisher's own connection carries the unsubscribe ahead of the
    // next publish, so the closed subscription cannot see it.
    local.close();
    pair.a.publish(`${prefix}.events.tick`, 11);
    await until(() => wildcard.length === 11);
    assertEquals(exact.length, 10);
  });

  Deno.test(`${name}: an aborted signal rejects the request with its reason`, async () => {
    await using pair = await open();
    const subject = `${uniqueName("sbt")}.hang`;
    const release = Promise.withResolvers<void>();
    pair.b.serve(subject, () => release.promise);
    await settle(pair);
    try {
      const controller = new AbortController();
      const pending = pair.a.request(subject, {}, { timeoutMs: 5000, signal: controller.signal });
      controller.abort();
      const error = await assertRejects(() => pending);
      assertEquals(error instanceof Error && error.name, "AbortError");
      await assertRejects(
        () => pair.a.request(subject, {}, { timeoutMs: 5000, signal: AbortSignal.abort("gone") }),
      );
    } finally {
      release.resolve();
    }
  });

  Deno.test(`${name}: a closed transport fails requests as unavailable`, async () => {
    await using pair = await open();
    await pair.a.close();
    await pair.a.close();
    assert(!pair.a.connected);
    await assertRejects(
      () => pair.a.request(`${uniqueName("sbt")}.any`, {}, { timeoutMs: 1000 }),
      TransportUnavailableError,
    );
    pair.a.publish(`${uniqueName("sbt")}.any`, {});
  });

  Deno.test(`${name}: an outage fails fast and everything resumes after it`, async () => {
    await using pair = await openIsolated();
    const subject = `${uniqueName("sbt")}.svc`;
    const release = Promise.withResolvers<void>();
    pair.b.serve(subject, async (payload) => {
      if (payload === "hang") await release.promise;
      return payload;
    });
    await settle(pair);
    const statuses: boolean[] = [];
    pair.a.onStatus((connected) => statuses.push(connected));
    assertEquals(await pair.a.request(subject, "before", { timeoutMs: 2000 }), "before");

    try {
      const inFlight = pair.a.request(subject, "hang", { timeoutMs: 10_000 });
      inFlight.catch(() => {});
      await pair.down();
      await assertRejects(() => inFlight, TransportUnavailableError);
      await assertRejects(
        () => pair.a.request(subject, "during", { timeoutMs: 10_000 }),
        TransportUnavailableError,
      );
      pair.a.publish(subject, "dropped");
    } finally {
      release.resolve();
    }

    await pair.up();
    await settle(pair);
    assertEquals(statuses, [false, true]);
    assertEquals(await pair.a.request(subject, "after", { timeoutMs: 2000 }), "after");
  });

  Deno.test(`${name}: request/reply round-trip on loopback (printed)`, async () => {
    await using pair = await open();
    const subject = `${uniqueName("sbt")}.ping`;
    pair.b.serve(subject, (payload) => Promise.resolve(payload));
    await settle(pair);
    const payload = { kind: "ticket", tenant: "acme", id: "T-1", n: 1 };
    for (let i = 0; i < 500; i++) await pair.a.request(subject, payload, { timeoutMs: 2000 });
    const samples: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const start = performance.now();
      await pair.a.request(subject, payload, { timeoutMs: 2000 });
      samples.push(performance.now() - start);
    }
    samples.sort((x, y) => x - y);
    const at = (q: number) => Math.round(samples[Math.floor(q * (samples.length - 1))] * 1000);
    console.log(
      `${name} request/reply round-trip over ${samples.length} sequential requests: ` +
        `p50 ${at(0.5)} µs, p90 ${at(0.9)} µs, p99 ${at(0.99)} µs`,
    );
  });
}

Deno.test("nats: undecodable bytes are skipped, never fatal", async () => {
  await using pair = await natsPair(NATS_URL);
  const prefix = uniqueName("sbt");
  const received: unknown[] = [];
  pair.b.subscribe(`${prefix}.in`, (payload) => received.push(payload));
  pair.b.serve(`${prefix}.svc`, (payload) => Promise.resolve(payload));
  await settle(pair);
  const raw = await connectRaw({ servers: NATS_URL });
  try {
    // A reserved MessagePack byte, an empty body, an array cut short.
    for (const junk of [[0xc1], [], [0x92, 0x01]]) {
      raw.publish(`${prefix}.in`, new Uint8Array(junk));
    }
    pair.a.publish(`${prefix}.in`, "valid");
    await until(() => received.length === 1);
    assertEquals(received, ["valid"]);
    assertEquals(pair.logs.filter((line) => line.includes("undecodable message")).length, 3);

    const reply = await raw.request(`${prefix}.svc`, new Uint8Array([0xc1]), { timeout: 2000 });
    assertEquals(reply.headers?.get(ServiceErrorHeader), "undecodable request");
    assertEquals(
      await pair.a.request(`${prefix}.svc`, "still up", { timeoutMs: 2000 }),
      "still up",
    );

    // A raw server answering junk: the requester gets an error, not a crash.
    raw.subscribe(`${prefix}.junk`, { callback: (_, msg) => msg.respond(new Uint8Array([0xc1])) });
    await raw.flush();
    await assertRejects(
      () => pair.a.request(`${prefix}.junk`, {}, { timeoutMs: 2000 }),
      TransportRemoteError,
    );
  } finally {
    await raw.close();
  }
});

Deno.test("nats: publishes of separate callbacks in one turn reach the client together, in order", async () => {
  const raw = await connectRaw({ servers: NATS_URL });
  // Batches of the client's publish calls, one per microtask checkpoint: the
  // client writes each checkpoint's publishes to its socket at once.
  const batches: string[][] = [];
  let open = false;
  const publish = raw.publish.bind(raw);
  raw.publish = (subject, ...rest) => {
    if (!open) {
      open = true;
      batches.push([]);
      queueMicrotask(() => open = false);
    }
    batches.at(-1)!.push(subject);
    return publish(subject, ...rest);
  };
  const transport = new NatsTransport(raw, createLogger({}, () => {}));
  try {
    const prefix = uniqueName("sbt");
    const received: unknown[] = [];
    const subscriber = await connectRaw({ servers: NATS_URL });
    subscriber.subscribe(`${prefix}.>`, { callback: (_, msg) => received.push(msg.subject) });
    await subscriber.flush();
    // Ten timer callbacks due at once, as ten HTTP requests in one turn are.
    await new Promise<void>((done) => {
      for (let i = 0; i < 10; i++) {
        setTimeout(() => {
          transport.publish(`${prefix}.m${i}`, i);
          if (i === 9) done();
        }, 0);
      }
    });
    await until(() => received.length === 10);
    assertEquals(batches.length, 1, `one write for the turn, got ${batches.length}`);
    assertEquals(received, Array.from({ length: 10 }, (_, i) => `${prefix}.m${i}`));
    await subscriber.close();
  } finally {
    await transport.close();
  }
});

async function natsPair(url: string): Promise<Pair> {
  const logs: string[] = [];
  const logger = createLogger({}, (line) => logs.push(line));
  const a = await connectNatsTransport({ url, name: "test-a", logger });
  const b = await connectNatsTransport({ url, name: "test-b", logger });
  return {
    a,
    b,
    logs,
    async [Symbol.asyncDispose]() {
      await Promise.all([a.close(), b.close()]);
    },
  };
}

function busPair(): Pair & Outage {
  const logs: string[] = [];
  const logger = createLogger({}, (line) => logs.push(line));
  const bus = new InProcessBus();
  const a = bus.connect({ name: "test-a", logger });
  const b = bus.connect({ name: "test-b", logger });
  return {
    a,
    b,
    logs,
    down: () => Promise.resolve(bus.setOnline(false)),
    up: () => Promise.resolve(bus.setOnline(true)),
    async [Symbol.asyncDispose]() {
      await Promise.all([a.close(), b.close()]);
    },
  };
}

// A subscription made on one connection is live for publishers on another only
// once the server has it. A connection's messages reach the server in order,
// so a request a transport answers itself proves its earlier ones arrived.
async function settle(pair: Pair): Promise<void> {
  for (const transport of [pair.a, pair.b]) {
    const subject = `${uniqueName("sbt")}.settle`;
    const served = transport.serve(subject, () => Promise.resolve(null));
    await transport.request(subject, null, { timeoutMs: 2000 });
    served.close();
  }
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

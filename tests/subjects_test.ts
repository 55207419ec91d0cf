// NATS subjects: every tenant and id is one injectively escaped token, so
// dots and wildcards in names neither alias nor break subjects.
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import fc from "fast-check";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import { subjects, subjectToken } from "../cluster/transport/subjects.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { ConversationHub } from "../edge/live/conversation_hub.ts";
import { Presence } from "../edge/live/presence.ts";
import { crdtSubjects } from "../cluster/crdt/_subjects.ts";
import { createSharedState } from "../cluster/process/shared_state.ts";
import { NATS_URL, uniqueName } from "./_support/services.ts";

Deno.test("subjectToken is injective and never yields a separator, wildcard or space", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
      for (const token of [subjectToken(a), subjectToken(b)]) {
        assert(/^[A-Za-z0-9_:~-]+$/.test(token), token);
      }
      return (subjectToken(a) === subjectToken(b)) === (a === b);
    }),
    { numRuns: 5000 },
  );
  // Strings made of the characters that need escaping, where collisions would hide.
  const tricky = fc.string({ unit: fc.constantFrom(".", "~", "2", "e", "*", ">", " ", "a", "") });
  fc.assert(
    fc.property(tricky, tricky, (a, b) => (subjectToken(a) === subjectToken(b)) === (a === b)),
  );
  assertEquals(subjectToken("eu.x"), "eu~2ex");
  assertEquals(subjectToken("acme"), "acme");
});

Deno.test("subjects: a dot in a tenant or id no longer aliases another actor's subject", () => {
  const names = subjects("sb");
  assertNotEquals(names.conversation("acme", "eu.x"), names.conversation("acme.eu", "x"));
  assertNotEquals(names.signals("acme", "eu.x"), names.signals("acme.eu", "x"));
  assertNotEquals(names.sessions("acme.eu"), names.sessions("acme"));
  const presence = crdtSubjects("sb", "presence");
  assertEquals(presence.deltas("acme.eu").split(".").length, presence.allDeltas.split(".").length);
});

Deno.test("subjects on NATS: presence and pushes of tenant acme.eu reach another edge, unaliased", async () => {
  const cluster = uniqueName("sbt");
  const logger = createLogger({ test: true }, () => {});
  const [busA, busB] = await Promise.all(
    ["a", "b"].map((edge) =>
      connectNatsTransport({ url: NATS_URL, name: `${cluster}-${edge}`, logger })
    ),
  );
  const [sharedA, sharedB] = [busA, busB].map((transport, i) => {
    const shared = createSharedState({
      transport,
      prefix: cluster,
      replica: `e${i}`,
      watchAll: false,
    });
    shared.start();
    return shared;
  });
  const presenceA = new Presence({ shared: sharedA, edge: "edge-a" });
  const presenceB = new Presence({ shared: sharedB, edge: "edge-b" });
  const hubB = new ConversationHub(busB, cluster);
  const names = subjects(cluster);
  const pushes: { seq?: number; alias?: boolean }[] = [];
  const arrived = (seq: number) => pushes.some((push) => push.seq === seq);
  const stop = hubB.watch("acme.eu", "x", (update) => pushes.push(update as { seq?: number }));
  try {
    // Each round sends the alias first; one connection delivers in order, so
    // in a round wholly after the subscription took effect, an alias would
    // arrive before the real push.
    const round = async (seq: number) => {
      while (!arrived(seq)) {
        busA.publish(names.conversation("acme", "eu.x"), { seq: -seq, alias: true });
        busA.publish(names.conversation("acme.eu", "x"), { seq });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await round(1);
    pushes.length = 0;
    await round(2);
    assertEquals(pushes.filter((push) => push.alias), []);
    assert(arrived(2));

    assertEquals(await presenceB.onlineAgents("acme.eu"), 0);
    presenceA.open("acme.eu");
    presenceA.connect("acme.eu", "alice");
    while (await presenceB.onlineAgents("acme.eu") === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(await presenceB.onlineAgents("acme.eu"), 1);
    assertEquals(await presenceB.onlineAgents("acme"), 0);
  } finally {
    stop();
    presenceA.close();
    presenceB.close();
    sharedA.close();
    sharedB.close();
    await Promise.all([busA.close(), busB.close()]);
  }
});

import { assert, assertEquals } from "@std/assert";
import { signToken } from "../edge/auth/auth.ts";
import { readSecret } from "../edge/auth/secret.ts";
import { call } from "./_support/api_server.ts";
import { ServiceProcess } from "./_support/process.ts";

// Standalone means no external service: blank out whatever the environment has.
function standaloneEnv(dataDir: string): Record<string, string> {
  return { SB_DATA_DIR: dataDir, DATABASE_URL: "", NATS_URL: "", REDIS_URL: "", SB_JWT_SECRET: "" };
}

Deno.test("standalone: kill -9 mid-stream, restart: every change answered 2xx is there", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sb-standalone-" });
  let process = await ServiceProcess.start({ env: standaloneEnv(dataDir) });
  try {
    assert(process.logs.some((l) => l.message === "generated a JWT secret"));
    const secret = (await readSecret(dataDir))!;
    const agent = await signToken(secret, { sub: "alice", tenant: "acme", role: "agent" }, 600);
    const acked = new Map<string, { claimed: boolean; comments: number }>();
    let stop = false;
    const workers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const url = process.url;
        try {
          const created = await call(`${url}/v1/tickets`, agent, "POST", {
            subject: "s",
            body: "b",
          });
          if (created.status !== 201) continue;
          const id = created.body.id as string;
          acked.set(id, { claimed: false, comments: 0 });
          if ((await call(`${url}/v1/tickets/${id}/claim`, agent, "POST")).status === 200) {
            acked.get(id)!.claimed = true;
          }
          if (
            (await call(`${url}/v1/tickets/${id}/comments`, agent, "POST", { body: "hi" }))
              .status === 200
          ) {
            acked.get(id)!.comments++;
          }
        } catch {
          // The process is being killed: unanswered requests promise nothing.
        }
      }
    });
    while (acked.size < 30) await new Promise((resolve) => setTimeout(resolve, 20));
    process.kill("SIGKILL");
    stop = true;
    await Promise.all(workers);
    await process.exited();

    process = await ServiceProcess.start({ env: standaloneEnv(dataDir) });
    assert(process.logs.some((l) => l.message === "using the stored JWT secret"));
    for (const [id, expected] of acked) {
      const ticket = await call(`${process.url}/v1/tickets/${id}`, agent, "GET");
      assertEquals(ticket.status, 200, `ticket ${id} acknowledged before the kill is gone`);
      if (expected.claimed) assertEquals(ticket.body.assignee, "alice");
      assert((ticket.body.comments as number) >= expected.comments);
    }
  } finally {
    process.kill("SIGKILL");
    await process.exited();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("standalone: an SLA deadline scheduled before a restart fires after it, once", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sb-standalone-" });
  const env = { ...standaloneEnv(dataDir), SB_JWT_SECRET: "sla-test-secret-0123456789abcdef" };
  let process = await ServiceProcess.start({ env });
  try {
    const admin = await signToken(
      env.SB_JWT_SECRET,
      { sub: "root", tenant: "acme", role: "admin" },
      600,
    );
    const settings = await call(`${process.url}/v1/admin/settings`, admin, "POST", {
      sla: { urgent: { firstResponseMinutes: 0.05, resolutionMinutes: 60 } },
    });
    assertEquals(settings.status, 200);
    const created = await call(`${process.url}/v1/tickets`, admin, "POST", {
      subject: "Down",
      body: "Everything is down",
      priority: "urgent",
    });
    assertEquals(created.status, 201);
    const id = created.body.id as string;
    process.kill("SIGKILL");
    await process.exited();

    process = await ServiceProcess.start({ env });
    const deadline = Date.now() + 15_000;
    let types: string[] = [];
    while (Date.now() < deadline) {
      const history = await call(`${process.url}/v1/tickets/${id}/events`, admin, "GET");
      types = (history.body.items as { type: string }[]).map((e) => e.type);
      if (types.includes("sla_breached")) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Give a duplicate delivery (a later poll) time to show itself.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const history = await call(`${process.url}/v1/tickets/${id}/events`, admin, "GET");
    types = (history.body.items as { type: string }[]).map((e) => e.type);
    assertEquals(types.filter((t) => t === "sla_breached").length, 1, types.join(","));
    assertEquals(types.filter((t) => t === "escalated").length, 1, types.join(","));
    const ticket = await call(`${process.url}/v1/tickets/${id}`, admin, "GET");
    assertEquals(ticket.body.escalationLevel, 1);
  } finally {
    process.kill("SIGKILL");
    await process.exited();
    await Deno.remove(dataDir, { recursive: true });
  }
});

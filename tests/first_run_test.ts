// What a newcomer types first, on a fresh clone (README "Run it").
import { assert, assertEquals } from "@std/assert";
import { freshClone } from "./_support/fresh_clone.ts";
import { ServiceProcess } from "./_support/process.ts";

// Standalone: blank out whatever services the environment names.
const standalone = { DATABASE_URL: "", NATS_URL: "", REDIS_URL: "", SB_JWT_SECRET: "" };

async function healthz(process: ServiceProcess): Promise<number> {
  const response = await fetch(`${process.url}/healthz`);
  await response.body?.cancel();
  return response.status;
}

async function stop(process: ServiceProcess): Promise<Deno.CommandStatus> {
  process.kill("SIGTERM");
  return await process.exited();
}

Deno.test("first run: deno task start creates a data dir two levels deep and serves /healthz", async () => {
  const clone = await freshClone();
  try {
    const process = await ServiceProcess.start({
      command: [Deno.execPath(), "task", "start"],
      cwd: clone,
      env: { ...standalone, SB_DATA_DIR: "state/switchboard" },
    });
    try {
      assertEquals(await healthz(process), 200);
    } finally {
      assertEquals((await stop(process)).code, 0, process.logText());
    }
    assert((await Deno.stat(`${clone}/state/switchboard/pg`)).isDirectory);
    assert((await Deno.stat(`${clone}/state/switchboard/jwt-secret`)).isFile);
  } finally {
    await Deno.remove(clone, { recursive: true });
  }
});

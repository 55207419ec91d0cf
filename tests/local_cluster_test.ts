// `deno task cluster`, run for real against the test NATS and Postgres.
import { assert, assertEquals, assertMatch } from "@std/assert";
import { TextLineStream } from "../cluster/process/text_line_stream.ts";
import { CLUSTER_SECRET } from "./_support/cluster.ts";
import { DATABASE_URL, dropSchema, NATS_URL, uniqueName } from "./_support/services.ts";

const root = new URL("../", import.meta.url).pathname;

function run(args: string[], env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["task", "cluster", ...args],
    cwd: root,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function alive(pid: number): Promise<boolean> {
  return await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
}

Deno.test("deno task cluster: 2 nodes and an edge with prefixed logs; SIGINT stops them all and exits 0", async () => {
  const schema = uniqueName("sb_test");
  const child = run(["--nodes", "2", "--edges", "1"], {
    NATS_URL,
    DATABASE_URL,
    REDIS_URL: "",
    SB_CLUSTER: uniqueName("sbt"),
    SB_DB_SCHEMA: schema,
    SB_JWT_SECRET: CLUSTER_SECRET,
    SB_HTTP_PORT: "0",
  });
  const stderr = new Response(child.stderr).text();
  const lines: string[] = [];
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    ).getReader();
    let edgeUrl: string | undefined;
    while (!edgeUrl) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`exited before its edges were ready:\n${lines.join("\n")}`);
      lines.push(value);
      edgeUrl = value.match(/^cluster \| edges: (\S+)$/)?.[1];
    }
    const pids = lines.flatMap((line) => [...line.matchAll(/pid (\d+)/g)].map((m) => +m[1]));
    assertEquals(pids.length, 3, lines.join("\n"));
    for (const id of ["node-1", "node-2", "edge-1"]) {
      assert(lines.some((line) => line.startsWith(`${id}  | `)), `no line from ${id}`);
    }
    const health = await fetch(`${edgeUrl}/healthz`);
    await health.body?.cancel();
    assertEquals(health.status, 200);

    child.kill("SIGINT");
    const rest = (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) lines.push(r.value);
    })();
    const status = await child.status;
    await rest;
    assertEquals(status.code, 0, lines.join("\n"));
    for (const pid of pids) assert(!(await alive(pid)), `child ${pid} is still running`);
    for (const id of ["node-1", "node-2", "edge-1"]) {
      assertMatch(lines.join("\n"), new RegExp(`cluster \\| ${id} stopped \\(code 0\\)`));
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // it exited, as it should have
    }
    await child.status;
    await stderr;
    await dropSchema(schema);
  }
});

Deno.test("deno task cluster: refuses bad flags and a missing DATABASE_URL before it starts anything", async () => {
  const env = { NATS_URL, DATABASE_URL: "", SB_JWT_SECRET: CLUSTER_SECRET };
  for (
    const [args, message] of [
      [["--nodes", "0"], /--nodes must be at least 1/],
      [["--bogus"], /usage: deno task cluster/],
      [[], /DATABASE_URL must name the Postgres/],
    ] as const
  ) {
    const output = await run([...args], env).output();
    assertEquals(output.code, 2);
    assertMatch(new TextDecoder().decode(output.stderr), message);
    assertEquals(new TextDecoder().decode(output.stdout), "", "no process was started");
  }
});

// What a newcomer types first, on a fresh clone (README "Run it").
import { assert, assertEquals, assertMatch } from "@std/assert";
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

// The wrapper with no deno on PATH and an empty HOME, as on a machine with
// nothing but npm. Two caches are kept so a run costs no download: Deno's
// module cache (DENO_DIR) and the pinned Deno itself, SB_TEST_DENO_CACHE or
// else the default ~/.cache/sb-deno (installed from npm by the first run on a
// machine; the install path alone is tested below with a stand-in npm).
const home = Deno.env.get("HOME")!;
const denoDir = JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
      .output())
      .stdout,
  ),
).denoDir as string;

async function nothingButNpm(path: string): Promise<Record<string, string>> {
  return {
    PATH: path,
    HOME: await Deno.makeTempDir({ prefix: "sb-home-" }),
    DENO_DIR: denoDir,
  };
}

Deno.test("first run: ./sb start with no deno on PATH and an empty HOME serves /healthz", async () => {
  const clone = await freshClone();
  const env = await nothingButNpm("/usr/bin:/bin");
  try {
    const process = await ServiceProcess.start({
      command: ["./sb", "start"],
      cwd: clone,
      env: {
        ...env,
        ...standalone,
        SB_DENO_CACHE: Deno.env.get("SB_TEST_DENO_CACHE") ?? `${home}/.cache/sb-deno`,
      },
      readyTimeoutMs: 120_000,
    });
    try {
      assertEquals(await healthz(process), 200);
    } finally {
      assertEquals((await stop(process)).code, 0, process.logText());
    }
  } finally {
    await Deno.remove(clone, { recursive: true });
    await Deno.remove(env.HOME, { recursive: true });
  }
});

// A stand-in npm that "installs" the running deno the way npm does when it
// skips the package's postinstall: only in the platform package.
const fakeNpm = `#!/usr/bin/env bash
echo "$*" >> "$FAKE_NPM_LOG"
[[ $1 == install && $2 == --prefix ]] || exit 64
mkdir -p "$3/node_modules/@deno/linux-x64-glibc"
ln -s "$REAL_DENO" "$3/node_modules/@deno/linux-x64-glibc/deno"
`;
const oldDeno = `#!/usr/bin/env bash
echo "deno 1.46.0 (stable, release, x86_64-unknown-linux-gnu)"
`;

async function runWrapper(bin: Record<string, string>, path: string) {
  const dir = await Deno.makeTempDir({ prefix: "sb-wrapper-" });
  await Deno.mkdir(`${dir}/bin`);
  for (const [name, script] of Object.entries(bin)) {
    await Deno.writeTextFile(`${dir}/bin/${name}`, script, { mode: 0o755 });
  }
  const env = await nothingButNpm(`${dir}/bin:${path}`);
  const output = await new Deno.Command(new URL("../sb", import.meta.url).pathname, {
    args: ["token", "--tenant", "demo", "--role", "agent", "--sub", "alice"],
    env: {
      ...env,
      SB_DENO_CACHE: `${dir}/cache`,
      FAKE_NPM_LOG: `${dir}/npm.log`,
      REAL_DENO: Deno.execPath(),
      SB_JWT_SECRET: "wrapper-test-secret-0123456789abcdef",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const npmCalls = await Deno.readTextFile(`${dir}/npm.log`).catch(() => "");
  const linked = await Deno.realPath(`${dir}/cache/bin/deno`).catch(() => undefined);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(env.HOME, { recursive: true });
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    ...output,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
    npmCalls,
    linked,
    dir,
  };
}

Deno.test("./sb installs the pinned deno with npm when PATH has another version, and prints only the task's output", async () => {
  const run = await runWrapper({ npm: fakeNpm, deno: oldDeno }, "/usr/bin:/bin");
  assertEquals(run.code, 0, run.stderr);
  assertMatch(run.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, "stdout is the token alone");
  assertMatch(run.stderr, /is deno 1\.46\.0, not the pinned 2\.9\.6/);
  assertMatch(run.npmCalls, new RegExp(`^install --prefix ${run.dir}/cache .*deno@2\\.9\\.6\\n$`));
  assertEquals(run.linked, await Deno.realPath(Deno.execPath()));
});

Deno.test("./sb uses the pinned deno on PATH and never calls npm", async () => {
  const denoBin = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));
  const run = await runWrapper(
    { npm: '#!/bin/sh\necho "$*" >> "$FAKE_NPM_LOG"; exit 1\n' },
    `${denoBin}:/usr/bin:/bin`,
  );
  assertEquals(run.code, 0, run.stderr);
  assertMatch(run.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  assertEquals(run.npmCalls, "");
  assertEquals(run.linked, undefined);
  assert(!run.stderr.includes("sb:"), run.stderr);
});

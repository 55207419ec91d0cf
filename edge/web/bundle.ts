/**
 * The browser scripts of the widget and the console, bundled by Deno's own
 * bundler (`deno bundle`) the first time an edge needs them. The output is
 * cached on disk under the content hash of the sources and the lock file,
 * so the edges of one machine bundle once per change.
 *
 * @module
 */

const webDir = new URL("./", import.meta.url);
const root = new URL("../../", import.meta.url);

/** The entry points, by the name of the script they become (`--outdir` keeps their folders). */
const entries = {
  "widget.js": new URL("widget/widget.ts", webDir),
  "console.js": new URL("console/console.ts", webDir),
};
const outputs: Record<ScriptName, string> = {
  "widget.js": "widget/widget.js",
  "console.js": "console/console.js",
};

/** A bundled script. */
export type ScriptName = keyof typeof entries;

/** The bundled scripts and the hash they are cached under. */
export interface Bundle {
  hash: string;
  scripts: Record<ScriptName, Uint8Array<ArrayBuffer>>;
}

/** Bundle the browser scripts (or read the cached bundle of the same sources). */
export async function bundleScripts(): Promise<Bundle> {
  const hash = await sourceHash();
  const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/switchboard-web-${hash}`;
  const cached = await readScripts(dir).catch(() => null);
  if (cached) return { hash, scripts: cached };
  // Several edges may start at once: each bundles into its own directory and
  // the first rename wins.
  const work = await Deno.makeTempDir({ prefix: "switchboard-web-build-" });
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--config",
      new URL("deno.json", root).pathname,
      "--format",
      "iife",
      "--platform",
      "browser",
      "--minify",
      "--outdir",
      work,
      ...Object.values(entries).map((entry) => entry.pathname),
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    await Deno.remove(work, { recursive: true });
    throw new Error(`deno bundle failed: ${new TextDecoder().decode(stderr)}`);
  }
  const scripts = await readScripts(work);
  await Deno.rename(work, dir).catch(() => Deno.remove(work, { recursive: true }));
  return { hash, scripts };
}

async function readScripts(dir: string): Promise<Record<ScriptName, Uint8Array<ArrayBuffer>>> {
  const scripts = {} as Record<ScriptName, Uint8Array<ArrayBuffer>>;
  for (const name of Object.keys(entries) as ScriptName[]) {
    scripts[name] = await Deno.readFile(`${dir}/${outputs[name]}`);
  }
  return scripts;
}

/** SHA-256 over the web sources, the config and the lock file: what the bundle is made of. */
async function sourceHash(): Promise<string> {
  const files: string[] = [];
  for await (const path of walk(webDir.pathname)) files.push(path);
  files.sort();
  const parts: Uint8Array[] = [];
  for (
    const path of [
      ...files,
      ...["deno.json", "deno.lock"].map((f) => new URL(f, root).pathname),
    ]
  ) {
    parts.push(
      new TextEncoder().encode(path),
      await Deno.readFile(path).catch(() => new Uint8Array()),
    );
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) all.set(part, offset), offset += part.length;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir.replace(/\/$/, "")}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

// A fresh clone of this checkout in a temporary directory: the files git
// tracks or would track (not ignored), as they are in the working tree, so a
// test sees uncommitted changes too, but never ./data or other local state.
const root = new URL("../../", import.meta.url).pathname;

/** Copy the checkout into a new temporary directory and return its path. */
export async function freshClone(): Promise<string> {
  const listed = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: root,
    stdout: "piped",
  }).output();
  if (!listed.success) throw new Error("git ls-files failed");
  const dir = await Deno.makeTempDir({ prefix: "sb-clone-" });
  for (const path of new TextDecoder().decode(listed.stdout).split("\0")) {
    if (path === "") continue;
    const from = `${root}${path}`;
    // A tracked file deleted in the working tree is not in the clone.
    const info = await Deno.lstat(from).catch(() => undefined);
    if (!info?.isFile) continue;
    const to = `${dir}/${path}`;
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(from, to);
    await Deno.chmod(to, info.mode! & 0o777);
  }
  return dir;
}

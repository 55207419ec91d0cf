// The admin plugin routes at the edge: who may call them, what they send to
// a node, how a node's refusal is told, and a body past the API's default
// size for a large source.
import { assertEquals } from "@std/assert";
import { maxSourceBytes } from "../plugins/host/plugin_host.ts";
import { expectError, harness } from "./_support/scripted_backend.ts";

const admin = { sub: "root", tenant: "acme", role: "admin" as const };

Deno.test("plugin admin routes: admins only, the caller's tenant and name, a node's refusal by its code", async () => {
  const { call, backend } = harness();
  const source = `/*${"x".repeat(200 * 1024)}*/ export default {};`;
  backend.pluginAnswer = {
    ok: false,
    error: { code: "load_failed", message: "no default export", retryable: false },
  };
  const body = { name: "vip", version: "1.0.0", source, mode: "shadow" };
  await expectError(await call("POST", "/v1/admin/plugins", { token: admin, body }), 422, {
    code: "load_failed",
  });
  assertEquals(backend.pluginCalls, [[{
    op: "register",
    tenant: "acme",
    by: "root",
    name: "vip",
    version: "1.0.0",
    source,
    options: {},
    mode: "shadow",
  }, undefined]]);

  const tooLarge = { ...body, source: "x".repeat(maxSourceBytes + 1) };
  await expectError(
    await call("POST", "/v1/admin/plugins", { token: admin, body: tooLarge }),
    400,
    {
      field: "source",
    },
  );
  for (const role of ["agent", "supervisor"] as const) {
    const token = { ...admin, role };
    await expectError(await call("GET", "/v1/admin/plugins", { token }), 403, {
      code: "forbidden",
    });
  }
  await expectError(
    await call("POST", "/v1/admin/plugins/..x/activate", { token: admin, body: { version: "1" } }),
    404,
    { code: "not_found" },
  );

  backend.pluginAnswer = { ok: true, node: "n2", plugins: [] };
  const listed = await call("GET", "/v1/admin/plugins?node=n2", { token: admin });
  assertEquals(await listed.json(), { node: "n2", items: [] });
  assertEquals(backend.pluginCalls.at(-1), [{ op: "list", tenant: "acme" }, "n2"]);
  backend.pluginAnswer = {
    ok: false,
    error: { code: "unavailable", message: "no node answered", retryable: true },
  };
  const down = await call("POST", "/v1/admin/plugins/vip/rollback", { token: admin, body: {} });
  await expectError(down, 503, { code: "unavailable" });
  assertEquals(backend.pluginCalls.at(-1), [
    { op: "rollback", tenant: "acme", name: "vip" },
    undefined,
  ]);
});

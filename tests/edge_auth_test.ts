import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "@std/assert";
import { SignJWT } from "jose";
import {
  AuthError,
  type AuthFailure,
  bearerToken,
  signToken,
  verifyOpsToken,
  verifyToken,
} from "../edge/auth/auth.ts";
import { loadOrCreateSecret, readSecret, secretPath } from "../edge/auth/secret.ts";
import { tokenCommand, TokenCommandError } from "../edge/auth/token_cli.ts";

const secret = "a-secret-that-is-long-enough-for-hs256";
const now = Date.UTC(2030, 0, 1);
const alice = { sub: "alice", tenant: "demo", role: "agent" } as const;

async function refusal(token: string, reason: AuthFailure, message: RegExp): Promise<void> {
  const error = await assertRejects(() => verifyToken(secret, token, { now }), AuthError);
  assertEquals(error.code, "unauthorized");
  assertEquals(error.reason, reason);
  assertMatch(error.message, message);
}

function base64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function rawToken(header: Record<string, unknown>, claims: Record<string, unknown>) {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string })
    .sign(new TextEncoder().encode(secret));
}

Deno.test("a signed token verifies to its principal", async () => {
  const token = await signToken(secret, alice, 60, { now });
  assertEquals(await verifyToken(secret, token, { now: now + 59_000 }), {
    ...alice,
    verified: true,
    exp: now / 1000 + 60,
  });
});

Deno.test("a visitor token says whether its identity is verified: only anon: ids are not", async () => {
  for (const [sub, verified] of [["cust-42", true], ["anon:x1", false]] as const) {
    const token = await signToken(secret, { sub, tenant: "demo", role: "visitor" }, 60, { now });
    const principal = await verifyToken(secret, token, { now });
    assertEquals(principal.verified, verified);
    const [, payload] = token.split(".");
    assertEquals(JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))).vrf, verified);
  }
});

Deno.test("visitor tokens without vrf, or whose vrf disagrees with the namespace, are refused", async () => {
  const exp = now / 1000 + 60;
  const visitor = { sub: "cust-42", tenant: "demo", role: "visitor", exp };
  const cases: [Record<string, unknown>, RegExp][] = [
    [visitor, /vrf is missing/],
    [{ ...visitor, vrf: "yes" }, /vrf is missing/],
    [{ ...visitor, vrf: false }, /vrf must be false exactly for anonymous/],
    [{ ...visitor, sub: "anon:x1", vrf: true }, /vrf must be false exactly for anonymous/],
  ];
  for (const [claims, message] of cases) {
    await refusal(await rawToken({ alg: "HS256" }, claims), "claims", message);
  }
});

Deno.test("an expired token is refused as expired", async () => {
  const token = await signToken(secret, alice, 60, { now: now - 61_000 });
  await refusal(token, "expired", /expired/);
});

Deno.test("a token signed with another secret is refused as forged", async () => {
  const token = await signToken("some-other-secret", alice, 60, { now });
  await refusal(token, "forged", /signature/);
  const [header, , signature] = (await signToken(secret, alice, 60, { now })).split(".");
  const promoted = base64url({ ...alice, role: "admin", exp: now / 1000 + 60 });
  await refusal(`${header}.${promoted}.${signature}`, "forged", /signature/);
});

Deno.test("only HS256 is accepted: alg none and other algorithms are forged", async () => {
  const claims = { ...alice, exp: now / 1000 + 60 };
  await refusal(
    `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`,
    "forged",
    /HS256/,
  );
  await refusal(await rawToken({ alg: "HS512" }, claims), "forged", /HS256/);
});

Deno.test("malformed tokens are refused as malformed", async () => {
  for (const token of ["", "abc", "a.b.c", `${base64url({ alg: "HS256" })}.e30`]) {
    await refusal(token, "malformed", /not a valid JWT/);
  }
});

Deno.test("tokens lacking or misusing claims are refused naming the claim", async () => {
  const exp = now / 1000 + 60;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ tenant: "demo", role: "agent", exp }, /sub/],
    [{ ...alice, exp: undefined }, /exp is missing/],
    [{ ...alice, exp: "later" }, /exp/],
    [{ ...alice, exp, nbf: exp }, /nbf/],
    [{ ...alice, exp, sub: "" }, /sub/],
    [{ ...alice, exp, sub: "x".repeat(201) }, /sub/],
    [{ ...alice, exp, tenant: undefined }, /tenant/],
    [{ ...alice, exp, tenant: "a/b" }, /tenant/],
    [{ ...alice, exp, tenant: 7 }, /tenant/],
    [{ ...alice, exp, role: undefined }, /role/],
    [{ ...alice, exp, role: "superuser" }, /role must be one of visitor, agent, supervisor, admin/],
  ];
  for (const [claims, message] of cases) {
    await refusal(await rawToken({ alg: "HS256" }, claims), "claims", message);
  }
});

Deno.test("signToken refuses claims and lifetimes verifyToken would not accept", async () => {
  await assertRejects(() => signToken(secret, { ...alice, tenant: "" }, 60), TypeError, "tenant");
  await assertRejects(() => signToken(secret, alice, 0), TypeError, "ttlSeconds");
  await assertRejects(() => signToken("", alice, 60), TypeError, "empty");
});

Deno.test("bearerToken reads the Authorization header", () => {
  assertEquals(bearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  assertEquals(bearerToken("bearer   abc.def.ghi "), "abc.def.ghi");
  for (
    const [header, reason] of [
      [null, "missing"],
      ["  ", "missing"],
      ["Basic dXNlcjpwdw==", "malformed"],
      ["Bearer", "malformed"],
      ["Bearer a b", "malformed"],
    ] as const
  ) {
    const error = assertThrows(() => bearerToken(header), AuthError);
    assertEquals(error.reason, reason);
  }
});

Deno.test("loadOrCreateSecret creates an owner-only secret once and then reads it", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    assertEquals(await readSecret(dataDir), undefined);
    const first = await loadOrCreateSecret(`${dataDir}/nested`);
    assert(first.created);
    assertMatch(first.secret, /^[A-Za-z0-9_-]{43}$/);
    assertEquals((await Deno.stat(secretPath(`${dataDir}/nested`))).mode! & 0o777, 0o600);
    assertEquals(await loadOrCreateSecret(`${dataDir}/nested`), {
      secret: first.secret,
      created: false,
    });
    const [a, b] = await Promise.all([
      loadOrCreateSecret(`${dataDir}/race`),
      loadOrCreateSecret(`${dataDir}/race`),
    ]);
    assertEquals(a.secret, b.secret);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the token command signs with SB_JWT_SECRET", async () => {
  const token = await tokenCommand(
    ["--tenant", "demo", "--role", "supervisor", "--sub", "sam", "--ttl", "120"],
    { SB_JWT_SECRET: secret },
  );
  const principal = await verifyToken(secret, token);
  assertEquals({ ...principal, exp: 0 }, {
    sub: "sam",
    tenant: "demo",
    role: "supervisor",
    verified: true,
    exp: 0,
  });
  const lifetime = principal.exp - Date.now() / 1000;
  assert(lifetime > 110 && lifetime <= 120, `lifetime ${lifetime}`);
});

Deno.test("the token command falls back to the standalone secret file", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const args = ["--tenant", "demo", "--role", "agent", "--sub", "alice"];
    const missing = await assertRejects(
      () => tokenCommand(args, { SB_DATA_DIR: dataDir }),
      TokenCommandError,
    );
    assertMatch(missing.message, /SB_JWT_SECRET/);
    assertMatch(missing.message, /jwt-secret/);
    const { secret: stored } = await loadOrCreateSecret(dataDir);
    const token = await tokenCommand(args, { SB_DATA_DIR: dataDir });
    const principal = await verifyToken(stored, token);
    assertEquals(principal.sub, "alice");
    assert(principal.exp - Date.now() / 1000 > 3500, "default ttl is an hour");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the token command explains bad command lines", async () => {
  const env = { SB_JWT_SECRET: secret };
  for (
    const [args, message] of [
      [["--tenant", "demo", "--role", "agent"], /usage/],
      [["--tenant", "demo", "--role", "root", "--sub", "a"], /--role must be one of/],
      [["--tenant", "demo", "--role", "agent", "--sub", "a", "--ttl", "soon"], /--ttl/],
      [["--tenant", "de mo", "--role", "agent", "--sub", "a"], /tenant/],
      [["--tenant", "demo", "--role", "agent", "--sub", "a", "--colour", "red"], /usage/],
    ] as const
  ) {
    const error = await assertRejects(() => tokenCommand([...args], env), TokenCommandError);
    assertMatch(error.message, message);
  }
});

Deno.test("verified tokens are remembered per secret, and never past their expiry", async () => {
  const secret = "remembered-secret-0123456789abcdef";
  const now = Date.now();
  const token = await signToken(secret, { sub: "ann", tenant: "acme", role: "agent" }, 60, { now });
  assertEquals((await verifyToken(secret, token, { now })).sub, "ann");
  assertEquals((await verifyToken(secret, token, { now: now + 30_000 })).sub, "ann");
  const other = await assertRejects(() => verifyToken("another-secret-0123456789abcdef", token));
  assertEquals((other as AuthError).reason, "forged");
  const expired = await assertRejects(() => verifyToken(secret, token, { now: now + 61_000 }));
  assertEquals((expired as AuthError).reason, "expired");
});

Deno.test("the ops credential: role ops and no tenant; tenant tokens and tenant-bound ops tokens are refused", async () => {
  const token = await tokenCommand(["--role", "ops", "--sub", "oncall"], { SB_JWT_SECRET: secret });
  assertEquals((await verifyOpsToken(secret, token)).sub, "oncall");
  await assertRejects(() => verifyToken(secret, token), AuthError, "claim tenant");
  const tenantToken = await signToken(secret, { ...alice, role: "admin" }, 60);
  const refused = await assertRejects(() => verifyOpsToken(secret, tenantToken), AuthError);
  assertEquals(refused.reason, "credential");
  const bound = await rawToken({ alg: "HS256" }, {
    sub: "x",
    role: "ops",
    tenant: "demo",
    exp: Date.now() / 1000 + 60,
  });
  assertEquals(
    (await assertRejects(() => verifyOpsToken(secret, bound), AuthError)).reason,
    "credential",
  );
  await assertRejects(
    () =>
      tokenCommand(["--role", "ops", "--sub", "x", "--tenant", "demo"], { SB_JWT_SECRET: secret }),
    TokenCommandError,
    "no tenant",
  );
});

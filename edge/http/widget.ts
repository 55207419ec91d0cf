/**
 * The widget bootstrap: a visitor on a tenant's site, which names the tenant
 * by its widget's public key, gets a short-lived visitor token and a new
 * conversation.
 *
 * A tenant vouches for a visitor it knows by signing the visitor's id on its
 * own servers with the widget's identity secret:
 * `identityHash = hex(HMAC-SHA256(key: identitySecret, message: visitorId))`.
 * Only that makes `visitorId` the visitor's identity. Any other visitor is
 * anonymous: it keeps the `anon:` id it was handed before, when the server
 * minted it for this tenant, and gets a new one otherwise (see
 * `../auth/visitor_identity.ts`).
 *
 * A page may name one of the widget's topics, whose skills the tenant set,
 * and the visitor's language; the chat is routed by what they map to.
 *
 * @module
 */
import type * as v from "valibot";
import type { TenantSettings, WidgetSettings } from "../../actors/decider.ts";
import type { PublicCall } from "./route_types.ts";
import type { widgetSessionBody } from "./settings_schemas.ts";
import { derivedId, newId } from "../ids.ts";
import { isAnonymousId, isIdentityHash } from "../auth/visitor_identity.ts";
import { HttpError } from "./_responses.ts";
import { checkWidgetOrigin } from "./cors.ts";
import { chatRoutingFields } from "./_widget_routing.ts";

/** How long a visitor token lasts; the widget bootstraps again after that. */
const visitorTokenSeconds = 3600;

/** The answer of the widget bootstrap. */
export interface WidgetSession {
  /** A bearer token for the visitor (role `visitor`) in the widget's tenant. */
  token: string;
  conversationId: string;
  /**
   * The visitor's id: the one given when it was signed or minted here before,
   * else a new anonymous one the widget should keep and send next time.
   */
  visitorId: string;
  /** When the token expires, epoch ms. */
  expiresAt: number;
  /**
   * The tenant's agents online when the conversation opened; with none it
   * became a ticket at once (the widget offers the offline form).
   */
  agentsOnline: number;
}

/**
 * Find the widget's tenant, check the visitor's identity as the tenant
 * wants it checked, and open a conversation for the visitor.
 */
export async function openWidgetSession(
  call: PublicCall<v.InferOutput<typeof widgetSessionBody>>,
): Promise<WidgetSession> {
  const { widgetKey, name, email, topic, language } = call.body;
  const found = await call.backend.widgetTenant(widgetKey);
  if (!found?.settings.widget) throw new HttpError(404, "not_found", "no widget has this key");
  checkWidgetOrigin(found.settings.widget, call.origin);
  const { tenant } = found;
  const { id: visitorId, verified, kept } = await visitorIdentity(
    found.settings.widget,
    tenant,
    call,
  );
  const token = () => call.token({ sub: visitorId, tenant, role: "visitor" }, visitorTokenSeconds);
  // Tokens count from the whole second of their issue.
  const expiresAt = (Math.floor(call.now / 1000) + visitorTokenSeconds) * 1000;
  if (call.body.conversationId && kept) {
    const going = await ongoingChat(call, tenant, call.body.conversationId, visitorId, verified);
    if (going) {
      const agentsOnline = await call.agentsOnline(tenant);
      return { token: await token(), conversationId: going, visitorId, expiresAt, agentsOnline };
    }
  }
  // A retry with the same Idempotency-Key reaches the same conversation, which
  // knows its open; only when the visitor kept its id, as a new id differs each time.
  const fresh = call.idempotencyKey === undefined || !kept;
  const conversationId = fresh
    ? newId(call.now)
    : await derivedId(tenant, visitorId, call.idempotencyKey!);
  const routing = chatRoutingFields(found.settings.widget, { topic, language });
  const agentsOnline = await call.agentsOnline(tenant);
  await call.send({
    address: { kind: "session", tenant, id: conversationId },
    op: "command",
    command: {
      type: "open",
      by: { sub: visitorId, role: "visitor" },
      visitor: {
        id: visitorId,
        ...(name !== undefined && { name }),
        ...(email !== undefined && { email }),
        verified,
      },
      agentsOnline,
      ...routing,
    },
    commandId: `s:open:${conversationId}`,
    ...(fresh && { fresh: true }),
  });
  return { token: await token(), conversationId, visitorId, expiresAt, agentsOnline };
}

// The conversation, when it is still open and was opened by this visitor under
// the same kind of identity; null otherwise (it then gets a new one).
async function ongoingChat(
  call: PublicCall<unknown>,
  tenant: string,
  id: string,
  visitorId: string,
  verified: boolean,
): Promise<string | null> {
  const view = await call.send({
    address: { kind: "session", tenant, id },
    op: "read",
    commandId: crypto.randomUUID(),
  }).catch((error) => {
    if (error instanceof HttpError && error.status === 404) return null;
    throw error;
  }) as { status?: string; visitor?: { id: string; verified: boolean } } | null;
  const own = view?.visitor?.id === visitorId && view.visitor.verified === verified;
  return own && view?.status !== "closed" ? id : null;
}

/** Tenant settings as admins read them: the identity secret shows only as `hasIdentitySecret`. */
export type SettingsView = Omit<TenantSettings, "widget"> & {
  widget?: Omit<WidgetSettings, "identitySecret"> & { hasIdentitySecret: boolean };
};

/** `settings` without its secrets, for answering admins. */
export function withoutSecrets(settings: TenantSettings): SettingsView {
  const { widget, ...rest } = settings;
  if (!widget) return rest;
  const { identitySecret, ...shown } = widget;
  return { ...rest, widget: { ...shown, hasIdentitySecret: identitySecret !== undefined } };
}

/** Who the visitor is, and whether the id is one they had before (`kept`). */
async function visitorIdentity(
  widget: WidgetSettings,
  tenant: string,
  call: PublicCall<{ visitorId?: string; identityHash?: string }>,
): Promise<{ id: string; verified: boolean; kept: boolean }> {
  const { visitorId, identityHash } = call.body;
  if (identityHash !== undefined) {
    await checkIdentityHash(widget, visitorId, identityHash);
    return { id: visitorId!, verified: true, kept: true };
  }
  if (widget.requireIdentity) {
    throw new HttpError(
      401,
      "identity_required",
      "this site admits only visitors with a visitorId and its identityHash",
    );
  }
  if (visitorId !== undefined && await call.anonymousIds.minted(tenant, visitorId)) {
    return { id: visitorId, verified: false, kept: true };
  }
  return { id: await call.anonymousIds.mint(tenant), verified: false, kept: false };
}

async function checkIdentityHash(
  widget: WidgetSettings,
  visitorId: string | undefined,
  identityHash: string,
): Promise<void> {
  // The anonymous namespace is the server's: a signed id there could pass
  // for (or be mistaken by) an anonymous visitor.
  if (visitorId !== undefined && isAnonymousId(visitorId)) {
    throw new HttpError(400, "validation", "a signed visitorId may not start with anon:", {
      field: "visitorId",
    });
  }
  const secret = widget.identitySecret;
  if (
    secret === undefined || visitorId === undefined ||
    !await isIdentityHash(secret, visitorId, identityHash)
  ) {
    throw new HttpError(401, "unauthorized", "identityHash does not match visitorId", {
      field: "identityHash",
    });
  }
}

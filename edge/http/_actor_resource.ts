// Route builders for actors of one kind served as a collection: an item per
// actor, its commands, its history and its list.
import type { ActorAddress } from "../../actors/decider.ts";
import type { Page, ProjectionQuery } from "../../cluster/protocol.ts";
import type { Role } from "../auth/auth.ts";
import { HttpError } from "./_responses.ts";
import type { ApiCall, ApiRoute, FieldsSchema, ResponseSchema } from "./route_types.ts";

/** Everyone but visitors. */
export const staff: readonly Role[] = ["agent", "supervisor", "admin"];

// Generic only to tie each route's handler to its schemas' output types; the
// table itself holds them as plain routes.
export function api<B = unknown, Q = unknown>(route: Omit<ApiRoute<B, Q>, "kind">): ApiRoute {
  return { kind: "api", ...route };
}

/** The name and summary of a route. */
export type Described = Pick<ApiRoute, "operationId" | "summary">;

/** The filters a list takes from its query string; the tenant is the token's. */
export type ListQuery = Omit<ProjectionQuery, "kind" | "tenant">;

/** The query of a history page: the items after a sequence number. */
export type HistoryQuery = { after: number; limit: number };

/** Actors of one kind, served as a collection with an item per actor. */
export interface ActorResource {
  /** The collection's path; each actor is at `<collection>/{id}`. */
  collection: string;
  kind: string;
  /** What clients call one actor, in error messages. */
  noun: string;
  response: ResponseSchema;
  /** The response of the collection's list. */
  page: ResponseSchema;
  /** Who may send commands; whether the caller may do one is the decider's to say. */
  commandRoles: readonly Role[];
  /** What a visitor's command is answered with, from the staff view; the latter by default. */
  visitorView?: (view: Record<string, unknown>) => unknown;
  /** A listed item as the caller sees it; as stored by default. */
  listedItem?: (call: ApiCall<unknown, unknown>, doc: Record<string, unknown>) => unknown;
}

/**
 * Route builders for `resource`, whose item routes address the actor
 * `kind/<caller's tenant>/<path id>`.
 */
export function actorResource(resource: ActorResource) {
  const { collection, kind, noun, response, page } = resource;
  const item = `${collection}/{id}`;
  const target = (call: { params: Record<string, string> }) => ({ kind, id: call.params.id });
  const shown = (call: ApiCall<unknown, unknown>, reply: unknown) =>
    call.principal.role === "visitor" && resource.visitorView
      ? resource.visitorView(reply as Record<string, unknown>)
      : reply;
  return {
    kind,
    collection,
    /** The reply of a command, as the caller may see it. */
    shown,
    /**
     * `GET <item>/<action>`: a page of the actor's log after `after`, or 404
     * for an empty first page: an actor that exists has logged its start.
     */
    history: (
      spec: Described & {
        action: string;
        query: FieldsSchema<HistoryQuery>;
        response: ResponseSchema;
        read: (
          call: ApiCall<unknown, HistoryQuery>,
          address: ActorAddress,
        ) => Promise<Page<unknown>>;
      },
    ): ApiRoute =>
      api<unknown, HistoryQuery>({
        operationId: spec.operationId,
        summary: spec.summary,
        method: "GET",
        path: `${item}/${spec.action}`,
        roles: staff,
        query: spec.query,
        status: 200,
        response: spec.response,
        handle: async (call) => {
          const history = await spec.read(call, {
            ...target(call),
            tenant: call.principal.tenant,
          });
          if (call.query.after === 0 && history.items.length === 0) {
            throw new HttpError(404, "not_found", `no ${noun} ${call.params.id}`);
          }
          return history;
        },
      }),
    /** `GET <collection>`: the tenant's actors, newest first. */
    list: (spec: Described & { query: FieldsSchema<ListQuery> }): ApiRoute =>
      api<unknown, ListQuery>({
        ...spec,
        method: "GET",
        path: collection,
        roles: staff,
        status: 200,
        response: page,
        handle: async (call) => {
          const listed = await call.backend.list({
            kind,
            tenant: call.principal.tenant,
            ...call.query,
          });
          const { listedItem } = resource;
          if (!listedItem) return listed;
          return { ...listed, items: listed.items.map((doc) => listedItem(call, doc)) };
        },
      }),
    /** `GET <collection>/{id}`: the actor's view. */
    read: (spec: Described): ApiRoute =>
      api({
        ...spec,
        method: "GET",
        path: item,
        roles: staff,
        status: 200,
        response,
        handle: (call) => call.ask(target(call), "read"),
      }),
    /**
     * `POST <collection>/{id}/<action>`: the command `type` (`action` unless
     * named), its arguments being the body's fields.
     */
    command: (
      spec: Described & {
        action: string;
        type?: string;
        body: FieldsSchema<Record<string, unknown>>;
      },
    ): ApiRoute =>
      api<Record<string, unknown>>({
        operationId: spec.operationId,
        summary: spec.summary,
        method: "POST",
        path: `${item}/${spec.action}`,
        roles: resource.commandRoles,
        body: spec.body,
        status: 200,
        response,
        handle: async (call) =>
          shown(
            call,
            await call.ask(target(call), "command", {
              type: spec.type ?? spec.action,
              ...call.body,
            }),
          ),
      }),
  };
}

/**
 * The shapes of the tenant's settings and of the widget bootstrap as valibot
 * schemas, built like those of `schemas.ts`. They share the widget's key,
 * topics and languages: a bootstrap names them as the settings define them.
 *
 * @module
 */
import * as v from "valibot";
import { isAddressPart } from "../ids.ts";
import { isLanguageTag } from "./_widget_routing.ts";
import { text } from "./schemas.ts";

const minutes = v.pipe(
  v.number("must be a number"),
  v.check(
    (n) => Number.isFinite(n) && n > 0 && n <= 525_600,
    "must be minutes over 0, at most a year",
  ),
);
const slaTargets = v.strictObject({ firstResponseMinutes: minutes, resolutionMinutes: minutes });

const widgetKey = v.pipe(
  v.string("must be a string"),
  v.regex(/^[A-Za-z0-9_-]{16,128}$/, "must be 16-128 letters, digits, _ or -"),
  v.description("The widget's public key: 16-128 of `A-Za-z0-9_-`."),
);

const languageTag = v.pipe(
  v.string("must be a string"),
  v.maxLength(35, "must be at most 35 characters"),
  v.check(isLanguageTag, "must be a BCP 47 language tag, e.g. de or pt-BR"),
);

const topicName = v.pipe(
  v.string("must be a string"),
  v.regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/,
    "must be 1-80 letters, digits or ._- starting with a letter or digit",
  ),
);

// As the queue bounds an item's skills, so that it never refuses a chat's arrival.
const skillNames = v.pipe(
  v.array(
    v.pipe(text(1, 80), v.check((name) => name.trim() !== "", "must not be blank")),
    "must be an array of skill names",
  ),
  v.maxLength(50, "must list at most 50 skills"),
);

const widgetTopics = v.pipe(
  v.record(
    topicName,
    v.strictObject({ skills: v.optional(skillNames), optionalSkills: v.optional(skillNames) }),
  ),
  v.check((topics) => Object.keys(topics).length <= 100, "must have at most 100 topics"),
  v.description(
    "What a chat may be about, by the name a page passes as `topic`, with the skills its agent needs (`skills`) or had better have (`optionalSkills`).",
  ),
);

const widgetSettings = v.pipe(
  v.strictObject({
    key: widgetKey,
    identitySecret: v.optional(
      v.pipe(
        text(16, 256),
        v.description("Signs visitor ids (HMAC-SHA256) on the tenant's servers. Never read back."),
      ),
    ),
    requireIdentity: v.optional(
      v.pipe(
        v.boolean("must be true or false"),
        v.description("Refuse visitors without a valid identityHash."),
      ),
    ),
    allowedOrigins: v.optional(
      v.pipe(
        v.array(
          v.pipe(
            v.string("must be a string"),
            v.regex(
              /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/,
              "must be an origin: scheme, host and optional port, e.g. https://shop.example",
            ),
          ),
          "must be an array of origins",
        ),
        v.maxLength(100, "must list at most 100 origins"),
        v.description(
          "Origins whose pages may embed the widget (CORS and the WebSocket's Origin); absent: any.",
        ),
      ),
    ),
    topics: v.optional(widgetTopics),
    languages: v.optional(
      v.pipe(
        v.array(languageTag, "must be an array of language tags"),
        v.maxLength(20, "must list at most 20 languages"),
        v.description(
          "Languages (BCP 47) the agents serve in: a visitor whose browser language matches one waits for an agent who speaks it.",
        ),
      ),
    ),
  }),
  // Without a secret no visitor could prove who they are, and none could chat.
  v.forward(
    v.check(
      (widget) => !widget.requireIdentity || widget.identitySecret !== undefined,
      "must be set when requireIdentity is true",
    ),
    ["identitySecret"],
  ),
);

const count = (max: number) =>
  v.pipe(
    v.number("must be a number"),
    v.integer("must be a whole number"),
    v.minValue(0, "must be 0 or more"),
    v.maxValue(max, `must be at most ${max}`),
  );

// Options go to a router as JSON; a cap on their size keeps every call small.
const routerOptions = v.pipe(
  v.record(v.string(), v.unknown()),
  v.check((options) => JSON.stringify(options).length <= 8_192, "must be at most 8 KiB of JSON"),
);

const routingSettings = v.strictObject({
  router: v.optional(
    v.pipe(
      v.string("must be a string"),
      v.regex(
        /^[a-z0-9][a-z0-9._-]{0,79}$/,
        "must be 1-80 of a-z, 0-9, ._- starting with a letter or digit",
      ),
      v.description(
        "A built-in router (round-robin, least-loaded, skills-weighted, sticky) or a plugin's name.",
      ),
    ),
  ),
  routerOptions: v.optional(routerOptions),
  offerSeconds: v.optional(
    v.pipe(count(600), v.description("Seconds to accept an offer; 0 assigns directly.")),
  ),
  capacity: v.optional(v.strictObject({
    chats: v.optional(count(1_000)),
    tickets: v.optional(count(1_000)),
  })),
  relaxation: v.optional(
    v.pipe(
      v.array(v.strictObject({
        afterMs: count(86_400_000),
        drop: v.picklist(["optional", "required"], "must be optional or required"),
      })),
      v.maxLength(10, "must have at most 10 steps"),
    ),
  ),
  releaseAfterSeconds: v.optional(count(86_400)),
  maxWaiting: v.optional(v.pipe(count(100_000), v.minValue(1, "must be at least 1"))),
});

/** `POST /v1/admin/settings` */
export const tenantSettingsBody = v.strictObject({
  sla: v.optional(v.strictObject({
    low: v.optional(slaTargets),
    normal: v.optional(slaTargets),
    high: v.optional(slaTargets),
    urgent: v.optional(slaTargets),
  })),
  reopenWindowMinutes: v.optional(
    v.pipe(
      v.number("must be a number"),
      v.check((n) => Number.isFinite(n) && n >= 0 && n <= 525_600, "must be 0 to 525600 minutes"),
    ),
  ),
  chat: v.optional(v.strictObject({
    waitLimitMinutes: v.optional(minutes),
    idleCloseMinutes: v.optional(minutes),
  })),
  widget: v.optional(widgetSettings),
  routing: v.optional(routingSettings),
});

/** `POST /v1/widget/sessions` */
export const widgetSessionBody = v.pipe(
  v.strictObject({
    widgetKey,
    visitorId: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1-128 letters, digits or ._:-"),
        v.description(
          "A customer id signed by identityHash, or the anonymous id a bootstrap answered before; any other is replaced by a new anonymous id.",
        ),
      ),
    ),
    name: v.optional(text(1, 200)),
    email: v.optional(
      v.pipe(text(1, 320), v.regex(/^[^\s@]+@[^\s@]+$/, "must be an email address")),
    ),
    conversationId: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.check(
          isAddressPart,
          "must be 1-128 letters, digits or ._:- starting with a letter or digit",
        ),
        v.description(
          "The visitor's chat to go on with (a token about to expire): when it is still open and the visitor's own, the answer is a fresh token for it and no new conversation opens.",
        ),
      ),
    ),
    identityHash: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits"),
        v.description("Hex HMAC-SHA256 of visitorId under the tenant's identitySecret."),
      ),
    ),
    topic: v.optional(
      v.pipe(
        topicName,
        v.description(
          "One of the widget's topics: a new chat is routed to agents with its skills. An unknown one is 400 unknown_topic.",
        ),
      ),
    ),
    language: v.optional(
      v.pipe(
        languageTag,
        v.description(
          "The visitor's language (the browser's): a new chat matching one of the widget's languages waits for an agent who speaks it.",
        ),
      ),
    ),
  }),
  v.forward(
    v.check(
      (body) => body.identityHash === undefined || body.visitorId !== undefined,
      "must come with the visitorId it signs",
    ),
    ["identityHash"],
  ),
);

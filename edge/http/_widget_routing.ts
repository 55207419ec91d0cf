// What a widget chat is routed by, from what the tenant configured: the
// skills of the topic the page names, and the tenant's language that the
// visitor's browser language matches. A page can name a topic, never skills.
import type { WidgetSettings } from "../../actors/decider.ts";
import type { RoutingFields } from "../../actors/_session_routing.ts";
import { HttpError } from "./_responses.ts";

/** True when `tag` is a well-formed BCP 47 language tag. */
export function isLanguageTag(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

/**
 * The tenant's language that serves a visitor speaking `tag`, by BCP 47
 * lookup (RFC 4647 §3.4): `de-AT` is served by `de-AT`, else by `de`; null
 * when the tenant lists none that matches.
 */
export function servedLanguage(tag: string, languages: readonly string[]): string | null {
  const served = new Map(languages.map((language) => [canonical(language), language]));
  const subtags = canonical(tag).split("-");
  while (subtags.length > 0) {
    const found = served.get(subtags.join("-"));
    if (found !== undefined) return found;
    subtags.pop();
    // A singleton (`x`, `u` …) means nothing without the subtag after it.
    if (subtags.at(-1)?.length === 1) subtags.pop();
  }
  return null;
}

function canonical(tag: string): string {
  return Intl.getCanonicalLocales(tag)[0].toLowerCase();
}

/**
 * The routing fields of a new chat: the topic's skills and the language
 * served, from the tenant's widget settings.
 *
 * @throws {HttpError} 400 `unknown_topic` for a topic the tenant did not configure
 */
export function chatRoutingFields(
  widget: WidgetSettings,
  asked: { topic?: string; language?: string },
): RoutingFields {
  const fields: RoutingFields = {};
  if (asked.topic !== undefined) {
    const topics = widget.topics ?? {};
    if (!Object.hasOwn(topics, asked.topic)) {
      throw new HttpError(400, "unknown_topic", `this widget has no topic "${asked.topic}"`, {
        field: "topic",
        details: { topics: Object.keys(topics) },
      });
    }
    const topic = topics[asked.topic];
    fields.topic = asked.topic;
    fields.skills = { required: topic.skills ?? [], optional: topic.optionalSkills ?? [] };
  }
  const language = asked.language === undefined
    ? null
    : servedLanguage(asked.language, widget.languages ?? []);
  if (language !== null) fields.language = language;
  return fields;
}

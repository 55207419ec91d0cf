// What a chat is routed by: the tenant's topic, the language it is served in
// and the skills the topic asks for, checked at the open to the queue's own
// limits (so the queue never refuses the arrival), and the arrival it sends.
import type { ItemInput, ItemRef } from "./queue.ts";
import { queueLimits } from "./queue.ts";
import * as input from "./_queue_input.ts";
import { isRefusal, optionalText, type Refusal, validation } from "./_validation.ts";

/** What routes a chat, as the edge opened it from the tenant's widget settings. */
export interface ChatRouting {
  /** The tenant's name for what the chat is about, shown to agents. */
  topic: string | null;
  /** The language it is served in: only agents speaking it take it, until relaxation. */
  language: string | null;
  /** Skills an agent must have (`required`) or had better have (`optional`). */
  skills: { required: string[]; optional: string[] };
}

/** The routing fields of an `open` command. */
export interface RoutingFields {
  topic?: string;
  language?: string;
  skills?: { required?: string[]; optional?: string[] };
}

/** The checked routing of an open, or null when it names none. */
export function chatRouting(fields: RoutingFields): ChatRouting | null | Refusal {
  if (fields.topic === undefined && fields.language === undefined && fields.skills === undefined) {
    return null;
  }
  const topic = optionalName(fields.topic, "topic");
  if (isRefusal(topic)) return topic;
  const language = optionalName(fields.language, "language");
  if (isRefusal(language)) return language;
  const skills = fields.skills;
  if (
    skills !== undefined && (typeof skills !== "object" || skills === null || Array.isArray(skills))
  ) {
    return validation("skills", "skills must be an object");
  }
  const required = input.names(skills?.required, "skills.required", queueLimits.skills);
  if (isRefusal(required)) return required;
  const optional = input.names(skills?.optional, "skills.optional", queueLimits.skills);
  if (isRefusal(optional)) return optional;
  return { topic, language, skills: { required, optional } };
}

function optionalName(value: unknown, field: string): string | null | Refusal {
  return optionalText(value, field, queueLimits.nameChars, true);
}

/** The queue arrival of a chat of `visitor`, with what routes it. */
export function chatArrival(
  item: ItemRef,
  routing: ChatRouting | null | undefined,
  visitor: string,
): ItemInput {
  return {
    ...item,
    ...(routing && {
      skills: { required: [...routing.skills.required], optional: [...routing.skills.optional] },
      language: routing.language,
    }),
    visitor,
  };
}

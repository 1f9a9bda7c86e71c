// Topic templates (`acme/{site}/{line}/{device}`) and the rules a published topic must follow.
import { identifierProblem } from '../broker/topics/validate.js';

export type TemplateResult = { ok: true; topic: string } | { ok: false; error: string };

const VARIABLE = /\{([^{}]*)\}/g;

/** Fills `{name}` variables; an unknown variable is an error naming the ones that exist. */
export function renderTemplate(template: string, vars: Readonly<Record<string, string>>): TemplateResult {
  const unknown: string[] = [];
  const topic = template.replace(VARIABLE, (_match, name: string) => {
    const value = vars[name];
    if (value === undefined) unknown.push(name);
    return value ?? '';
  });
  if (unknown.length > 0) {
    const known = Object.keys(vars).sort().join(', ');
    return { ok: false, error: `unknown variable "{${unknown[0]}}" in "${template}" (known: ${known})` };
  }
  return { ok: true, topic };
}

/** Why `topic` cannot be a topic the gateway publishes on, or undefined when it can. */
export function topicError(topic: string, allowEmptyLevels = false): string | undefined {
  if (topic.length === 0) return 'topic is empty';
  if (/[+#]/.test(topic)) return `topic "${topic}" contains a wildcard (+ or #)`;
  // The broker's rule for identifiers (no U+0000, lone surrogates or control characters).
  const bad = identifierProblem(topic, 'topic');
  if (bad) return `${bad}: ${JSON.stringify(topic)}`;
  if (topic.startsWith('$')) return `topic "${topic}" starts with "$", which MQTT reserves for the broker`;
  if (!allowEmptyLevels && topic.split('/').some((level) => level.length === 0))
    return `topic "${topic}" has an empty level`;
  if (/[{}]/.test(topic)) return `topic "${topic}" has an unbalanced "{" or "}"`;
  if (Buffer.byteLength(topic) > 65535) return 'topic is longer than 65535 bytes';
  return undefined;
}

// Topic templates (`acme/{site}/{line}/{device}`) and the rules a published topic must follow:
// MQTT's (checked by the broker's validator) and the gateway's own ($, empty levels, braces).
import { checkTopicName, describeTopicProblem } from '../broker/topics/validate.js';

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

/** The MQTT rule `topic` breaks, in the config's words (they name the topic), or undefined. */
function mqttProblem(topic: string): string | undefined {
  const problem = checkTopicName(topic);
  if (!problem) return undefined;
  switch (problem.kind) {
    case 'empty':
      return 'topic is empty';
    case 'wildcard':
      return `topic "${topic}" contains a wildcard (+ or #)`;
    case 'bad-character':
      return `topic ${problem.detail}: ${JSON.stringify(topic)}`;
    case 'too-long':
      return 'topic is longer than 65535 bytes';
    default:
      return describeTopicProblem(problem, 'topic');
  }
}

/** Why `topic` cannot be a topic the gateway publishes on, or undefined when it can. */
export function topicError(topic: string, allowEmptyLevels = false): string | undefined {
  const mqtt = mqttProblem(topic);
  if (mqtt) return mqtt;
  if (topic.startsWith('$')) return `topic "${topic}" starts with "$", which MQTT reserves for the broker`;
  if (!allowEmptyLevels && topic.split('/').some((level) => level.length === 0))
    return `topic "${topic}" has an empty level`;
  if (/[{}]/.test(topic)) return `topic "${topic}" has an unbalanced "{" or "}"`;
  return undefined;
}

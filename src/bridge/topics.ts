// Filter checks and the prefix rewriting of bridge rules (matching is the broker's topicMatches).
export { topicMatches } from '../broker/topics/validate.js';

/** Checks a filter is well formed; returns why not, or undefined. */
export function filterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'empty topic filter';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return `'#' must be a whole last level in '${filter}'`;
    if (level.includes('+') && level !== '+') return `'+' must be a whole level in '${filter}'`;
  }
  return undefined;
}

/** Applies a rule's rewrite: strip `stripPrefix` when the topic starts with it, then add `prefix`. */
export function rewriteTopic(topic: string, rule: { stripPrefix: string; prefix: string }): string {
  const stripped =
    rule.stripPrefix && topic.startsWith(rule.stripPrefix) ? topic.slice(rule.stripPrefix.length) : topic;
  return rule.prefix + stripped;
}

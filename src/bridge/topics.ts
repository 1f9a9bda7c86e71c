// Filter checks and the prefix rewriting of bridge rules (matching and the MQTT rules are the
// broker's: topicMatches, checkTopicFilter).
import { checkTopicFilter, describeTopicProblem } from '../broker/topics/validate.js';

export { topicMatches } from '../broker/topics/validate.js';

/** Checks a filter is well formed; returns why not, or undefined. */
export function filterProblem(filter: string): string | undefined {
  const problem = checkTopicFilter(filter);
  if (problem?.kind !== 'misplaced-wildcard') return problem && describeTopicProblem(problem, 'topic filter');
  return problem.wildcard === '#'
    ? `'#' must be a whole last level in '${filter}'`
    : `'+' must be a whole level in '${filter}'`;
}

/** Applies a rule's rewrite: strip `stripPrefix` when the topic starts with it, then add `prefix`. */
export function rewriteTopic(topic: string, rule: { stripPrefix: string; prefix: string }): string {
  const stripped =
    rule.stripPrefix && topic.startsWith(rule.stripPrefix) ? topic.slice(rule.stripPrefix.length) : topic;
  return rule.prefix + stripped;
}

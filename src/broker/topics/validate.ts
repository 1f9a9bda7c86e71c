// Topic name and filter rules of MQTT 3.1.1/5.0 section 4.7, plus the broker's own limits: the
// one place these rules live. The broker, the config loader (topics the gateway publishes on) and
// the bridge (rule filters) all check here. A check returns undefined when the topic is fine, or
// what is wrong: `checkTopicName`/`checkTopicFilter` as a TopicProblem each caller words in its
// own terms, `topicNameProblem`/`topicFilterProblem` already worded as the broker says it.

export interface TopicLimits {
  maxTopicLength: number;
  maxTopicLevels: number;
}

/** What MQTT itself allows: a topic of up to 65535 bytes, any number of levels. */
export const MQTT_TOPIC_LIMITS: TopicLimits = {
  maxTopicLength: 65535,
  maxTopicLevels: Number.POSITIVE_INFINITY,
};

export type TopicProblem =
  | { kind: 'empty' }
  | { kind: 'too-long'; maxBytes: number }
  /** Breaks the identifier rule; `detail` says how ("contains U+0000"). */
  | { kind: 'bad-character'; detail: string }
  | { kind: 'too-many-levels'; maxLevels: number }
  /** A wildcard in a topic name. */
  | { kind: 'wildcard' }
  /** In a filter: '#' that is not a whole last level, or '+' that is not a whole level. */
  | { kind: 'misplaced-wildcard'; wildcard: '#' | '+' };

/**
 * How `text` breaks the string rule for identifiers (topics, client ids, usernames; see
 * validate-packet.ts and docs/CONFIG.md): U+0000, a lone surrogate, or a control character
 * U+0001-U+001F / U+007F-U+009F. Strings from the wire were checked as bytes already; this is for
 * the same rule on strings from inside the gateway (the in-process API, bridges, the config).
 */
export function identifierFlaw(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) continue;
    if (c === 0) return 'contains U+0000';
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
      return `contains control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return 'contains a lone surrogate';
      i++;
    }
  }
  return undefined;
}

/**
 * The checks names and filters share, in one pass over the string (it runs for every PUBLISH):
 * length, the identifier rule, levels, and wildcards where they are not allowed.
 */
function commonProblem(topic: string, limits: TopicLimits, wildcards: boolean): TopicProblem | undefined {
  if (topic.length === 0) return { kind: 'empty' };
  // A UTF-16 unit is at most 3 UTF-8 bytes: most topics need no byte count.
  if (topic.length * 3 > limits.maxTopicLength && Buffer.byteLength(topic) > limits.maxTopicLength)
    return { kind: 'too-long', maxBytes: limits.maxTopicLength };
  let levels = 1;
  let wildcard = false;
  let unusual = false;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x2f) levels++;
    else if (c === 0x2b || c === 0x23) wildcard = true;
    else if (c < 0x20 || c >= 0x7f) unusual = true;
  }
  const flaw = unusual ? identifierFlaw(topic) : undefined;
  if (flaw) return { kind: 'bad-character', detail: flaw };
  if (levels > limits.maxTopicLevels) return { kind: 'too-many-levels', maxLevels: limits.maxTopicLevels };
  if (wildcard && !wildcards) return { kind: 'wildcard' };
  return undefined;
}

export function checkTopicName(topic: string, limits = MQTT_TOPIC_LIMITS): TopicProblem | undefined {
  return commonProblem(topic, limits, false);
}

export function checkTopicFilter(filter: string, limits = MQTT_TOPIC_LIMITS): TopicProblem | undefined {
  const problem = commonProblem(filter, limits, true);
  if (problem) return problem;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return { kind: 'misplaced-wildcard', wildcard: '#' };
    if (level.includes('+') && level !== '+') return { kind: 'misplaced-wildcard', wildcard: '+' };
  }
  return undefined;
}

/** A problem in the broker's words; `what` is "topic name" or "topic filter". */
export function describeTopicProblem(problem: TopicProblem, what: string): string {
  switch (problem.kind) {
    case 'empty':
      return `empty ${what}`;
    case 'too-long':
      return `${what} longer than ${problem.maxBytes} bytes`;
    case 'bad-character':
      return `${what} ${problem.detail}`;
    case 'too-many-levels':
      return `${what} has more than ${problem.maxLevels} levels`;
    case 'wildcard':
      return `${what} contains a wildcard (+ or #)`;
    case 'misplaced-wildcard':
      return problem.wildcard === '#'
        ? "'#' must be a whole level and the last one"
        : "'+' must be a whole level";
  }
}

export function topicNameProblem(topic: string, limits: TopicLimits): string | undefined {
  const problem = checkTopicName(topic, limits);
  return problem && describeTopicProblem(problem, 'topic name');
}

export function topicFilterProblem(filter: string, limits: TopicLimits): string | undefined {
  const problem = checkTopicFilter(filter, limits);
  return problem && describeTopicProblem(problem, 'topic filter');
}

export interface SharedFilter {
  group: string;
  filter: string;
}

/** `$share/<group>/<filter>`: returns the parts, a message when malformed, or undefined when not shared. */
export function parseSharedFilter(filter: string): SharedFilter | string | undefined {
  if (!filter.startsWith('$share/')) return undefined;
  const slash = filter.indexOf('/', 7);
  if (slash < 0) return 'shared subscription needs $share/<group>/<filter>';
  const group = filter.slice(7, slash);
  const inner = filter.slice(slash + 1);
  if (group.length === 0 || group.includes('+') || group.includes('#')) {
    return 'shared subscription group name must be non-empty and without wildcards';
  }
  if (inner.length === 0) return 'shared subscription needs a topic filter after the group';
  return { group, filter: inner };
}

/** Whether `topic` matches `filter`, with the rule that wildcards at the first level skip $-topics. */
export function topicMatches(filter: string, topic: string): boolean {
  if (
    topic.charCodeAt(0) === 0x24 /* $ */ &&
    (filter.charCodeAt(0) === 0x2b || filter.charCodeAt(0) === 0x23)
  ) {
    return false;
  }
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Whether every topic that `inner` can match is also matched by `outer` (ACL subscribe checks:
 * a subscription is allowed when it lies inside an allowed filter).
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const n = inner.split('/');
  for (let i = 0; i < o.length; i++) {
    const level = o[i]!;
    if (level === '#') return !(i === 0 && inner.startsWith('$') && !outer.startsWith('$'));
    if (i >= n.length) return false;
    const want = n[i]!;
    if (want === '#') return false;
    if (level === '+') {
      if (i === 0 && want.startsWith('$')) return false;
      continue;
    }
    if (want !== level) return false;
  }
  return o.length === n.length;
}

/**
 * Whether some topic name matches both filters (a deny rule against a subscription), with the
 * rule that wildcards at the first level skip $-topics.
 */
export function filtersIntersect(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  const wild = (level: string): boolean => level === '+' || level === '#';
  if ((x[0]!.startsWith('$') && wild(y[0]!)) || (y[0]!.startsWith('$') && wild(x[0]!))) return false;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === '#' || q === '#') return true;
    if (p !== '+' && q !== '+' && p !== q) return false;
  }
  if (x.length === y.length) return true;
  // 'a/#' also matches 'a' itself.
  const longer = x.length > y.length ? x : y;
  return longer.length === n + 1 && longer[n] === '#';
}

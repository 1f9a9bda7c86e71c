// Topic access control. With no rules every connected client may do anything (the loopback demo);
// with rules, a client may publish or read only where an allow rule for it says so and no deny
// rule for it forbids (deny overrides allow, whatever the order of the rules).
// Rules apply by username, "$anonymous" (no username) or "*" (everyone); %u and %c in filters
// become the client's username and client id.
//
// Reading is checked per message, as Mosquitto does: a subscription is granted when it can carry
// something the client may read, and each message is checked on delivery. The check is decided
// once per subscription where it can be: a filter inside an allow and clear of every deny carries
// only readable topics ('whole'), so only subscriptions that overlap a deny or reach past the
// allows ('filtered') pay a per-message check, cached per topic.
import type { AclRule } from '../config.js';
import { filterCovers, filtersIntersect, topicMatches } from '../topics/validate.js';

export interface ClientIdentity {
  username: string | undefined;
  clientId: string;
}

/** What a subscription carries: nothing (refused), everything it matches, or what passes a per-message check. */
export type SubscriptionAccess = 'refused' | 'whole' | 'filtered';

export interface ClientAcl {
  mayPublish(topic: string): boolean;
  /** Whether a message on `topic` may be delivered to this client. */
  mayRead(topic: string): boolean;
  subscription(filter: string): SubscriptionAccess;
  /** Whether a subscription to `filter` is granted (it can carry a readable topic). */
  maySubscribe(filter: string): boolean;
}

const ALLOW_ALL: ClientAcl = {
  mayPublish: (topic) => !topic.startsWith('$SYS'),
  mayRead: () => true,
  subscription: () => 'whole',
  maySubscribe: () => true,
};

/** Decisions remembered per client and kind; topics repeat, the check does not need to. */
const DECISION_CACHE_LIMIT = 4096;

interface Filters {
  allow: string[];
  deny: string[];
}

function decide(filters: Filters, topic: string): boolean {
  return (
    filters.allow.some((f) => topicMatches(f, topic)) && !filters.deny.some((f) => topicMatches(f, topic))
  );
}

function remembered(cache: Map<string, boolean>, topic: string, filters: Filters): boolean {
  let allowed = cache.get(topic);
  if (allowed === undefined) {
    allowed = decide(filters, topic);
    if (cache.size >= DECISION_CACHE_LIMIT) cache.clear();
    cache.set(topic, allowed);
  }
  return allowed;
}

class RuleAcl implements ClientAcl {
  private readonly publishCache = new Map<string, boolean>();
  private readonly readCache = new Map<string, boolean>();

  constructor(
    private readonly publish: Filters,
    private readonly read: Filters,
  ) {}

  mayPublish(topic: string): boolean {
    return !topic.startsWith('$SYS') && remembered(this.publishCache, topic, this.publish);
  }

  mayRead(topic: string): boolean {
    return remembered(this.readCache, topic, this.read);
  }

  subscription(filter: string): SubscriptionAccess {
    const { allow, deny } = this.read;
    if (!allow.some((a) => filtersIntersect(a, filter))) return 'refused';
    if (deny.some((d) => filterCovers(d, filter))) return 'refused';
    const inside = allow.some((a) => filterCovers(a, filter));
    return inside && !deny.some((d) => filtersIntersect(d, filter)) ? 'whole' : 'filtered';
  }

  maySubscribe(filter: string): boolean {
    return this.subscription(filter) !== 'refused';
  }
}

/**
 * %u and %c replaced. A name with '/', '+' or '#' would widen the filter: an allow with one is
 * dropped, a deny keeps it (wider is the safe side of a deny).
 */
function substitute(filter: string, who: ClientIdentity, kind: 'allow' | 'deny'): string | null {
  let widens = false;
  const put = (value: string): string => {
    if (/[/+#]/.test(value)) widens = true;
    return value;
  };
  if (filter.includes('%u')) {
    if (who.username === undefined) return null;
    filter = filter.replaceAll('%u', () => put(who.username!));
  }
  if (filter.includes('%c')) filter = filter.replaceAll('%c', () => put(who.clientId));
  return widens && kind === 'allow' ? null : filter;
}

export class Acl {
  constructor(private readonly rules: readonly AclRule[]) {}

  get enabled(): boolean {
    return this.rules.length > 0;
  }

  forClient(who: ClientIdentity): ClientAcl {
    if (this.rules.length === 0) return ALLOW_ALL;
    const publish: Filters = { allow: [], deny: [] };
    const read: Filters = { allow: [], deny: [] };
    for (const rule of this.rules) {
      const applies =
        rule.user === '*' ||
        (rule.user === '$anonymous' ? who.username === undefined : rule.user === who.username);
      if (!applies) continue;
      const kind = rule.access === 'deny' ? 'deny' : 'allow';
      for (const f of rule.publish) {
        const s = substitute(f, who, kind);
        if (s !== null) publish[kind].push(s);
      }
      for (const f of rule.subscribe) {
        const s = substitute(f, who, kind);
        if (s !== null) read[kind].push(s);
      }
    }
    return new RuleAcl(publish, read);
  }
}

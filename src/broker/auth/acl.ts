// Topic access control. With no rules every connected client may do anything (the loopback demo);
// with rules, a client may publish or subscribe only where a rule for it says so.
// Rules apply by username, "$anonymous" (no username) or "*" (everyone); %u and %c in filters
// become the client's username and client id.
import type { AclRule } from '../config.js';
import { filterCovers, topicMatches } from '../topics/validate.js';

export interface ClientIdentity {
  username: string | undefined;
  clientId: string;
}

export interface ClientAcl {
  mayPublish(topic: string): boolean;
  maySubscribe(filter: string): boolean;
}

const ALLOW_ALL: ClientAcl = {
  mayPublish: (topic) => !topic.startsWith('$SYS'),
  maySubscribe: () => true,
};

/** Publish decisions remembered per client; topics repeat, the check does not need to. */
const PUBLISH_CACHE_LIMIT = 4096;

class RuleAcl implements ClientAcl {
  private readonly publishCache = new Map<string, boolean>();

  constructor(
    private readonly publish: readonly string[],
    private readonly subscribe: readonly string[],
  ) {}

  mayPublish(topic: string): boolean {
    let allowed = this.publishCache.get(topic);
    if (allowed === undefined) {
      allowed = !topic.startsWith('$SYS') && this.publish.some((filter) => topicMatches(filter, topic));
      if (this.publishCache.size >= PUBLISH_CACHE_LIMIT) this.publishCache.clear();
      this.publishCache.set(topic, allowed);
    }
    return allowed;
  }

  maySubscribe(filter: string): boolean {
    return this.subscribe.some((allowed) => filterCovers(allowed, filter));
  }
}

function substitute(filter: string, who: ClientIdentity): string | null {
  if (filter.includes('%u')) {
    if (who.username === undefined) return null;
    filter = filter.replaceAll('%u', who.username);
  }
  return filter.replaceAll('%c', who.clientId);
}

export class Acl {
  constructor(private readonly rules: readonly AclRule[]) {}

  get enabled(): boolean {
    return this.rules.length > 0;
  }

  forClient(who: ClientIdentity): ClientAcl {
    if (this.rules.length === 0) return ALLOW_ALL;
    const publish: string[] = [];
    const subscribe: string[] = [];
    for (const rule of this.rules) {
      const applies =
        rule.user === '*' ||
        (rule.user === '$anonymous' ? who.username === undefined : rule.user === who.username);
      if (!applies) continue;
      for (const f of rule.publish) {
        const s = substitute(f, who);
        if (s !== null) publish.push(s);
      }
      for (const f of rule.subscribe) {
        const s = substitute(f, who);
        if (s !== null) subscribe.push(s);
      }
    }
    return new RuleAcl(publish, subscribe);
  }
}

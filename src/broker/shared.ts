// Shared subscriptions ($share/<group>/<filter>): each message goes to one member, round robin,
// preferring members that are connected, among the members that may read the message's topic.
import type { ClientAcl } from './auth/acl.js';
import type { Session, SubscriptionOptions } from './session.js';

interface Member {
  options: SubscriptionOptions;
  /** The member's ACL when its subscription needs a check per message, else null. */
  reader: ClientAcl | null;
}

export class SharedGroup {
  private readonly members = new Map<Session, Member>();
  private order: Session[] = [];
  private next = 0;

  constructor(
    readonly group: string,
    readonly filter: string,
  ) {}

  get size(): number {
    return this.members.size;
  }

  set(session: Session, options: SubscriptionOptions, reader: ClientAcl | null = null): void {
    if (!this.members.has(session)) this.order.push(session);
    this.members.set(session, { options, reader });
  }

  delete(session: Session): void {
    if (!this.members.delete(session)) return;
    this.order = this.order.filter((s) => s !== session);
  }

  /** The next member in turn that may read `topic`, an online one when any is. */
  pick(topic: string): [Session, SubscriptionOptions] | null {
    const n = this.order.length;
    let offline = -1;
    for (let i = 0; i < n; i++) {
      const at = (this.next + i) % n;
      const session = this.order[at]!;
      const member = this.members.get(session)!;
      if (member.reader !== null && !member.reader.mayRead(topic)) continue;
      if (session.link) {
        this.next = (at + 1) % n;
        return [session, member.options];
      }
      if (offline < 0) offline = at;
    }
    if (offline < 0) return null;
    this.next = (offline + 1) % n;
    const session = this.order[offline]!;
    return [session, this.members.get(session)!.options];
  }
}

// Shared subscriptions ($share/<group>/<filter>): each message goes to one member, round robin,
// preferring members that are connected.
import type { Session, SubscriptionOptions } from './session.js';

export class SharedGroup {
  private readonly members = new Map<Session, SubscriptionOptions>();
  private order: Session[] = [];
  private next = 0;

  constructor(
    readonly group: string,
    readonly filter: string,
  ) {}

  get size(): number {
    return this.members.size;
  }

  set(session: Session, options: SubscriptionOptions): void {
    if (!this.members.has(session)) this.order.push(session);
    this.members.set(session, options);
  }

  delete(session: Session): void {
    if (!this.members.delete(session)) return;
    this.order = this.order.filter((s) => s !== session);
  }

  /** The next member in turn, an online one when any is. */
  pick(): [Session, SubscriptionOptions] | null {
    const n = this.order.length;
    if (n === 0) return null;
    for (let i = 0; i < n; i++) {
      const session = this.order[(this.next + i) % n]!;
      if (session.link) {
        this.next = (this.next + i + 1) % n;
        return [session, this.members.get(session)!];
      }
    }
    const session = this.order[this.next % n]!;
    this.next = (this.next + 1) % n;
    return [session, this.members.get(session)!];
  }
}

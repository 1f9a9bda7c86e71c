// One command at a time per tag: write, read back, answer, then the next command on that tag.
// Without it a second write could reach the device before the first one's read-back, and the first
// command would report the second one's value as its own failure ("read-back gave 20").

export interface Turn {
  /** Resolves once every earlier command on these tags has released them. */
  ready: Promise<void>;
  /**
   * Hands the tags to the next command. A command that gives up while still waiting keeps its
   * place until its turn comes, so a later command never overtakes an earlier one still running.
   */
  release(): void;
}

export class TagQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Queues for every key at once (a device-level command takes each tag it writes). */
  take(keys: readonly string[]): Turn {
    const before = keys.flatMap((key) => this.tails.get(key) ?? []);
    let free!: () => void;
    const mine = new Promise<void>((resolve) => (free = resolve));
    for (const key of keys) this.tails.set(key, mine);
    const ready = before.length === 0 ? Promise.resolve() : Promise.all(before).then(() => undefined);
    let released = false;
    return {
      ready,
      release: () => {
        if (released) return;
        released = true;
        void ready.then(() => {
          free();
          for (const key of keys) if (this.tails.get(key) === mine) this.tails.delete(key);
        });
      },
    };
  }
}

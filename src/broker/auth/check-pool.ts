// A few password checks at a time (scrypt runs on libuv's thread pool, which file I/O shares:
// unbounded, a flood of logins would take every thread), and a fair queue in front of them:
// turns go round the waiting addresses, and within an address round its usernames, so one
// attacker's flood waits behind itself, not in front of everyone else.

export interface CheckPoolLimits {
  /** Checks running at once. */
  workers: number;
  /** Checks waiting, over all clients; more are refused as busy. */
  maxPending: number;
  /** Checks waiting from one address. */
  maxPendingPerAddress: number;
}

interface Job {
  run(): Promise<void>;
}

/** address -> username -> jobs; Map order is the turn order (a served lane moves to the back). */
type Lanes = Map<string, Map<string, Job[]>>;

export class CheckPool {
  private readonly lanes: Lanes = new Map();
  private readonly perAddress = new Map<string, number>();
  private waiting = 0;
  private running = 0;

  constructor(private readonly limits: CheckPoolLimits) {}

  get pending(): number {
    return this.waiting;
  }

  get active(): number {
    return this.running;
  }

  /** Queues `work`; null when the queue (overall or for this address) is full. */
  submit<T>(address: string, username: string, work: () => Promise<T>): Promise<T> | null {
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.waiting >= this.limits.maxPending || fromAddress >= this.limits.maxPendingPerAddress) {
      return null;
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        run: () => work().then(resolve, reject),
      };
      let users = this.lanes.get(address);
      if (!users) {
        users = new Map();
        this.lanes.set(address, users);
      }
      let jobs = users.get(username);
      if (!jobs) {
        jobs = [];
        users.set(username, jobs);
      }
      jobs.push(job);
      this.perAddress.set(address, fromAddress + 1);
      this.waiting++;
      this.drain();
    });
  }

  private next(): Job | undefined {
    for (const [address, users] of this.lanes) {
      for (const [username, jobs] of users) {
        const job = jobs.shift()!;
        users.delete(username);
        if (jobs.length > 0) users.set(username, jobs);
        this.lanes.delete(address);
        if (users.size > 0) this.lanes.set(address, users);
        const left = this.perAddress.get(address)! - 1;
        if (left === 0) this.perAddress.delete(address);
        else this.perAddress.set(address, left);
        this.waiting--;
        return job;
      }
    }
    return undefined;
  }

  private drain(): void {
    while (this.running < this.limits.workers) {
      const job = this.next();
      if (!job) return;
      this.running++;
      void job.run().finally(() => {
        this.running--;
        this.drain();
      });
    }
  }
}

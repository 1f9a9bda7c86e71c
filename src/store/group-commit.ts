// One group commit that many writes wait for: every message queued before the commit starts
// shares its promise, so a burst costs one promise and one transaction, not one per message.
export class GroupCommit {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (err: Error) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Callers who do not wait (in-process publishers) must not turn a failure into an unhandled
    // rejection; those who wait still see it.
    this.promise.catch(() => undefined);
  }
}

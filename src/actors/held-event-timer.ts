// The one timer of an Event limiter (src/domain/event-limiter.ts): after each offer it is re-armed
// for the limiter's `nextAt` (when a held Event may go out) or disarmed when nothing is held. Used
// by the speaker's Service Events and the BGP session Events alike.
import type { Clock } from './clock.js';

export class HeldEventTimer {
  private handle: unknown;

  constructor(
    private readonly clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>,
    private readonly fire: () => void,
  ) {}

  /** Waits for `nextAt` (then calls back once), replacing any wait; `undefined` only disarms. */
  arm(nextAt: number | undefined): void {
    this.stop();
    if (nextAt === undefined) return;
    this.handle = this.clock.setTimeout(
      () => {
        this.handle = undefined;
        this.fire();
      },
      Math.max(1, nextAt - this.clock.now()),
    );
  }

  stop(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }
}

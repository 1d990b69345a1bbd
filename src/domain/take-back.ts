// Readiness of a speaker's L2 take-back (docs/coordination.md "Failback"): a restarted or
// reconnected speaker is ready only once it has taken back the IPs it wins, so a DaemonSet
// rolling update does not stop the next node's speaker while this one still waits for a holder's
// release. Pure: the coordinator reports what it knows, this says what readiness waits for.

/** The coordinator's take-back as it is now (Coordinator.takeBack()). */
export interface TakeBackView {
  /** The NATS path machine's state: 'connecting' | 'resyncing' | 'up' | 'down' | 'echoLost'. */
  readonly path: string;
  /** `settled` said: holders may release the IPs we win back. */
  readonly handoverReady: boolean;
  /** IPs elected here that wait for their live holder's release. */
  readonly awaiting: number;
}

/** What readiness still waits for; empty when the take-back is settled or there is nothing to take back. */
export function takeBackWaitingFor(v: TakeBackView): string[] {
  if (v.path === 'resyncing') return ['L2: hearing peers before taking IPs back (NATS resync window)'];
  if (v.path !== 'up') return [`L2: NATS path ${v.path}`];
  const out: string[] = [];
  if (!v.handoverReady) out.push('L2: preparing the take-back (capture, frames, epochs)');
  if (v.awaiting > 0) out.push(`L2: taking back ${v.awaiting} IP${v.awaiting === 1 ? '' : 's'} (waiting for the holder's release)`);
  return out;
}

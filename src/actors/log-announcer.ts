// An L2AnnouncerPort that only records and reports announce/withdraw (no packets): for processes
// run without pcap (`--announcer log`) and for tests of everything above the wire.
import type { CarrierChange, L2AnnouncerPort, L2Conflict } from './l2-port.js';

export class LogAnnouncer implements L2AnnouncerPort {
  private readonly mine = new Set<string>();
  constructor(private readonly report: (event: 'announce' | 'withdraw', ip: string) => void) {}
  announce(ip: string): void {
    if (!this.mine.has(ip)) {
      this.mine.add(ip);
      this.report('announce', ip);
    }
  }
  withdraw(ip: string): void {
    if (this.mine.delete(ip)) this.report('withdraw', ip);
  }
  announced(): readonly string[] {
    return [...this.mine];
  }
  onConflict(_cb: (ev: L2Conflict) => void): () => void {
    return () => {};
  }
  onCarrier(_cb: (ev: CarrierChange) => void): () => void {
    return () => {};
  }
  close(): Promise<void> {
    this.mine.clear();
    return Promise.resolve();
  }
}

// Failover traces (docs/observability.md) with three real coordinators on an in-memory bus that
// carries headers, a recording tracer and XState's SimulatedClock: the owner halts (a crash); the
// survivor with the narrower heartbeat window judges first and starts the trace, its verdict
// heartbeat carries the context, and the successor's verdict, election, claim and announcement
// join it; the successor's claims carry the claim's context back. Without a tracer no header is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { Coordinator, type ServiceSpec } from './coordinator.js';
import type { CoordBus } from './coord-ports.js';
import type { CarrierChange, L2AnnouncerPort, L2Conflict } from './l2-port.js';
import { FAILOVER_HEADER, type StartOptions, type TraceAttrs, type TraceHeaders, type TraceSpan, type Tracer } from './trace-port.js';
import { HashOrder } from '../domain/election.js';
import { subjectMatches } from '../domain/subjects.js';

const IP = '203.0.113.10';
const NODES = ['a', 'b', 'c'];

type Cb = (subject: string, data: Uint8Array, headers?: TraceHeaders) => void;

/** Core NATS stand-in shared by all nodes: every message reaches every matching subscription 1 ms later, headers included. */
class SharedBus {
  private readonly subs: Array<{ pattern: string; cb: Cb; node: string }> = [];
  readonly sent: Array<{ subject: string; headers?: TraceHeaders }> = [];
  constructor(private readonly clock: SimulatedClock) {}
  conn(node: string): CoordBus & { cut(): void } {
    let cut = false;
    return {
      publish: (subject, data, headers) => {
        if (cut) return;
        this.sent.push({ subject, ...(headers ? { headers } : {}) });
        this.clock.setTimeout(() => {
          for (const s of [...this.subs]) if (subjectMatches(s.pattern, subject)) s.cb(subject, data, headers);
        }, 1);
      },
      subscribe: (pattern, cb) => {
        const s = { pattern, cb, node };
        this.subs.push(s);
        return () => void this.subs.splice(this.subs.indexOf(s), 1);
      },
      onStatus: () => () => {},
      isUp: () => true,
      cut: () => {
        cut = true;
        for (let i = this.subs.length - 1; i >= 0; i--) if (this.subs[i]?.node === node) this.subs.splice(i, 1);
      },
    };
  }
}

class FakeL2 implements L2AnnouncerPort {
  readonly on = new Set<string>();
  constructor(private readonly onAnnounce: (ip: string) => void = () => {}) {}
  announce(ip: string): void {
    this.on.add(ip);
    this.onAnnounce(ip);
  }
  withdraw(ip: string): void {
    this.on.delete(ip);
  }
  announced(): readonly string[] {
    return [...this.on];
  }
  onConflict(_cb: (ev: L2Conflict) => void): () => void {
    return () => {};
  }
  onCarrier(_cb: (ev: CarrierChange) => void): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}

interface Rec {
  id: string;
  trace: string;
  name: string;
  node: string;
  parent: string | undefined;
  attrs: Record<string, unknown>;
  ended: boolean;
  error?: string;
}

/** One recorder for every node (spans say which node made them). Trace ids: the shared key's, the parent's, or fresh. */
class RecordingTracer {
  readonly spans: Rec[] = [];
  private n = 0;
  /** Whether a span was still open when the first announcement went out (announce inside claim). */
  for(node: string): Tracer {
    return { start: (name, attrs, o) => this.start(node, name, attrs, o) };
  }
  private make(node: string, name: string, attrs: TraceAttrs | undefined, trace: string, parent: string | undefined): TraceSpan {
    const r: Rec = { id: `s${++this.n}`, trace, name, node, parent, attrs: { ...attrs }, ended: false };
    this.spans.push(r);
    const span: TraceSpan = {
      child: (n, a) => this.make(node, n, a, r.trace, r.id),
      set: (a) => Object.assign(r.attrs, a),
      end: (error) => {
        r.ended = true;
        if (error !== undefined) r.error = error;
      },
      headers: () => ({ traceparent: `00-${r.trace}-${r.id}-01` }),
    };
    this.byHandle.set(span, r);
    return span;
  }
  private readonly byHandle = new Map<TraceSpan, Rec>();
  private start(node: string, name: string, attrs: TraceAttrs | undefined, o: StartOptions = {}): TraceSpan {
    if (o.parent) {
      const local = this.byHandle.get(o.parent as TraceSpan);
      if (local) return this.make(node, name, attrs, local.trace, local.id);
      const [, trace = '', id = ''] = ((o.parent as TraceHeaders).traceparent ?? '').split('-');
      return this.make(node, name, attrs, trace, id);
    }
    return this.make(node, name, attrs, o.sharedKey !== undefined ? `key:${o.sharedKey}` : `t${this.n + 1}`, undefined);
  }
}

const svc: ServiceSpec = { key: 'default/web', ips: [IP], ads: [{ name: 'l2' }], etpLocal: false, endpointNodes: new Set(NODES) };

function lab(tracing: boolean) {
  const clock = new SimulatedClock();
  const bus = new SharedBus(clock);
  const tracer = new RecordingTracer();
  const order = new HashOrder().ranked(IP, NODES) as [string, string, string];
  const [owner, successor, detector] = order;
  const announcedWhileClaimOpen: string[] = [];
  const nodes = NODES.map((node) => {
    const conn = bus.conn(node);
    const l2 = new FakeL2((ip) => {
      const claim = tracer.spans.find((s) => s.name === 'failover.claim' && s.node === node && s.attrs['mooring.ip'] === ip);
      if (claim && !claim.ended) announcedWhileClaimOpen.push(node);
    });
    const coord = new Coordinator({
      cluster: 'c',
      node,
      inc: 1,
      clock,
      bus: conn,
      l2,
      claimsRefreshMs: 1000,
      // The successor judges by a wider window than the detector: the detector's verdict comes first.
      membership: { intervalMs: 100, misses: node === successor ? 10 : 3 },
      ...(tracing ? { tracer: tracer.for(node) } : {}),
    });
    coord.setCluster({ nodes: NODES.map((name) => ({ name, labels: {} })), services: [svc] });
    coord.start();
    return { node, coord, conn, l2 };
  });
  const run = (ms: number) => {
    for (let i = 0; i < ms; i++) clock.increment(1);
  };
  const at = (n: string) => nodes.find((x) => x.node === n) as (typeof nodes)[number];
  return { clock, bus, tracer, nodes, run, at, owner, successor, detector, announcedWhileClaimOpen };
}

test('a crashed owner: one trace from the first verdict to the successor’s announcement, across nodes', () => {
  const t = lab(true);
  t.run(2000);
  assert.deepEqual(t.at(t.owner).coord.owned(), [IP]);
  assert.equal(t.tracer.spans.length, 0, 'nothing traced before a death');
  // The owner crashes: it stops without a word (halt) and its messages stop.
  t.at(t.owner).coord.halt();
  t.at(t.owner).conn.cut();
  t.run(3000);
  assert.deepEqual(t.at(t.successor).coord.owned(), [IP]);
  const s = t.tracer.spans;
  const one = (name: string, node: string) => {
    const found = s.filter((x) => x.name === name && x.node === node);
    assert.equal(found.length, 1, `${name} on ${node}: ${JSON.stringify(s)}`);
    return found[0] as Rec;
  };
  const first = one('failover.detect', t.detector);
  assert.equal(first.parent, undefined, 'the first verdict is the root');
  assert.equal(first.attrs['mooring.peer'], t.owner);
  assert.equal(first.attrs['mooring.cause'], 'heartbeat');
  assert.equal(first.attrs['mooring.joined'], false);
  assert.match(first.trace, new RegExp(`^key:c/${t.owner}/1/\\d+$`), 'the trace id comes from the death itself');
  // The verdict heartbeat carries the context and names the dead node.
  const verdictBeat = t.bus.sent.find((m) => m.headers?.[FAILOVER_HEADER] === t.owner);
  assert.equal(verdictBeat?.headers?.traceparent, `00-${first.trace}-${first.id}-01`);
  const detElect = one('failover.elect', t.detector);
  assert.equal(detElect.parent, first.id);
  assert.equal(detElect.attrs['mooring.owner'], t.successor, 'the detector elects the successor, which has not judged yet');
  const verdict = one('failover.detect', t.successor);
  assert.equal(verdict.parent, first.id, 'the successor’s verdict joined the detector’s trace');
  assert.equal(verdict.trace, first.trace);
  assert.equal(verdict.attrs['mooring.joined'], true);
  const elect = one('failover.elect', t.successor);
  assert.equal(elect.parent, verdict.id);
  assert.equal(elect.attrs['mooring.owner'], t.successor);
  const claim = one('failover.claim', t.successor);
  assert.equal(claim.parent, elect.id);
  assert.equal(claim.attrs['mooring.epoch'], 2);
  assert.ok(claim.ended && claim.error === undefined);
  const announce = one('failover.announce', t.successor);
  assert.equal(announce.parent, claim.id);
  assert.deepEqual(t.announcedWhileClaimOpen, [t.successor], 'the first announcement is inside the claim');
  // The successor's claims carry the claim's context; the detector hears them in the same trace.
  const seen = one('failover.claimSeen', t.detector);
  assert.equal(seen.parent, claim.id);
  assert.equal(seen.trace, first.trace);
  assert.ok(
    s.every((x) => x.ended),
    'every span ended',
  );
  assert.ok(
    s.every((x) => x.trace === first.trace),
    'one trace',
  );
});

test('tracing off: no span, no header on any message', () => {
  const t = lab(false);
  t.run(2000);
  t.at(t.owner).coord.halt();
  t.at(t.owner).conn.cut();
  t.run(3000);
  assert.deepEqual(t.at(t.successor).coord.owned(), [IP]);
  assert.equal(t.tracer.spans.length, 0);
  assert.ok(t.bus.sent.length > 0);
  assert.ok(t.bus.sent.every((m) => m.headers === undefined));
});

// The BFD datagram port a speaker opens: the batched port (adapters/bfd-mmsg.ts: sendmmsg and
// recvmmsg through koffi, reading on readiness while packets are few and on a tick grid when they
// are many) by default, node:dgram (adapters/bfd-udp.ts) with `io: 'dgram'`
// (MOORING_BFD_IO=dgram) or when batched I/O is not available here (no koffi, not Linux 64-bit
// little-endian). Both implement `BfdPort` (actors/bfd-transport.actor.ts).
import type { BfdPort } from '../actors/bfd-transport.actor.js';
import type { TimerQueue } from '../actors/timer-queue.js';
import { ioPollPeriodMs } from '../domain/bfd-timers.js';
import { BfdMmsgPort } from './bfd-mmsg.js';
import { BfdUdpPort, type BfdUdpOptions } from './bfd-udp.js';

export type { BfdPort } from '../actors/bfd-transport.actor.js';
export type BfdIo = BfdPort['io'];

export interface OpenBfdPortOptions extends BfdUdpOptions {
  /** The process's shared timer queue (the sessions' timers): the batched port's polls run on it. */
  readonly timers: TimerQueue;
  /** `mmsg` (default) or `dgram`; without it, `bfdIoFromEnv(process.env)`. */
  readonly io?: BfdIo;
  /**
   * The batched port's tick period and transmit slot (ms); default `ioPollPeriodMs` of MetalLB's
   * default 300 ms interval (10 ms). `setPollMs` changes it later (sessions faster than 50 ms).
   */
  readonly pollMs?: number;
  /** The batched port reads on readiness while packets are few (default true); false: always on its tick. */
  readonly readiness?: boolean;
}

/** `MOORING_BFD_IO=dgram` selects node:dgram; anything else the batched port. */
export function bfdIoFromEnv(env: Readonly<Record<string, string | undefined>>): BfdIo {
  return env.MOORING_BFD_IO === 'dgram' ? 'dgram' : 'mmsg';
}

/** Opens the sockets (rejects when they cannot be bound). Sessions on it take `port.txSlotMs`. */
export async function openBfdPort(opts: OpenBfdPortOptions): Promise<BfdPort> {
  const { timers, io = bfdIoFromEnv(process.env), pollMs = ioPollPeriodMs(300), readiness = true, ...udp } = opts;
  if (io === 'mmsg') {
    const mmsg = await BfdMmsgPort.open({ ...udp, timers, pollMs, readiness });
    if (mmsg) return mmsg;
  }
  return BfdUdpPort.open(udp);
}

// Run inside a test namespace by mmsg-mode.test.ts: the batched port as openBfdPort opens it
// (10 ms tick), a handler that counts datagrams, and a dgram socket that sends to it: one
// datagram, then one a millisecond until the port is in tick mode, then nothing until it is back
// on readiness. Prints one JSON line with what it saw at each step.
import { createSocket } from 'node:dgram';
import { openBfdPort } from '../../../src/adapters/bfd-port.js';
import { BfdMmsgPort } from '../../../src/adapters/bfd-mmsg.js';
import { TimerQueue } from '../../../src/actors/timer-queue.js';

const [local, src] = process.argv.slice(2) as [string, string];
const timers = new TimerQueue();
const port = await openBfdPort({ localAddresses: [local], timers, io: 'mmsg', pollMs: 10, port: 3784 });
if (!(port instanceof BfdMmsgPort)) {
  console.log(JSON.stringify({ error: 'no batched I/O here' }));
  process.exit(0);
}

let received = 0;
port.onDatagram(() => {
  received++;
});
const sock = await new Promise<ReturnType<typeof createSocket>>((res) => {
  const s = createSocket('udp4');
  s.bind(0, src, () => {
    s.setTTL(255);
    res(s);
  });
});
let sent = 0;
const pkt = Buffer.alloc(24);
const send = (): void => {
  sent++;
  sock.send(pkt, 3784, local);
};
const until = async (what: string, cond: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) {
      console.log(JSON.stringify({ error: `timed out: ${what}`, mode: port.mode, sent, received, stats: port.stats }));
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
};

const opened = { mode: port.mode, txSlotMs: port.txSlotMs, io: port.io };
send();
await until('first datagram', () => received === 1);
// Nothing armed the timer queue: only readiness (SIGIO) can have read it.
const first = { mode: port.mode, passes: timers.passes, readinessWakeups: port.stats.readinessWakeups };

// A datagram a millisecond (each its own wake-up) until the port changes to its tick.
const load = setInterval(send, 1);
await until('tick mode under load', () => port.mode === 'tick');
const underLoad = { mode: port.mode, modeChanges: port.stats.modeChanges };
clearInterval(load);
const sentUnderLoad = sent;
await until('every datagram read', () => received === sentUnderLoad);
const passesAtQuiet = timers.passes;
await until('back on readiness when quiet', () => port.mode === 'readiness');
const quiet = { mode: port.mode, modeChanges: port.stats.modeChanges, ticked: timers.passes > passesAtQuiet };
send();
await until('a datagram after the load', () => received === sent);

console.log(JSON.stringify({ opened, first, underLoad, quiet, sent, received, rx: port.stats.rx }));
sock.close();
await port.close();
process.exit(0);

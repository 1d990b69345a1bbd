// Run inside a test namespace by mmsg-repeat.test.ts: a BfdMmsgPort listening on two local
// addresses of one family, a handler that records what it is given and may hand back a repeat
// function, and a plain dgram socket that sends a script of 24-byte datagrams to the port.
// Prints one JSON line: the calls the port made, in order.
import { createSocket } from 'node:dgram';
import { BfdMmsgPort } from '../../../src/adapters/bfd-mmsg.js';
import { TimerQueue } from '../../../src/actors/timer-queue.js';

const [family, l1, l2, src] = process.argv.slice(2) as ['4' | '6', string, string, string];
const type = family === '6' ? 'udp6' : 'udp4';
const timers = new TimerQueue();
const port = await BfdMmsgPort.open({ localAddresses: [l1, l2], timers, pollMs: 2, port: 3784 });
if (!port) {
  console.log(JSON.stringify({ error: 'no batched I/O here' }));
  process.exit(0);
}

const calls: string[] = [];
let mode: 'repeat' | 'none' | 'false' = 'repeat';
let n = 0;
port.onDatagram((d) => {
  const i = n++;
  // Addresses as the port gives them (canonical text): told apart by their last group.
  calls.push(`h:${d.data[23]}:${d.local.endsWith(l1.slice(-2)) ? 'l1' : d.local.endsWith(l2.slice(-2)) ? 'l2' : d.local}`);
  if (mode === 'none') return undefined;
  return () => {
    calls.push(`r:${i}`);
    return mode !== 'false';
  };
});

const pkt = (discr: number, last: number): Buffer => {
  const b = Buffer.alloc(24);
  b[0] = 0x20;
  b[1] = 0xc0;
  b[2] = 3;
  b[3] = 24;
  b.writeUInt32BE(0x1234, 4);
  b.writeUInt32BE(discr, 8);
  b[23] = last;
  return b;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sockets = await Promise.all(
  [50001, 50002].map(
    (p) =>
      new Promise<ReturnType<typeof createSocket>>((res) => {
        const s = createSocket(type);
        s.bind(p, src, () => {
          s.setTTL(255);
          res(s);
        });
      }),
  ),
);
const send = async (sock: number, data: Buffer, to: string): Promise<void> => {
  await new Promise<void>((res, rej) => sockets[sock]!.send(data, 3784, to, (e) => (e ? rej(e) : res())));
  // Read by the next poll (every 2 ms).
  const before = calls.length;
  for (let k = 0; k < 200 && calls.length === before; k++) await sleep(5);
};

await send(0, pkt(7, 1), l1); // first: handler
await send(0, pkt(7, 1), l1); // the same: repeat
await send(0, pkt(7, 1), l2); // other local address: handler
await send(0, pkt(7, 1), l2); // repeat of that one
await send(0, pkt(7, 2), l2); // one payload byte differs: handler
await send(1, pkt(7, 2), l2); // other source port: handler
await send(0, pkt(0, 3), l1); // Your Discriminator 0: handler
await send(0, pkt(0, 3), l1); // never repeated
mode = 'none';
await send(0, pkt(9, 4), l1); // handler, no repeat function
await send(0, pkt(9, 4), l1); // so the handler again
mode = 'repeat';
await send(0, pkt(9, 4), l1); // handler (nothing remembered), now remembered
mode = 'false';
await send(0, pkt(9, 4), l1); // repeat says no: handler
console.log(JSON.stringify({ calls, stats: port.stats }));
for (const s of sockets) s.close();
await port.close();

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatRoutes, nodeAddress, routesCommand, type RoutesView } from './mooringctl-routes.js';

const VIEW: RoutesView = {
  node: 'n1',
  peers: [
    {
      peer: 'tor',
      address: '203.0.113.1:179',
      state: 'established',
      localAsn: 64512,
      peerAsn: 64500,
      ebgp: true,
      families: ['ipv4'],
      routes: [
        {
          prefix: '203.0.113.160/32',
          nextHop: '203.0.113.11',
          origin: 'igp',
          asPath: [64512, 64512],
          communities: ['64500:100'],
          largeCommunities: ['1:2:3'],
        },
      ],
    },
    { peer: 'rr', address: '203.0.113.2:179', state: 'idle', localAsn: 64512, peerAsn: 64512, routes: [] },
  ],
};

test('formatRoutes: one header per peer, one line per prefix with every attribute', () => {
  assert.equal(
    formatRoutes(VIEW),
    [
      'node n1',
      'peer tor 203.0.113.1:179 established AS 64512 -> 64500 eBGP ipv4: 1 prefix',
      '  203.0.113.160/32  next-hop 203.0.113.11  as-path 64512 64512  origin igp  communities 64500:100  large-communities 1:2:3',
      'peer rr 203.0.113.2:179 idle AS 64512 -> 64512: 0 prefixes',
      '',
    ].join('\n'),
  );
});

test('nodeAddress: the IPv4 InternalIP first', () => {
  assert.equal(
    nodeAddress({
      status: {
        addresses: [
          { type: 'Hostname', address: 'n1' },
          { type: 'InternalIP', address: '2001:db8::11' },
          { type: 'InternalIP', address: '203.0.113.11' },
        ],
      },
    }),
    '203.0.113.11',
  );
  assert.equal(nodeAddress({ status: { addresses: [{ type: 'InternalIP', address: '2001:db8::11' }] } }), '2001:db8::11');
  assert.equal(nodeAddress({}), undefined);
});

test('routes against a speaker: PEER filters, an unknown PEER is exit 1, usage errors exit 2', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/routes') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(VIEW));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const out: string[] = [];
  const err: string[] = [];
  const e = console.error;
  console.error = (s: string) => void err.push(s);
  const write = (s: string) => void out.push(s);
  try {
    assert.equal(await routesCommand(['n1', 'tor', '--speaker', url, '-o', 'json'], write), 0);
    assert.deepEqual(
      (JSON.parse(out.join('')) as RoutesView).peers.map((p) => p.peer),
      ['tor'],
    );
    assert.equal(await routesCommand(['n1', 'nope', '--speaker', url]), 1);
    assert.match(err.join('\n'), /no BGP peer "nope" \(it has: tor, rr\)/);
    assert.equal(await routesCommand([]), 2);
    assert.equal(await routesCommand(['n1', '--bogus']), 2);
  } finally {
    console.error = e;
    server.close();
  }
});

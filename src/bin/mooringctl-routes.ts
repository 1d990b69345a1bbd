// `mooringctl routes NODE [PEER]`: what a node's speaker sends each BGP peer — every prefix with
// every path attribute as it went on the wire (Adj-RIB-Out) — read from the live speaker's
// monitoring port (GET /routes, read-only). The speaker is found by the Node's InternalIP
// (the speaker runs in the host network) unless --speaker gives its URL.
import type { AdjRibOut } from '../actors/bgp-speaker.js';

export const ROUTES_USAGE = `  routes NODE [PEER] [-o text|json] [--speaker URL] [--port 7472] [--kubeconfig FILE]
      What NODE's speaker sends each BGP peer (or PEER only): every prefix with its next hop,
      AS_PATH, ORIGIN, LOCAL_PREF (iBGP), communities and large communities, read from the live
      speaker (http://<Node InternalIP>:7472/routes, or --speaker URL). Exit 0 read, 1 speaker or
      apiserver unreachable or PEER unknown, 2 usage.
`;

export interface RoutesView {
  readonly node: string;
  readonly peers: readonly AdjRibOut[];
}

/** Human-readable Adj-RIB-Out: one header per peer, one line per prefix. */
export function formatRoutes(v: RoutesView): string {
  const lines = [`node ${v.node}`];
  if (v.peers.length === 0) lines.push('  no BGP peer on this node');
  for (const p of v.peers) {
    const kind = p.ebgp === undefined ? '' : p.ebgp ? ' eBGP' : ' iBGP';
    const fams = p.families ? ` ${p.families.join(',')}` : '';
    lines.push(
      `peer ${p.peer} ${p.address} ${p.state} AS ${p.localAsn} -> ${p.peerAsn ?? 'dynamic'}${kind}${fams}: ${p.routes.length} prefix${p.routes.length === 1 ? '' : 'es'}`,
    );
    for (const r of p.routes)
      lines.push(
        [
          `  ${r.prefix}`,
          `next-hop ${r.nextHop}`,
          `as-path ${r.asPath.length ? r.asPath.join(' ') : '(empty)'}`,
          `origin ${r.origin}`,
          ...(r.localPref !== undefined ? [`local-pref ${r.localPref}`] : []),
          `communities ${r.communities.join(' ') || '-'}`,
          `large-communities ${r.largeCommunities.join(' ') || '-'}`,
        ].join('  '),
      );
  }
  return `${lines.join('\n')}\n`;
}

/** The InternalIP of a Node object (IPv4 first), else its first address. */
export function nodeAddress(node: { status?: { addresses?: Array<{ type?: string; address?: string }> } }): string | undefined {
  const as = node.status?.addresses ?? [];
  const internal = as.filter((a) => a.type === 'InternalIP' && a.address);
  return (internal.find((a) => !a.address?.includes(':')) ?? internal[0] ?? as[0])?.address;
}

export async function routesCommand(args: string[], write: (s: string) => void = (s) => void process.stdout.write(s)): Promise<number> {
  let output = 'text';
  let speaker: string | undefined;
  let port = 7472;
  let kubeconfig = process.env.KUBECONFIG;
  const pos: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const v = args[i + 1];
    if ((a === '-o' || a === '--output') && (v === 'json' || v === 'text')) output = v;
    else if (a === '--speaker' && v) speaker = v.replace(/\/+$/, '');
    else if (a === '--port' && v && /^\d+$/.test(v)) port = Number(v);
    else if (a === '--kubeconfig' && v) kubeconfig = v;
    else if (!a.startsWith('-')) {
      pos.push(a);
      continue;
    } else {
      console.error(`mooringctl routes: unexpected argument ${JSON.stringify(a)}\n\nusage:\n${ROUTES_USAGE}`);
      return 2;
    }
    i++;
  }
  const [node, peer, ...extra] = pos;
  if (!node || extra.length > 0) {
    console.error(`mooringctl routes: needs NODE and at most one PEER\n\nusage:\n${ROUTES_USAGE}`);
    return 2;
  }
  if (!speaker) {
    const { loadKubeConfig } = await import('../adapters/kube/informer.js');
    const { kubeRest, restSupported } = await import('../adapters/kube/rest.js');
    try {
      const kc = loadKubeConfig(kubeconfig);
      if (!restSupported(kc))
        throw new Error('the current kubeconfig cluster is reached through a proxy-url, which mooringctl does not support');
      const n = await kubeRest(kc).request<Parameters<typeof nodeAddress>[0]>('GET', `/api/v1/nodes/${encodeURIComponent(node)}`, {
        timeoutMs: 10_000,
      });
      const addr = nodeAddress(n);
      if (!addr) throw new Error(`Node ${node} has no address`);
      speaker = `http://${addr.includes(':') ? `[${addr}]` : addr}:${port}`;
    } catch (e) {
      console.error(`mooringctl routes: ${(e as Error).message.split('\n')[0]}`);
      return 1;
    }
  }
  let view: RoutesView;
  try {
    const r = await fetch(`${speaker}/routes`, { signal: AbortSignal.timeout(10_000) });
    if (!r.ok) throw new Error(`${speaker}/routes: HTTP ${r.status}`);
    view = (await r.json()) as RoutesView;
  } catch (e) {
    console.error(`mooringctl routes: cannot read the speaker of ${node}: ${(e as Error).message}`);
    return 1;
  }
  if (peer !== undefined) {
    const peers = view.peers.filter((p) => p.peer === peer);
    if (peers.length === 0) {
      console.error(
        `mooringctl routes: node ${view.node} has no BGP peer ${JSON.stringify(peer)} (it has: ${view.peers.map((p) => p.peer).join(', ') || 'none'})`,
      );
      return 1;
    }
    view = { ...view, peers };
  }
  write(output === 'json' ? `${JSON.stringify(view, null, 2)}\n` : formatRoutes(view));
  return 0;
}

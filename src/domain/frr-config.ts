// The speaker's BGP plan as an FRR configuration (pure): what the FRR backend (--bgp-backend=frr,
// src/adapters/frr.ts) hands to FRR running beside the speaker, as MetalLB's FRR mode does.
//
// - One `router bgp ASN [vrf NAME]` per VRF (the default VRF unnamed). Its ASN is the lowest myASN
//   of the VRF's peers; a peer with another myASN, or with a localASN, gets `local-as`.
// - Per peer: remote-as (or internal/external for dynamicASN), port, timers, connect timer,
//   password, ebgp-multihop, update-source, graceful restart, BFD (`bfd profile NAME`, the
//   profiles rendered in the `bfd` block), unnumbered peers as `neighbor IFACE interface remote-as`.
// - Nothing is accepted from the peers (route-map NAME-in deny). What each peer receives is its
//   own outbound route-map: one entry per set of attributes (communities, large communities,
//   LOCAL_PREF), matching a prefix list per family; the entries' prefixes are `network`s of the
//   instance's address families. Prefix-list entries are numbered from the prefix itself (a hash,
//   probing on collision), so adding or removing one prefix changes one line: the reload that
//   diffs this text against FRR's running configuration touches only what changed. A peer that
//   gets every network of its families with the same attributes needs no prefix list at all.
import type { RouteAttrs } from './bgp-advertisements.js';
import type { BgpIpFamily } from './ip-family.js';

export interface FrrPeer {
  readonly name: string;
  /** The peer's address; unset for an unnumbered peer (`interface`). */
  readonly address?: string;
  /** Unnumbered: the session runs over this interface to the router's IPv6 link-local address. */
  readonly interface?: string;
  readonly port?: number;
  readonly vrf?: string;
  readonly myAsn: number;
  readonly peerAsn: number;
  readonly dynamicAsn?: 'internal' | 'external';
  /** BGP local-as (v1beta2 localASN). */
  readonly localAsn?: number;
  /** Seconds. */
  readonly holdTime?: number;
  readonly keepaliveTime?: number;
  readonly connectTimeMs?: number;
  readonly routerId?: string;
  readonly sourceAddress?: string;
  readonly password?: string;
  readonly ebgpMultiHop?: boolean;
  readonly enableGracefulRestart?: boolean;
  /** Address families the session carries (default: the family of the address; both when unnumbered). */
  readonly families?: readonly BgpIpFamily[];
  /** A BFD profile name (rendered from `bfdProfiles`; the FRR defaults when it is not there). */
  readonly bfdProfile?: string;
}

export interface FrrBfdProfile {
  readonly name: string;
  readonly receiveIntervalMs?: number;
  readonly transmitIntervalMs?: number;
  readonly detectMultiplier?: number;
  readonly echoIntervalMs?: number;
  readonly echoMode?: boolean;
  readonly passiveMode?: boolean;
  readonly minimumTtl?: number;
}

export interface FrrInput {
  readonly hostname?: string;
  readonly peers: readonly FrrPeer[];
  readonly bfdProfiles?: readonly FrrBfdProfile[];
  /** peer name → prefix → attributes (desiredRoutes). */
  readonly routes: ReadonlyMap<string, ReadonlyMap<string, RouteAttrs>>;
}

/** A peer the renderer leaves out, and why (FRR would reject the line or misread it). */
export interface FrrRefusal {
  readonly peer: string;
  readonly field: string;
  readonly message: string;
}

export interface FrrRender {
  readonly text: string;
  readonly refused: readonly FrrRefusal[];
}

/** FRR's names for the well-known communities (running-config prints them so; the reload diff must agree). */
const WELL_KNOWN: ReadonlyMap<number, string> = new Map([
  [0xffff0000, 'graceful-shutdown'],
  [0xffff0001, 'accept-own'],
  [0xffff0006, 'llgr-stale'],
  [0xffff0007, 'no-llgr'],
  [0xffff029a, 'blackhole'],
  [0xffffff01, 'no-export'],
  [0xffffff02, 'no-advertise'],
  [0xffffff03, 'local-AS'],
  [0xffffff04, 'no-peer'],
]);

export function communityText(c: number): string {
  return WELL_KNOWN.get(c) ?? `${Math.floor(c / 65536)}:${c % 65536}`;
}

/** FRR WORD tokens: no whitespace, printable; names also limited to what a route-map name may be. */
const WORD = /^[\x21-\x7e]+$/;
const NAME = /^[A-Za-z0-9._-]+$/;

/** Fields FRR cannot take as given (the peer is left out rather than rendered wrong). */
export function frrPeerLimits(p: FrrPeer): FrrRefusal[] {
  const out: FrrRefusal[] = [];
  const bad = (field: string, message: string) => out.push({ peer: p.name, field, message });
  if (!NAME.test(p.name)) bad('metadata.name', 'not usable as an FRR route-map name');
  if (!p.address && !p.interface) bad('spec.peerAddress', 'neither peerAddress nor interface is set');
  if (p.interface && !NAME.test(p.interface)) bad('spec.interface', 'not an interface name');
  if (p.vrf && !NAME.test(p.vrf)) bad('spec.vrf', 'not a VRF name');
  if (p.password !== undefined && !WORD.test(p.password)) bad('spec.password', 'FRR takes a password without spaces or control characters');
  if (p.bfdProfile !== undefined && !NAME.test(p.bfdProfile)) bad('spec.bfdProfile', 'not usable as an FRR BFD profile name');
  return out;
}

const familyOf = (prefix: string): BgpIpFamily => (prefix.includes(':') ? 'ipv6' : 'ipv4');
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** FNV-1a (32 bit) of a string, as a prefix-list sequence number in 1..2^32-2. */
function seqOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % 0xfffffffe) + 1;
}

/** Stable sequence numbers for the prefixes of one list (sorted input: collisions probe in order). */
function sequenced(prefixes: readonly string[]): Array<[number, string]> {
  const used = new Set<number>();
  return prefixes.map((p) => {
    let s = seqOf(p);
    while (used.has(s)) s = (s % 0xfffffffe) + 1;
    used.add(s);
    return [s, p] as [number, string];
  });
}

const attrKey = (a: RouteAttrs) => JSON.stringify([a.localPref ?? null, [...a.communities], a.largeCommunities.map((l) => l.join(':'))]);

/** How FRR names the neighbor: its address, or its interface when unnumbered. */
export const neighborId = (p: FrrPeer): string => p.interface ?? p.address ?? '';

const peerFamilies = (p: FrrPeer): BgpIpFamily[] =>
  p.families && p.families.length > 0 ? [...p.families] : p.interface ? ['ipv4', 'ipv6'] : [familyOf(p.address ?? '')];

function neighborLines(p: FrrPeer, id: string, instanceAsn: number): string[] {
  const remote = p.dynamicAsn ?? String(p.peerAsn);
  const out = [p.interface ? ` neighbor ${id} interface remote-as ${remote}` : ` neighbor ${id} remote-as ${remote}`];
  const n = (...s: string[]) => out.push(...s.map((x) => ` neighbor ${id} ${x}`));
  n(`description ${p.name}`);
  const localAs = p.localAsn ?? (p.myAsn !== instanceAsn ? p.myAsn : undefined);
  if (localAs !== undefined && localAs !== instanceAsn) n(`local-as ${localAs} no-prepend replace-as`);
  if (p.port !== undefined && p.port !== 179) n(`port ${p.port}`);
  if (p.holdTime !== undefined) {
    // MetalLB: keepalive defaults to a third of the hold time.
    const hold = p.holdTime;
    const keepalive = p.keepaliveTime ?? Math.floor(hold / 3);
    n(`timers ${keepalive} ${hold}`);
  }
  if (p.connectTimeMs !== undefined) n(`timers connect ${Math.max(1, Math.round(p.connectTimeMs / 1000))}`);
  if (p.password !== undefined && p.password !== '') n(`password ${p.password}`);
  if (p.ebgpMultiHop) n('ebgp-multihop 255');
  if (p.sourceAddress) n(`update-source ${p.sourceAddress}`);
  if (p.enableGracefulRestart) n('graceful-restart');
  if (p.bfdProfile !== undefined) n('bfd', `bfd profile ${p.bfdProfile}`);
  return out;
}

interface PeerPolicy {
  /** family → prefixes the peer receives. */
  readonly byFamily: Map<BgpIpFamily, string[]>;
  readonly lines: string[];
}

/** The peer's prefix lists and outbound route-map (one entry per attribute set and family). */
function peerPolicy(
  p: FrrPeer,
  routes: ReadonlyMap<string, RouteAttrs> | undefined,
  networks?: ReadonlyMap<BgpIpFamily, ReadonlySet<string>>,
): PeerPolicy {
  const fams = new Set(peerFamilies(p));
  const classes = new Map<string, { attrs: RouteAttrs; prefixes: Map<BgpIpFamily, string[]> }>();
  const byFamily = new Map<BgpIpFamily, string[]>();
  for (const [prefix, attrs] of [...(routes ?? new Map<string, RouteAttrs>())].sort((a, b) => cmp(a[0], b[0]))) {
    const fam = familyOf(prefix);
    if (!fams.has(fam)) continue;
    const k = attrKey(attrs);
    let c = classes.get(k);
    if (!c) classes.set(k, (c = { attrs, prefixes: new Map() }));
    const list = c.prefixes.get(fam) ?? [];
    list.push(prefix);
    c.prefixes.set(fam, list);
    const all = byFamily.get(fam) ?? [];
    all.push(prefix);
    byFamily.set(fam, all);
  }
  const lists: string[] = [];
  const maps: string[] = [];
  let seq = 0;
  // The peer gets every network of its families with one set of attributes (one advertisement
  // for all peers, the common case): one route-map entry without prefix lists. FRR adds
  // prefix-list entries one by one in a sorted list (quadratic): 50,000 of them take minutes.
  const only = classes.size === 1 ? [...classes.values()][0] : undefined;
  if (only && networks && [...fams].every((f) => (byFamily.get(f)?.length ?? 0) === (networks.get(f)?.size ?? 0))) {
    maps.push(`route-map mooring-${p.name}-out permit 10`);
    if (only.attrs.communities.length > 0) maps.push(` set community ${only.attrs.communities.map(communityText).join(' ')}`);
    if (only.attrs.largeCommunities.length > 0)
      maps.push(` set large-community ${only.attrs.largeCommunities.map((l) => l.join(':')).join(' ')}`);
    if (only.attrs.localPref !== undefined) maps.push(` set local-preference ${only.attrs.localPref}`);
    maps.push('exit', '!');
    classes.clear();
  }
  [...classes.entries()]
    .sort((a, b) => cmp(a[0], b[0]))
    .forEach(([, c], i) => {
      for (const fam of ['ipv4', 'ipv6'] as const) {
        const prefixes = c.prefixes.get(fam);
        if (!prefixes) continue;
        const pl = `mooring-${p.name}-${fam}-${i + 1}`;
        const ip = fam === 'ipv4' ? 'ip' : 'ipv6';
        for (const [s, prefix] of sequenced(prefixes)) lists.push(`${ip} prefix-list ${pl} seq ${s} permit ${prefix}`);
        seq += 10;
        maps.push(`route-map mooring-${p.name}-out permit ${seq}`, ` match ${ip} address prefix-list ${pl}`);
        if (c.attrs.communities.length > 0) maps.push(` set community ${c.attrs.communities.map(communityText).join(' ')}`);
        if (c.attrs.largeCommunities.length > 0)
          maps.push(` set large-community ${c.attrs.largeCommunities.map((l) => l.join(':')).join(' ')}`);
        if (c.attrs.localPref !== undefined) maps.push(` set local-preference ${c.attrs.localPref}`);
        maps.push('exit', '!');
      }
    });
  // The route-map always exists (a missing one is read as deny-all by some versions, permit by none).
  maps.push(`route-map mooring-${p.name}-out deny 65535`, 'exit', '!', `route-map mooring-${p.name}-in deny 20`, 'exit', '!');
  return { byFamily, lines: [...lists, ...(lists.length > 0 ? ['!'] : []), ...maps] };
}

/** FRR's BFD profile timers at their defaults (FRR has no `no` form for them: a removed one is set back). */
const BFD_DEFAULTS: ReadonlyMap<string, string> = new Map(
  ['receive-interval 300', 'transmit-interval 300', 'detect-multiplier 3', 'echo transmit-interval 50', 'echo receive-interval 50'].map(
    (l) => [l.slice(0, l.lastIndexOf(' ')), l],
  ),
);

function bfdBlock(profiles: readonly FrrBfdProfile[]): string[] {
  if (profiles.length === 0) return [];
  const out = ['bfd'];
  for (const b of profiles) {
    out.push(` profile ${b.name}`);
    // As FRR prints them (its running configuration and this text must agree line for line):
    // defaults left out, the echo interval as its transmit and receive halves.
    const timer = (line: string, v: number | undefined) => {
      if (v !== undefined && `${line} ${v}` !== BFD_DEFAULTS.get(line)) out.push(`  ${line} ${v}`);
    };
    timer('receive-interval', b.receiveIntervalMs);
    timer('transmit-interval', b.transmitIntervalMs);
    timer('detect-multiplier', b.detectMultiplier);
    if (b.passiveMode) out.push('  passive-mode');
    if (b.echoMode) out.push('  echo-mode');
    timer('echo transmit-interval', b.echoIntervalMs);
    timer('echo receive-interval', b.echoIntervalMs);
    if (b.minimumTtl !== undefined) out.push(`  minimum-ttl ${b.minimumTtl}`);
    out.push(' exit', ' !');
  }
  out.push('exit', '!');
  return out;
}

/** The whole FRR configuration for `input` (deterministic: same input, same text). */
export function renderFrrConfig(input: FrrInput): FrrRender {
  const refused = input.peers.flatMap(frrPeerLimits);
  const peers = input.peers.filter((p) => !refused.some((r) => r.peer === p.name)).sort((a, b) => cmp(a.name, b.name));
  const out: string[] = ['frr defaults traditional'];
  if (input.hostname && NAME.test(input.hostname)) out.push(`hostname ${input.hostname}`);
  out.push('log stdout informational', '!');

  const usedProfiles = new Set(peers.flatMap((p) => (p.bfdProfile ? [p.bfdProfile] : [])));
  const profiles = [...(input.bfdProfiles ?? [])].filter((b) => usedProfiles.has(b.name)).sort((a, b) => cmp(a.name, b.name));
  for (const name of [...usedProfiles].sort()) if (!profiles.some((b) => b.name === name)) profiles.push({ name });
  out.push(...bfdBlock(profiles.sort((a, b) => cmp(a.name, b.name))));

  const vrfs = [...new Set(peers.map((p) => p.vrf ?? ''))].sort();
  const policies: string[] = [];
  for (const vrf of vrfs) {
    const mine = peers.filter((p) => (p.vrf ?? '') === vrf);
    const asn = Math.min(...mine.map((p) => p.myAsn));
    const routerId = mine.find((p) => p.routerId)?.routerId;
    out.push(`router bgp ${asn}${vrf ? ` vrf ${vrf}` : ''}`);
    if (routerId) out.push(` bgp router-id ${routerId}`);
    out.push(' no bgp ebgp-requires-policy', ' no bgp default ipv4-unicast', ' no bgp network import-check');
    const networks = new Map<BgpIpFamily, Set<string>>();
    const active = new Map<BgpIpFamily, FrrPeer[]>();
    for (const p of mine) {
      out.push(...neighborLines(p, neighborId(p), asn));
      for (const fam of peerFamilies(p)) active.set(fam, [...(active.get(fam) ?? []), p]);
      for (const [fam, prefixes] of peerPolicy(p, input.routes.get(p.name)).byFamily) {
        const set = networks.get(fam) ?? new Set();
        for (const x of prefixes) set.add(x);
        networks.set(fam, set);
      }
    }
    for (const p of mine) policies.push(...peerPolicy(p, input.routes.get(p.name), networks).lines);
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const members = active.get(fam);
      if (!members) continue;
      out.push(' !', ` address-family ${fam} unicast`);
      for (const x of [...(networks.get(fam) ?? [])].sort()) out.push(`  network ${x}`);
      for (const p of members) {
        const id = neighborId(p);
        out.push(
          `  neighbor ${id} activate`,
          `  neighbor ${id} route-map mooring-${p.name}-in in`,
          `  neighbor ${id} route-map mooring-${p.name}-out out`,
        );
      }
      out.push(' exit-address-family');
    }
    out.push('exit', '!');
  }
  out.push(...policies);
  return { text: `${out.join('\n')}\n`, refused };
}

// ---- incremental apply -----------------------------------------------------------------------
// The fast path between two renders of this module (frr-reload.py, which diffs against FRR's
// running configuration, is the slow path: first apply, after a failure, after FRR restarted).

/** Sections of a render: section path ([] top level, [header], [header, sub-header]) → its lines. */
type Sections = Map<string, { path: string[]; lines: string[] }>;

const BLOCK_END = new Set(['exit', ' exit', ' exit-address-family']);

function sections(text: string): Sections {
  const out: Sections = new Map();
  const stack: string[] = [];
  const add = (line: string) => {
    const key = JSON.stringify(stack);
    let s = out.get(key);
    if (!s) out.set(key, (s = { path: [...stack], lines: [] }));
    if (line !== '') s.lines.push(line);
  };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.trim() === '!') continue;
    if (BLOCK_END.has(line)) {
      stack.pop();
      continue;
    }
    const depth = line.length - line.trimStart().length;
    const opensBlock = /^(bfd|router bgp .*|route-map .*)$/.test(line) || /^ (profile \S+|address-family .*)$/.test(line);
    while (stack.length > depth) stack.pop();
    if (opensBlock) {
      stack.push(line);
      add('');
    } else add(line);
  }
  return out;
}

/** Lines that set one value (a new value replaces the old one without a `no`): their setting. */
function settingKey(line: string, path: readonly string[]): string | undefined {
  const t = line.trim();
  if (path.length === 2 && path[1]?.startsWith(' profile ')) return /^(echo \S+|\S+)/.exec(t)?.[1];
  const n = /^neighbor (\S+) (timers connect|timers|password|local-as|description|port|update-source|bfd profile) /.exec(t);
  if (n) return `neighbor ${n[1]} ${n[2]}`;
  const set = /^set (community|large-community|local-preference) /.exec(t);
  if (set) return `set ${set[1]}`;
  if (/^(bgp router-id|hostname) /.test(t)) return t.split(' ').slice(0, -1).join(' ');
  return undefined;
}

const neighborOf = (line: string): string | undefined => /^\s*neighbor (\S+) /.exec(line)?.[1];
const isRemoteAs = (line: string) => /^ neighbor \S+ (interface )?remote-as /.test(line);

/**
 * The vtysh script that turns FRR configured with `before` (a render) into `after`: `no` for the
 * lines that went (a removed neighbor, route-map entry, BFD profile or router instance as a whole),
 * then the new lines, each under its section headers. Empty when nothing changed.
 */
export function frrConfigDelta(before: string, after: string): string {
  const a = sections(before);
  const b = sections(after);
  const dels: string[] = [];
  const adds: string[] = [];
  const under = (path: string[], body: string[], out: string[], evenEmpty = false) => {
    if (body.length === 0 && !evenEmpty) return;
    out.push(...path, ...body);
    if (path.length === 2) out.push(path[1]?.startsWith(' address-family') ? ' exit-address-family' : ' exit');
    if (path.length >= 1) out.push('exit');
  };
  // Whole sections that went: a block header is removed with `no` at its parent's level.
  const goneHeaders = new Set<string>();
  for (const [k, s] of a) {
    if (b.has(k) || s.path.length === 0) continue;
    const parent = s.path.slice(0, -1);
    const header = s.path.at(-1) as string;
    if (parent.some((h) => goneHeaders.has(JSON.stringify([h])))) continue;
    if (/^ address-family /.test(header)) continue; // its lines go with their neighbors or networks below
    goneHeaders.add(JSON.stringify(s.path));
    under(parent, [`${header.startsWith(' ') ? ' ' : ''}no ${header.trim()}`], dels);
  }
  // Neighbors removed from a router instance that stays: `no neighbor X` takes all their lines.
  for (const [k, s] of a) {
    const routerKey = JSON.stringify(s.path.slice(0, 1));
    if (goneHeaders.has(routerKey) || goneHeaders.has(k)) continue;
    const kept = b.get(k);
    const keptLines = new Set(kept?.lines ?? []);
    const routerAfter = b.get(routerKey)?.lines ?? [];
    const removedNeighbors = new Set(
      (a.get(routerKey)?.lines ?? [])
        .filter(isRemoteAs)
        .map((l) => neighborOf(l) as string)
        .filter((n) => !routerAfter.some((l) => isRemoteAs(l) && neighborOf(l) === n)),
    );
    const had = new Set(s.lines);
    const addedKeys = new Set((kept?.lines ?? []).filter((l) => !had.has(l)).flatMap((l) => settingKey(l, s.path) ?? []));
    const body: string[] = [];
    for (const line of s.lines) {
      if (keptLines.has(line) || line.startsWith('frr defaults')) continue;
      const n = neighborOf(line);
      if (n !== undefined && removedNeighbors.has(n)) {
        if (s.path.length === 1 && isRemoteAs(line)) body.push(` no neighbor ${n}`);
        continue;
      }
      // A changed remote-as is set over the old one (`no` would delete the neighbor); so is any
      // other setting whose new value is added below.
      if (isRemoteAs(line)) continue;
      // `no neighbor X bfd` takes its profile with it.
      if (/^ neighbor \S+ bfd profile /.test(line) && s.lines.includes(` neighbor ${n} bfd`) && !keptLines.has(` neighbor ${n} bfd`))
        continue;
      const key = settingKey(line, s.path);
      if (key !== undefined && addedKeys.has(key)) continue;
      const indent = line.length - line.trimStart().length;
      const reset = key !== undefined && s.path[1]?.startsWith(' profile ') ? BFD_DEFAULTS.get(key) : undefined;
      body.push(`${' '.repeat(indent)}${reset ?? `no ${line.trim()}`}`);
    }
    if (s.path.length === 0) dels.push(...body);
    else under(s.path, body, dels);
  }
  for (const [k, s] of b) {
    const had = new Set(a.get(k)?.lines ?? []);
    const body = s.lines.filter((l) => !had.has(l));
    if (s.path.length === 0) adds.push(...body);
    else under(s.path, body, adds, !a.has(k));
  }
  const script = [...dels, ...adds];
  return script.length === 0 ? '' : `${script.join('\n')}\n`;
}

// Which interfaces the L2 announcer answers on: the L2Advertisement `interfaces` list (empty =
// all) minus MetalLB's default exclusions (its `announcedInterfacesToExclude` list) and the
// interfaces MetalLB's speaker skips by their state: down, NOARP, members of a bond or bridge
// (their master answers instead). Pure: the adapter reads the facts from /sys/class/net.
import type { IpFamily } from './ip-family.js';

export interface IfaceFacts {
  readonly name: string;
  /** Raw IFF_* flags (/sys/class/net/IF/flags). */
  readonly flags: number;
  /** Set when the interface is enslaved to a bond or bridge (/sys/class/net/IF/master exists). */
  readonly master?: string;
}

export const IFF = { up: 0x1, broadcast: 0x2, loopback: 0x8, noarp: 0x80, multicast: 0x1000 } as const;

/** MetalLB's default `announcedInterfacesToExclude`. */
export const DEFAULT_EXCLUDE: readonly string[] = [
  '^docker.*',
  '^cbr.*',
  '^dummy.*',
  '^virbr.*',
  '^lxcbr.*',
  '^veth.*',
  '^lo$',
  '^cali.*',
  '^tunl.*',
  '^flannel.*',
  '^kube-ipvs.*',
  '^cni.*',
  '^nodelocaldns.*',
];

export const IfaceExclusion = {
  notListed: 'notListed',
  excludedByName: 'excludedByName',
  down: 'down',
  noArp: 'noArp',
  loopback: 'loopback',
  member: 'bondOrBridgeMember',
  noBroadcast: 'noBroadcast',
  noMulticast: 'noMulticast',
} as const;
export type IfaceExclusion = (typeof IfaceExclusion)[keyof typeof IfaceExclusion];

export interface IfaceSelection {
  readonly selected: readonly string[];
  readonly excluded: ReadonlyArray<{ readonly name: string; readonly reason: IfaceExclusion }>;
}

/**
 * Picks the interfaces to answer on, sorted by name. `wanted` is the L2Advertisement
 * `interfaces` list (undefined or empty = every interface); `exclude` is a list of regular
 * expressions (default: MetalLB's). Exclusions apply even to listed interfaces, as in MetalLB,
 * where an excluded interface is never listened on. With `family`, also as MetalLB: ARP (4) needs
 * a broadcast-capable interface, NDP (6) a multicast-capable one.
 */
export function selectInterfaces(
  facts: readonly IfaceFacts[],
  wanted?: readonly string[],
  exclude: readonly string[] = DEFAULT_EXCLUDE,
  family?: IpFamily,
): IfaceSelection {
  const res = exclude.map((e) => new RegExp(e));
  const selected: string[] = [];
  const excluded: Array<{ name: string; reason: IfaceExclusion }> = [];
  for (const f of [...facts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const reason = exclusion(f, wanted, res, family);
    if (reason) excluded.push({ name: f.name, reason });
    else selected.push(f.name);
  }
  return { selected, excluded };
}

function exclusion(
  f: IfaceFacts,
  wanted: readonly string[] | undefined,
  res: readonly RegExp[],
  family: IpFamily | undefined,
): IfaceExclusion | undefined {
  if (wanted && wanted.length > 0 && !wanted.includes(f.name)) return IfaceExclusion.notListed;
  if (res.some((r) => r.test(f.name))) return IfaceExclusion.excludedByName;
  if (f.flags & IFF.loopback) return IfaceExclusion.loopback;
  if (!(f.flags & IFF.up)) return IfaceExclusion.down;
  if (f.flags & IFF.noarp) return IfaceExclusion.noArp;
  if (f.master !== undefined) return IfaceExclusion.member;
  if (family === 4 && !(f.flags & IFF.broadcast)) return IfaceExclusion.noBroadcast;
  if (family === 6 && !(f.flags & IFF.multicast)) return IfaceExclusion.noMulticast;
  return undefined;
}

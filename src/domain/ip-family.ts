// The one IP family type: 4 or 6. Strings exist only at the edges, converted here: Kubernetes
// writes 'IPv4'/'IPv6' (Service spec.ipFamilies, pool status names, messages users read) and BGP
// configuration names address families 'ipv4'/'ipv6' (MetalLB, FRR, GoBGP). Pure.

export type IpFamily = 4 | 6;

/** Kubernetes' spelling (core/v1 IPFamily). */
export type KubeIpFamily = 'IPv4' | 'IPv6';
/** BGP configuration's spelling of an address family (AFI). */
export type BgpIpFamily = 'ipv4' | 'ipv6';

export const IP_FAMILIES: readonly IpFamily[] = [4, 6];

/** 'IPv4'/'IPv6': for Kubernetes values and for messages. */
export const kubeFamily = (f: IpFamily): KubeIpFamily => (f === 4 ? 'IPv4' : 'IPv6');
export const fromKubeFamily = (s: string): IpFamily | undefined => (s === 'IPv4' ? 4 : s === 'IPv6' ? 6 : undefined);

export const bgpFamily = (f: IpFamily): BgpIpFamily => (f === 4 ? 'ipv4' : 'ipv6');
export const fromBgpFamily = (s: string): IpFamily | undefined => (s === 'ipv4' ? 4 : s === 'ipv6' ? 6 : undefined);

export const otherFamily = (f: IpFamily): IpFamily => (f === 4 ? 6 : 4);
export const familyBits = (f: IpFamily): number => (f === 4 ? 32 : 128);

/** The family of an address or prefix written as text (no validation: a colon means IPv6). */
export const familyOfText = (s: string): IpFamily => (s.includes(':') ? 6 : 4);

/**
 * An IPv6 link-local address (fe80::/10) written as text, an optional `%zone` allowed (no
 * validation of the rest: the first group must be written with its four digits, as every
 * formatter does).
 */
export const isLinkLocalText = (s: string): boolean => /^fe[89ab][0-9a-f]:/i.test(s);

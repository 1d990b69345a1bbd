// BGP communities as written in BGPAdvertisement and Community objects: standard "AA:NN"
// (RFC 1997, two 16-bit halves) and large "large:GA:LD1:LD2" (RFC 8092, three 32-bit parts).
// Anything else without a colon is an alias name. Pure.
export type BgpCommunity =
  | { kind: 'standard'; value: number; text: string }
  | { kind: 'large'; globalAdmin: number; localData1: number; localData2: number; text: string };

export type CommunityParse = { ok: true; value: BgpCommunity } | { ok: false; format: boolean; message: string };

const u = (s: string, max: number): number | undefined => (/^\d+$/.test(s) && Number(s) <= max ? Number(s) : undefined);

/** `format: true` errors mean "not a community at all" (maybe an alias), false means a bad value. */
export function parseCommunity(text: string): CommunityParse {
  const parts = text.split(':');
  if (parts[0] === 'large') {
    if (parts.length !== 4)
      return { ok: false, format: false, message: `invalid large community format ${JSON.stringify(text)}: want large:GA:LD1:LD2` };
    const [ga, l1, l2] = parts.slice(1).map((p) => u(p, 0xffffffff));
    if (ga === undefined || l1 === undefined || l2 === undefined) {
      return {
        ok: false,
        format: false,
        message: `invalid large community value ${JSON.stringify(text)}: each part must be a 32-bit unsigned number`,
      };
    }
    return { ok: true, value: { kind: 'large', globalAdmin: ga, localData1: l1, localData2: l2, text: `large:${ga}:${l1}:${l2}` } };
  }
  if (parts.length === 2) {
    const [a, b] = parts.map((p) => u(p, 0xffff));
    if (a === undefined || b === undefined) {
      return {
        ok: false,
        format: false,
        message: `invalid community value ${JSON.stringify(text)}: both halves must be 16-bit unsigned numbers (0-65535)`,
      };
    }
    return { ok: true, value: { kind: 'standard', value: a * 65536 + b, text: `${a}:${b}` } };
  }
  return {
    ok: false,
    format: true,
    message: `invalid community format ${JSON.stringify(text)}: want AA:NN, large:GA:LD1:LD2 or a Community alias`,
  };
}

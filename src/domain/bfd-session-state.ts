// The vocabulary of a BFD session that lies below the bfdSession machine: its RFC 5880 §6.2
// state names and why it last left Up. The machine (src/machines/bfd-session.machine.ts) stores
// and re-exports them; the BFD → BGP coupling (bfd-coupling.ts) reads them without importing
// the machine.

/** The RFC state of a snapshot's `session` region. */
export type BfdSessionStateName = 'adminDown' | 'down' | 'init' | 'up';

/** Why the session last left Up/Init (or is not up); read by BGP coupling, logs and metrics. */
export type BfdDownReason = 'detectTimeExpired' | 'neighborDown' | 'neighborAdminDown' | 'adminDown';

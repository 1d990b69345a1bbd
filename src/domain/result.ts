// The one result type of the code base: an expected failure is a value, not a throw (STYLE).
// Decoders, parsers and encoders return it; `ok`/`err` build it.

/** Success with a `value`, or failure with an `error` (a message string unless a richer type is given). */
export type Result<T, E = string> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

// Test helper: the value of an encoder's Result, or a failed test naming the error.
import assert from 'node:assert/strict';
import type { EncodeError, Result } from './types.js';

export function must<T>(r: Result<T, EncodeError>): T {
  if (!r.ok) assert.fail(`encode failed: ${r.error.message}`);
  return r.value;
}

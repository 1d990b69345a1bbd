// KV error classification of the NATS adapter: JetStream's "wrong last sequence" is a lost
// compare-and-set (`conflict`); a timeout, no responders, a closed connection or another API
// error means the KV is `unavailable`. The errors are the client library's own classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JetStreamApiError, JetStreamApiCodes } from '@nats-io/jetstream';
import { ClosedConnectionError, NoRespondersError, TimeoutError, errors } from '@nats-io/transport-node';
import { kvErrorKind, kvWrite } from './nats.js';

const apiError = (err_code: number, description: string) => new JetStreamApiError({ err_code, code: 400, description });

test('kvErrorKind: wrong last sequence is a conflict, everything else is unavailable', () => {
  const cases: Array<{ desc: string; err: unknown; want: 'conflict' | 'unavailable' }> = [
    {
      desc: 'update at a stale revision',
      err: apiError(JetStreamApiCodes.StreamWrongLastSequence, 'wrong last sequence: 7'),
      want: 'conflict',
    },
    {
      desc: 'create of an existing key',
      err: apiError(JetStreamApiCodes.StreamWrongLastSequenceUnknown, 'wrong last sequence unknown'),
      want: 'conflict',
    },
    { desc: 'request timeout', err: new TimeoutError(), want: 'unavailable' },
    { desc: 'no responders (stream without a leader)', err: new NoRespondersError('$JS.API.STREAM.MSG.GET.KV_x'), want: 'unavailable' },
    { desc: 'connection closed', err: new ClosedConnectionError(), want: 'unavailable' },
    {
      desc: 'request error wrapping a timeout',
      err: new errors.RequestError('request failed', { cause: new TimeoutError() }),
      want: 'unavailable',
    },
    { desc: 'JetStream temporarily unavailable', err: apiError(10008, 'JetStream system temporarily unavailable'), want: 'unavailable' },
    { desc: 'not an Error', err: 'boom', want: 'unavailable' },
  ];
  for (const c of cases) assert.equal(kvErrorKind(c.err), c.want, c.desc);
});

test('kvWrite: a revision on success, the kind and message on failure, never a rejection', async () => {
  assert.deepEqual(await kvWrite(async () => 12), { ok: true, revision: 12 });
  assert.deepEqual(
    await kvWrite(async () => {
      throw apiError(JetStreamApiCodes.StreamWrongLastSequence, 'wrong last sequence: 3');
    }),
    { ok: false, kind: 'conflict', error: 'JetStreamApiError: wrong last sequence: 3' },
  );
  const t = await kvWrite(async () => {
    throw new TimeoutError();
  });
  assert.equal(t.ok, false);
  assert.equal(!t.ok && t.kind, 'unavailable');
});

// loadManifests on nasty input: every document that cannot be read is one problem at its
// `file#doc`, and the documents after it (and the other files) are still read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { fastDocuments, loadManifests } from './manifests.js';
import { formatConfigError, originKey, parseConfig, shortenValues } from './config.js';

const pool = (name: string, addr: string) =>
  `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: ${name}\nspec:\n  addresses: [${addr}]\n`;

function aliasBomb(levels: number): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

test('an alias bomb is one problem for its document; the next document and the next file are read', () => {
  const r = loadManifests([
    { file: 'a.yaml', text: [aliasBomb(10), pool('p1', '198.51.100.0/28')].join('---\n') },
    { file: 'b.yaml', text: pool('p2', '203.0.113.0/28') },
  ]);
  assert.equal(r.problems.length, 1);
  assert.deepEqual({ ...r.problems[0], message: undefined }, { file: 'a.yaml', doc: 1, message: undefined });
  assert.match(r.problems[0]?.message ?? '', /^YAML aliases expand too far \(an alias bomb\?\): [^\n]+$/);
  assert.deepEqual(
    r.snapshot.objects.map((o) => (o.metadata as { name: string }).name),
    ['p1', 'p2'],
  );
  assert.deepEqual(r.origin.get(originKey('IPAddressPool', 'p1')), { file: 'a.yaml', doc: 2 });
  assert.deepEqual(r.origin.get(originKey('IPAddressPool', 'p2')), { file: 'b.yaml', doc: 1 });
});

test('a document without kind (or with a non-string name) keeps its location under the name config errors use', () => {
  const r = loadManifests([
    {
      file: 'x.yaml',
      text: [pool('p', '198.51.100.0/28'), 'metadata:\n  name: nokind\n', 'kind: 7\nmetadata:\n  name: [1]\n'].join('---\n'),
    },
  ]);
  const res = parseConfig(r.snapshot);
  assert.equal(res.ok, false);
  const located = (res.ok ? [] : res.errors).map((e) => ({ at: r.origin.get(originKey(e.kind, e.name)), line: formatConfigError(e) }));
  assert.deepEqual(located, [
    {
      at: { file: 'x.yaml', doc: 3 },
      line: '(none)/(unnamed): kind: unknown kind 7: expected one of IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile, Community',
    },
    {
      at: { file: 'x.yaml', doc: 2 },
      line: '(none)/nokind: kind: Required value: no kind: expected one of IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile, Community',
    },
  ]);
});

test('a 5,001-digit number is "must be of type string" with what it became, never null', () => {
  const r = loadManifests([{ file: 'x.yaml', text: pool('p', '9'.repeat(5001)) }]);
  const res = parseConfig(r.snapshot);
  assert.equal(res.ok, false);
  assert.deepEqual((res.ok ? [] : res.errors).map(formatConfigError), [
    'IPAddressPool/p: spec.addresses[0]: must be of type string, got number Infinity (a number too large to represent)',
  ]);
});

test('long values are shortened to their first 80 characters and their length, on one line', () => {
  const big = 'y'.repeat(5 * 1024 * 1024);
  const r = loadManifests([{ file: 'x.yaml', text: pool(big, `"${big}"`) }]);
  const res = parseConfig(r.snapshot);
  const lines = (res.ok ? [] : res.errors).map(formatConfigError);
  assert.deepEqual(lines, [
    `IPAddressPool/${'y'.repeat(80)}… (5242880 chars): spec.addresses[0]: invalid CIDR "${'y'.repeat(80)}…" (5242880 chars)`,
  ]);
  assert.equal(shortenValues('a "b\\nc"\nnext'), 'a "b\\nc"\\nnext');
  assert.equal(shortenValues(lines[0] ?? ''), lines[0], 'shortening twice changes nothing');
  const escaped = JSON.stringify(`"${'q'.repeat(100)}`);
  assert.equal(shortenValues(`v ${escaped}`), `v ${escaped.slice(0, 81)}…" (101 chars)`);
});

test('a Secret, Node or Namespace that config resolution would trip over is a problem, not a throw', () => {
  const r = loadManifests([
    {
      file: 's.yaml',
      text: [
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: kubernetes.io/basic-auth\ndata:\n  password: "%%%"\n',
        'apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels:\n    a: [1]\n',
        'apiVersion: v1\nkind: Namespace\nmetadata: 5\n',
      ].join('---\n'),
    },
  ]);
  assert.deepEqual(r.problems, [
    { file: 's.yaml', doc: 1, message: 'Secret/s: data.password: not valid base64' },
    { file: 's.yaml', doc: 2, message: 'Node/n1: metadata.labels: must map label names to strings' },
    { file: 's.yaml', doc: 3, message: 'Namespace/(unnamed): metadata: must be a mapping with a name' },
  ]);
  assert.deepEqual([r.snapshot.secrets, r.snapshot.nodes, r.snapshot.namespaces], [[], [], []]);
});

/** What `yaml` (the parser that reports each document's problem) makes of a file, or undefined if any document has an error. */
function byYaml(text: string): unknown[] | undefined {
  try {
    const docs = parseAllDocuments(text);
    const list = Array.isArray(docs) ? docs : [docs];
    return list.some((d) => d.errors.length > 0) ? undefined : list.map((d) => d.toJS() as unknown);
  } catch {
    return undefined;
  }
}

test('the fast parser reads a file only when it reads it exactly as yaml does; otherwise yaml reads it', () => {
  const cases: Array<[string, 'fast' | 'yaml']> = [
    ['a: 1\n---\n---\nb: 2\n', 'fast'],
    ['# only a comment\n---\na: 1\n---\n', 'fast'],
    ['%YAML 1.2\n---\na: 1\n...\n---\nb: 2\n', 'fast'],
    ['a: 0x1F\nb: 0o17\nc: 017\nd: 1e3\ne: .inf\nf: -.Inf\ng: .nan\nh: ~\ni: Null\nj: yes\nk: True\nl: 1_000\nm: 2021-01-01\n', 'fast'],
    ["a: \"x\\ty\"\nb: 'it''s'\nc: |\n  l1\n  l2\nd: >\n  f1\n  f2\ne: [1, {f: 2}]\n? g\n: 1\n", 'fast'],
    ['a: 9007199254740993\nb: -0\nc: "1e400"\n', 'yaml'], // a quoted overflowing number is left to yaml too (cannot tell)
    [`big: ${'9'.repeat(5001)}\n`, 'yaml'],
    ['a: 1e400\n', 'yaml'],
    ['~: 1\n', 'yaml'],
    ['null: 1\n', 'yaml'],
    ['a: &x 1\nb: *x\n', 'yaml'],
    ['a: !foo x\n', 'yaml'],
    ['a: !!binary aGk=\n', 'yaml'],
    ['a: 1\na: 2\n', 'yaml'],
    ['a: [a, b\n---\nb: 1\n', 'yaml'],
    [aliasBomb(10), 'yaml'],
    [`${'['.repeat(120)}${']'.repeat(120)}\n`, 'yaml'],
  ];
  for (const [text, who] of cases) {
    const fast = fastDocuments(text);
    assert.equal(fast ? 'fast' : 'yaml', who, text.slice(0, 60));
    if (fast) assert.deepEqual(fast, byYaml(text), text.slice(0, 60));
  }
});

test('property: whatever the fast parser reads, it reads as yaml does', () => {
  const scalar = fc.oneof(
    fc.string(),
    fc.constantFrom(
      'null',
      '~',
      'yes',
      'no',
      'True',
      '0x1F',
      '0o17',
      '017',
      '1e400',
      '-.inf',
      '.NaN',
      '1_000',
      '2001:db8::/64',
      '- a',
      'a: b',
      '#x',
      "'",
      '"',
    ),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
  const key = fc.oneof(fc.string(), fc.constantFrom('null', '~', 'true', '1', '<<', 'a b', '? x', '- y'));
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      scalar,
      fc.array(tie('node'), { maxLength: 4 }),
      fc.dictionary(key, tie('node'), { maxKeys: 4 }),
    ),
  })).node;
  const styles = fc.constantFrom<NonNullable<Parameters<typeof stringify>[2]>>(
    {},
    { collectionStyle: 'flow' },
    { defaultStringType: 'QUOTE_DOUBLE' },
    { defaultStringType: 'BLOCK_LITERAL' },
    { defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' },
  );
  let runs = 0;
  let fastRuns = 0;
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 3 }), styles, (docs, style) => {
      const text = docs.map((d) => stringify(d, null, style)).join('---\n');
      const fast = fastDocuments(text);
      runs++;
      if (fast) {
        fastRuns++;
        assert.deepEqual(fast, byYaml(text));
      }
    }),
    { numRuns: 1500 },
  );
  assert.ok(fastRuns > runs / 2, `the fast parser read ${fastRuns} of ${runs} files: the property says little`);
});

test('a block scalar with an indentation indicator is left to yaml (the two disagree on its leading spaces)', () => {
  const text = '|1-\n !\n---\nnull\n';
  assert.deepEqual(byYaml(text), ['!', null]);
  assert.equal(fastDocuments(text), undefined);
  assert.notEqual(fastDocuments('a: |\n  x\n'), undefined, 'a plain block scalar is still read fast');
});

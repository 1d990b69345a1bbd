// A node:test reporter that says nothing until the run ends, then lists every failed test with its
// file, its parents' names and the first lines of its error: the end of a long CI log (the part a
// reader sees first) then names each failure and why, not only the last test's TAP.
// Used by scripts/test.mjs beside the TAP reporter.
const MAX_ERROR_CHARS = 1500;

function errorText(err) {
  if (!err) return '(no error)';
  const e = err.cause ?? err;
  const raw = typeof e === 'object' && e !== null ? (e.stack ?? e.message ?? String(e)) : String(e);
  // Node's own frames say nothing about the failure.
  const text = raw
    .split('\n')
    .filter((l) => !/^\s+at .*\(?node:(internal|async_hooks)/.test(l))
    .join('\n');
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)} …` : text;
}

export default async function* failures(source) {
  const paths = new Map(); // per file: files may run side by side
  const failed = [];
  for await (const { type, data } of source) {
    if (type !== 'test:start' && type !== 'test:fail') continue;
    const path = paths.get(data.file) ?? [];
    paths.set(data.file, path);
    if (type === 'test:start') path[data.nesting] = data.name;
    if (type !== 'test:fail') continue;
    // A suite that failed only because a test in it did: that test is listed itself.
    if (data.details?.error?.failureType === 'subtestsFailed') continue;
    failed.push({ where: [...path.slice(0, data.nesting), data.name].join(' › '), file: data.file, error: errorText(data.details?.error) });
  }
  if (failed.length === 0) return;
  yield `\n*** ${failed.length} failed test${failed.length === 1 ? '' : 's'}:\n`;
  for (const f of failed) yield `\n--- ${f.where}\n    (${f.file ?? 'unknown file'})\n${f.error.replace(/^/gm, '    ')}\n`;
}

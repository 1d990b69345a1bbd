// An esbuild plugin (scripts/bundle.mjs): @kubernetes/client-node as the bundles load it, only what
// a component uses evaluated at start. Measured on Node 20 (RSS over a bare process, after import
// and 3 GCs): its barrel +20–27 MB; KubeConfig alone (dist/config.js) still +18–22 MB, because
//   - its generated code (dist/gen: ~760 model classes, every API group) has no `sideEffects`
//     declaration, and each model's static fields are assignments after the class, so esbuild
//     keeps all of them: marked side-effect free here, what a component does not import is dropped;
//   - its own copy of undici (+13 MB at import) is imported at the top of config.js and watch.js,
//     though only its fetch and its Agents use it (requests through client-node's generated API
//     classes or its Watch; src/adapters/kube/rest.ts does neither): the binding is loaded on
//     first use instead;
//   - cache.js (ListWatch) imports the ObjectSerializer (every model's type map) for label and
//     field selectors only: also loaded on first use.
// A lazily loaded binding is a Proxy that requires the real module the first time it is called,
// constructed or read (esbuild bundles the require and runs the module then), so behaviour is
// the same, only later. The controller, which uses the generated API classes, loads them all as before.
import { dirname } from 'node:path';

/** Imports (by importer file and import path) whose bindings are loaded on first use. */
const LAZY = [
  { importer: /client-node\/dist\/.+\.js$/, path: /^(undici|socks|socks-proxy-agent|hpagent)$/ },
  { importer: /client-node\/dist\/cache\.js$/, path: /^\.\/serializer\.js$/ },
];

const proxyModule = (spec, names) => `
let m;
const load = () => (m ??= require(${JSON.stringify(spec)}));
const lazy = (name) => new Proxy(function () {}, {
  apply: (_, self, args) => Reflect.apply(load()[name], self, args),
  construct: (_, args, nt) => Reflect.construct(load()[name], args),
  get: (_, k) => { const v = load()[name][k]; return typeof v === 'function' ? v.bind(load()[name]) : v; },
  has: (_, k) => k in load()[name],
});
${names.map((n) => `export const ${n} = lazy(${JSON.stringify(n)});`).join('\n')}
`;

export const leanClientNode = {
  name: 'lean-client-node',
  setup(b) {
    b.onResolve({ filter: /./ }, async (a) => {
      if (a.pluginData?.lean) return undefined;
      if (!/@kubernetes\/client-node\//.test(a.importer) && !/client-node\/dist\/gen\//.test(a.path)) return undefined;
      const lazy = LAZY.some((l) => l.importer.test(a.importer) && l.path.test(a.path));
      if (lazy && a.kind === 'import-statement')
        return { path: `${a.importer}::${a.path}`, namespace: 'lean-lazy', pluginData: { spec: a.path, dir: dirname(a.importer) } };
      const r = await b.resolve(a.path, { kind: a.kind, resolveDir: a.resolveDir, importer: a.importer, pluginData: { lean: true } });
      if (r.errors.length === 0 && /@kubernetes\/client-node\/dist\/gen\//.test(r.path)) return { ...r, sideEffects: false };
      return r;
    });
    // config.js takes two names from the generated barrel (gen/index.js, which re-exports every model
    // and API): taken from their own modules, so the rest is not part of what imports config.js.
    b.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (a) =>
      /client-node\/dist\/config\.js$/.test(a.importer) ? { path: a.importer, namespace: 'lean-gen' } : undefined,
    );
    b.onLoad({ filter: /./, namespace: 'lean-gen' }, (a) => ({
      contents: `export { createConfiguration } from './gen/configuration.js';\nexport { ServerConfiguration } from './gen/servers.js';\n`,
      loader: 'js',
      resolveDir: dirname(a.path),
    }));
    b.onLoad({ filter: /./, namespace: 'lean-lazy' }, async (a) => {
      // The names the importer takes from the module: the proxy exports exactly those.
      const { readFile } = await import('node:fs/promises');
      const importer = a.path.slice(0, a.path.lastIndexOf('::'));
      const src = await readFile(importer, 'utf8');
      const names = new Set();
      const re = new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*['"]${a.pluginData.spec.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}['"]`, 'g');
      for (const m of src.matchAll(re))
        for (const part of m[1].split(',')) {
          const n = part
            .trim()
            .split(/\s+as\s+/)[0]
            ?.trim();
          if (n && !n.startsWith('type ')) names.add(n);
        }
      return { contents: proxyModule(a.pluginData.spec, [...names]), loader: 'js', resolveDir: a.pluginData.dir };
    });
  },
};

#!/usr/bin/env node
// Checks that the approved native addons load (pcap for raw ARP/NDP). `npm ci` builds pcap
// against libpcap-dev (package.json "allowScripts"); when the package was missing at install
// time this rebuilds it, or says exactly what is missing.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const require = createRequire(import.meta.url);
function loads() {
  try {
    require('pcap');
    return true;
  } catch {
    return false;
  }
}
if (loads()) {
  console.log('native: pcap addon loads');
  process.exit(0);
}
if (!existsSync('/usr/include/pcap.h') && !existsSync('/usr/include/pcap/pcap.h')) {
  console.error('native: libpcap headers missing: apt-get install libpcap-dev (scripts/install-deps.sh), then npm run native');
  process.exit(1);
}
console.log('native: building pcap addon');
const r = spawnSync('npm', ['rebuild', 'pcap', '--ignore-scripts=false'], { stdio: 'inherit' });
if (r.status !== 0 || !loads()) {
  console.error('native: the pcap addon does not build or load; see the npm output above');
  process.exit(1);
}
console.log('native: pcap addon built');

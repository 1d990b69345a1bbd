// Builds what the visualizer page needs and writes it to stdout as one JSON object
// ({ script, charts }): the page bundle (esbuild) and the statecharts laid out with elkjs. Run by
// `loadVizAssets` (src/adapters/viz-server.ts) as a short-lived child process, so the layout
// engine's ~50 MB never stays in the long-running viz process.
import { bundlePage } from '../adapters/viz-server.js';
import { layoutCharts } from '../actors/viz-charts.js';

const [script, charts] = await Promise.all([bundlePage(), layoutCharts()]);
process.stdout.write(JSON.stringify({ script, charts }));

import type { Demo } from './demo.js';
import { MARK, TRANSPORT_LABELS } from './demo-header.js';
import { GUIDE_NAME } from './guide-page.js';
import { escapeHtml } from './html.js';

/** The `/demo/` page: one card per demo, with its transport and why, and a link to the transport guide. */
export function indexPage(demos: readonly Demo[]): string {
  const cards = demos
    .map(
      (demo) => `<a class="card demo-card" href="${demo.name}/" data-transport="${demo.transport}" data-demo="${demo.name}">
  <h2>${escapeHtml(demo.title)}</h2>
  <p>${escapeHtml(demo.summary)}</p>
  <p class="uses"><span class="pill">${escapeHtml(TRANSPORT_LABELS[demo.transport])}</span> ${escapeHtml(demo.why)}</p>
</a>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<meta name="color-scheme" content="light dark" />
<title>Herald · demos</title>
<link rel="icon" href="data:," />
<link rel="stylesheet" href="assets/demo.css" />
</head>
<body>
<div class="wrap">
<header class="top">
  <div>
    <div class="brand">${MARK}<h1>Herald demos</h1><a class="tag" href="../">back to the live demo</a></div>
    <p class="lede">Small real apps on one hub, each on the transport that fits its use case, with a switch to try the others. Open one in two windows to see them talk.</p>
    <p class="lede" id="guide-link">Which transport for your own app? <a href="${GUIDE_NAME}/">Choosing a transport</a>: the measured answer for seven use cases, and how to measure yours with <code>herald bench</code>.</p>
  </div>
</header>
<main class="demo-grid">
${cards}
</main>
</div>
</body>
</html>
`;
}

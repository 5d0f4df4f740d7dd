import type { Demo, DemoTransport } from './demo.js';
import { escapeHtml } from './html.js';

/** How the pages name each transport. */
export const TRANSPORT_LABELS: Readonly<Record<DemoTransport, string>> = {
  websocket: 'WebSocket',
  sse: 'Server-Sent Events',
  polling: 'HTTP long-polling',
};

/** The transports' names in the switch. */
const SHORT_LABELS: Readonly<Record<DemoTransport, string>> = { websocket: 'WebSocket', sse: 'SSE', polling: 'long-polling' };

/** The brand mark of the landing page. */
export const MARK = `<svg class="mark" viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="8" fill="currentColor" opacity="0.08"></rect><path d="M9 8v16M23 8v16M9 16h14" stroke="currentColor" stroke-width="3" stroke-linecap="round" fill="none"></path><circle cx="16" cy="16" r="2.6" fill="#3ccf7e"></circle></svg>`;

/**
 * The header every demo page shows in place of its `<!-- demo:header -->`: the title, the
 * transport it uses and why, the transport it is connected over (`#transport-now`, filled in by
 * the page) and the switch to try the others (`#transport-select`).
 */
export function demoHeader(demo: Demo): string {
  const options = (['auto', 'websocket', 'sse', 'polling'] as const)
    .map((t) => {
      const label = t === 'auto' ? `auto (${SHORT_LABELS[demo.transport]} first)` : `${SHORT_LABELS[t]} only`;
      return `<option value="${t}">${escapeHtml(label)}</option>`;
    })
    .join('');
  return `<header class="top">
  <div>
    <div class="brand">${MARK}<h1>${escapeHtml(demo.title)}</h1><a class="tag" href="../">all demos</a></div>
    <p class="lede">${escapeHtml(demo.summary)}</p>
  </div>
  <section class="card transport" aria-label="Transport" data-transport="${demo.transport}">
    <p class="why"><strong>Uses ${escapeHtml(TRANSPORT_LABELS[demo.transport])}.</strong> ${escapeHtml(demo.why)}</p>
    <div class="transport-row">
      <span class="state" id="transport-now" data-state="connecting">connecting</span>
      <label>Try <select id="transport-select">${options}</select></label>
    </div>
  </section>
</header>`;
}

// Renders docs/choosing-a-transport.md into the page the demo host serves at /demo/choosing-a-transport/,
// at build time (no markdown parser at run time, no CDN). Built from the markdown, the page cannot
// drift from the doc. What cannot work on a hub is rewritten: links to other docs become plain text
// naming the file (docs/client.md), links to a demo (demos.md#chat, /demo/chat) go to its page, the
// doc's pictures are copied beside the demos' shared assets. Headings get GitHub's ids, so the
// doc's own #anchors (and links into it from elsewhere) work; an #anchor with no heading fails the build.
import { Marked, Renderer } from 'marked';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';

/** The guide's folder under dist/pages/ and its path under /demo/. */
export const GUIDE_NAME = 'choosing-a-transport';

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function unescapeHtml(text) {
  return text.replace(/&(?:#(\d+)|amp|lt|gt|quot);/g, (entity, code) =>
    code !== undefined ? String.fromCharCode(Number(code)) : { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"' }[entity],
  );
}

/** GitHub's heading id: lowercase, punctuation dropped, spaces to `-`; `-1`, `-2`… for repeats. */
function slugger() {
  const seen = new Map();
  return (text) => {
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  };
}

/**
 * The guide as HTML: `{ title, body, images }`. `title` is the markdown's `#` heading (left out of
 * `body`; the page's header shows it); `images` maps each picture's repository path
 * (`docs/images/x.png`) to its file name under `assets/`. `demoNames`: the demos whose pages exist.
 */
export function renderGuide(markdown, demoNames) {
  const slug = slugger();
  const ids = new Set();
  const anchors = [];
  const images = new Map();
  let title;
  const demoHref = (href) => {
    const fromDocs = /^demos\.md#([a-z0-9-]+)$/.exec(href);
    if (fromDocs !== null && demoNames.includes(fromDocs[1])) return `../${fromDocs[1]}/`;
    const absolute = /^\/demo\/([a-z0-9-]+)\/?(.*)$/.exec(href);
    if (absolute !== null && demoNames.includes(absolute[1])) return `../${absolute[1]}/${absolute[2]}`;
    return undefined;
  };
  const marked = new Marked({
    gfm: true,
    renderer: {
      heading({ tokens, depth }) {
        const text = this.parser.parseInline(tokens);
        if (depth === 1 && title === undefined) {
          title = unescapeHtml(this.parser.parseInline(tokens, this.parser.textRenderer));
          return '';
        }
        const id = slug(unescapeHtml(this.parser.parseInline(tokens, this.parser.textRenderer)));
        ids.add(id);
        return `<h${depth} id="${id}"><a class="anchor" href="#${id}" aria-hidden="true">#</a>${text}</h${depth}>\n`;
      },
      link({ href, tokens }) {
        const text = this.parser.parseInline(tokens);
        if (href.startsWith('#')) {
          anchors.push(href.slice(1));
          return `<a href="${escapeHtml(href)}">${text}</a>`;
        }
        if (/^https?:\/\//.test(href)) return `<a href="${escapeHtml(href)}">${text}</a>`;
        const demo = demoHref(href);
        if (demo !== undefined) return `<a href="${escapeHtml(demo)}">${text}</a>`;
        // Another file of the repository: the hub does not serve it, so name it instead of linking.
        const file = posix.normalize(`docs/${href.replace(/#.*$/, '')}`);
        const plain = this.parser.parseInline(tokens, this.parser.textRenderer);
        const named = `<code class="doc-ref">${escapeHtml(file)}</code>`;
        return file.endsWith(`/${unescapeHtml(plain)}`) ? named : `${text} in ${named}`;
      },
      image({ href, text }) {
        if (/^[a-z]+:/i.test(href)) throw new Error(`${GUIDE_NAME}: the page serves no outside picture (${href})`);
        const file = posix.normalize(`docs/${href}`);
        const name = posix.basename(file);
        images.set(file, name);
        return `<img src="../assets/${escapeHtml(name)}" alt="${escapeHtml(text)}" loading="lazy" />`;
      },
      table(token) {
        // The default table, in a box of its own that scrolls sideways on a narrow screen.
        return `<div class="table-scroll">${Renderer.prototype.table.call(this, token)}</div>\n`;
      },
    },
  });
  const body = marked.parse(markdown, { async: false });
  const missing = anchors.filter((a) => !ids.has(a));
  if (missing.length > 0) throw new Error(`${GUIDE_NAME}: no heading for #${missing.join(', #')}`);
  if (title === undefined) throw new Error(`${GUIDE_NAME}: the markdown has no # title`);
  return { title, body, images };
}

/** The page: the shared styles, `<!-- demo:mark -->` where the host puts the brand mark. */
export function guidePage({ title, body }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<meta name="color-scheme" content="light dark" />
<title>Herald · ${escapeHtml(title)}</title>
<link rel="icon" href="data:," />
<link rel="stylesheet" href="../assets/demo.css" />
</head>
<body>
<div class="wrap">
<header class="top">
  <div>
    <div class="brand"><!-- demo:mark --><h1>${escapeHtml(title)}</h1></div>
    <nav class="guide-nav"><a href="../../">live demo</a> · <a href="../">all demos</a> · from <code>docs/${GUIDE_NAME}.md</code></nav>
  </div>
</header>
<main class="card guide">
${body}</main>
</div>
</body>
</html>
`;
}

/** Writes `<out>/choosing-a-transport/index.html` and the guide's pictures into `<out>/assets/`. */
export async function buildGuide(repoRoot, out, demoNames) {
  const rendered = renderGuide(await readFile(`${repoRoot}docs/${GUIDE_NAME}.md`, 'utf8'), demoNames);
  await mkdir(`${out}${GUIDE_NAME}`, { recursive: true });
  await writeFile(`${out}${GUIDE_NAME}/index.html`, guidePage(rendered));
  await Promise.all([...rendered.images].map(([file, name]) => copyFile(`${repoRoot}${file}`, `${out}assets/${name}`)));
}

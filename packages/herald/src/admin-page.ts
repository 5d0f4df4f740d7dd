import { readFileSync } from 'node:fs';
import { inlineBaseStyles } from './page-styles.js';

/**
 * The operations console's HTML (one page, its CSS and JS inline, `public/base.css` among them,
 * nothing from a CDN), served at
 * `/admin` under the hub's mount path with `createHerald({ admin: true, adminPage: loadAdminPage() })`; `herald
 * start` serves it in both profiles. The page holds no secret: it asks for the API key or an
 * admin token and calls the admin API (`api/admin/…`) and the SDK bundle (`sdk/herald-client.js`)
 * relative to itself.
 */
export function loadAdminPage(): string {
  return inlineBaseStyles(readFileSync(new URL('../public/admin.html', import.meta.url), 'utf8'));
}

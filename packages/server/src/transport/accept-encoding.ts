/** The content codings the hub answers with. */
export type ContentCoding = 'gzip' | 'br';

/**
 * The coding to answer a request with, from its `Accept-Encoding` (RFC 9110 §12.5.3): `br` when
 * it may (`preferBr`) and the client accepts it at least as much as gzip, else `gzip` when accepted,
 * else `undefined` (identity). A coding with `q=0` is refused; `*` stands for the codings not named.
 */
export function pickCoding(header: string | string[] | undefined, preferBr: boolean): ContentCoding | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  let gzip: number | undefined;
  let br: number | undefined;
  let any: number | undefined;
  for (const element of text.split(',')) {
    const [name, ...params] = element.split(';');
    const coding = name!.trim().toLowerCase();
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=');
      if (key?.trim().toLowerCase() !== 'q') continue;
      const parsed = Number(value?.trim());
      q = Number.isFinite(parsed) && parsed >= 0 && parsed <= 1 ? parsed : 0;
    }
    if (coding === 'gzip' || coding === 'x-gzip') gzip = Math.max(gzip ?? 0, q);
    else if (coding === 'br') br = Math.max(br ?? 0, q);
    else if (coding === '*') any = q;
  }
  gzip ??= any ?? 0;
  br ??= any ?? 0;
  if (preferBr && br > 0 && br >= gzip) return 'br';
  return gzip > 0 ? 'gzip' : undefined;
}

/** `headers` with `Accept-Encoding` added to their `Vary` (a cache must not serve one coding to another client). */
export function varyOnEncoding(headers: Record<string, string>): Record<string, string> {
  const vary = headers['Vary'];
  return { ...headers, Vary: vary === undefined ? 'Accept-Encoding' : `${vary}, Accept-Encoding` };
}

// `npm run bench:wire -- --delta-encodings`: the delta encoding the hub sends (Fossil over the data's
// JSON text, carried as a JSON string) against RFC 6902 JSON Patch (`fast-json-patch`), on the
// bench's own consecutive messages. The reason Fossil was chosen, kept measurable: bytes per update,
// CPU to build one (the hub, once per message) and to apply it (the client).
import jsonPatch from 'fast-json-patch';
import { applyDelta } from '../../packages/client/dist/apply-delta.js';
import { textDelta } from '../../packages/server/dist/hub/message-delta.js';
import { payloadFor } from './wire-payloads.mjs';

/** µs per call of `fn` over `count` calls. */
function timed(count, fn) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(i);
  return Number(process.hrtime.bigint() - started) / count / 1000;
}

/**
 * Messages 0 … `updates` of `payload`, each update encoded against the message before it: full
 * JSON (the client's `JSON.parse` as the apply cost), Fossil as the hub builds it and as the SDK
 * applies it (`applyDelta` on the previous text, then `JSON.parse`), and a JSON Patch (the hub
 * parses the new message, the previous parse kept; the client patches a copy, as it must not change
 * the object it handed to the app). Each round trip is checked.
 */
export function compareDeltaEncodings(payload, updates) {
  const texts = Array.from({ length: updates + 1 }, (_, i) => JSON.stringify(payloadFor(payload, i)));
  const bytes = (list) => list.reduce((n, text) => n + Buffer.byteLength(text), 0) / updates;
  const full = { encoding: 'full data', bytes: bytes(texts.slice(1)), applyUs: timed(updates, (i) => JSON.parse(texts[i + 1])) };

  const fossil = new Array(updates);
  const fossilBuild = timed(updates, (i) => (fossil[i] = JSON.stringify(textDelta(texts[i], texts[i + 1]))));
  const fossilApply = timed(updates, (i) => {
    const data = JSON.parse(applyDelta(texts[i], JSON.parse(fossil[i])));
    if (i === updates - 1 && JSON.stringify(data) !== texts[updates]) throw new Error('Fossil round trip');
  });

  const patches = new Array(updates);
  let previous = JSON.parse(texts[0]);
  const patchBuild = timed(updates, (i) => {
    const current = JSON.parse(texts[i + 1]);
    patches[i] = JSON.stringify(jsonPatch.compare(previous, current));
    previous = current;
  });
  let base = JSON.parse(texts[0]);
  const patchApply = timed(updates, (i) => {
    base = jsonPatch.applyPatch(structuredClone(base), JSON.parse(patches[i]), false, false).newDocument;
  });
  if (JSON.stringify(base) !== texts[updates]) throw new Error('JSON Patch round trip');

  return {
    payload,
    updates,
    encodings: [
      full,
      { encoding: 'Fossil (JSON string)', bytes: bytes(fossil), buildUs: fossilBuild, applyUs: fossilApply },
      { encoding: 'RFC 6902 JSON Patch', bytes: bytes(patches), buildUs: patchBuild, applyUs: patchApply },
    ],
  };
}

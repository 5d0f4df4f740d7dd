import { createHmac } from 'node:crypto';
import { HOOK_SIGNATURE_HEADER, HOOK_TIMESTAMP_HEADER } from '@herald/protocol';

/**
 * The headers that sign a hook or webhook body: the time in whole seconds, and one `v1=<hex>` per
 * secret (HMAC-SHA256 over `${timestamp}.${body}`), the first secret first. Several secrets let an
 * app rotate: it accepts either while both are configured.
 */
export function signatureHeaders(secrets: readonly string[], body: string, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const signatures = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  return { [HOOK_TIMESTAMP_HEADER]: timestamp, [HOOK_SIGNATURE_HEADER]: signatures.join(',') };
}

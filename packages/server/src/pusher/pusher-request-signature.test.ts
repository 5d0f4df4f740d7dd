import { describe, expect, it } from 'vitest';
import { checkPusherSignature, stringToSign } from './pusher-request-signature.js';

// The worked example of Pusher's HTTP API reference ("Generating authentication signatures").
const APP = { key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };
const BODY = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
const QUERY =
  'auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f' +
  '&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c';
const AT = 1353088179 * 1000;

const request = (query = QUERY, body = BODY): Parameters<typeof checkPusherSignature>[1] => ({
  method: 'POST',
  path: '/apps/3/events',
  params: new URLSearchParams(query),
  body,
});

describe('checkPusherSignature', () => {
  it('accepts Pusher’s documented example, keys in any order', () => {
    expect(stringToSign('POST', '/apps/3/events', new URLSearchParams(QUERY))).toBe(
      'POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f',
    );
    expect(checkPusherSignature(APP, request(), AT, 600)).toBeUndefined();
    const shuffled = QUERY.split('&').reverse().join('&');
    expect(checkPusherSignature(APP, request(shuffled), AT, 600)).toBeUndefined();
  });

  it('refuses a changed body, a changed signature, a repeated parameter, and a time outside the window', () => {
    expect(checkPusherSignature(APP, request(QUERY, BODY.replace('foo', 'bar')), AT, 600)?.message).toMatch(/^Invalid body_md5/);
    expect(checkPusherSignature(APP, request(QUERY.replace(/.$/, 'd')), AT, 600)?.message).toMatch(/^Invalid signature/);
    expect(checkPusherSignature(APP, request(`${QUERY}&auth_key=x`), AT, 600)?.message).toBe('auth_key given more than once');
    expect(checkPusherSignature(APP, request(), AT + 601_000, 600)?.message).toMatch(/^Timestamp expired/);
    expect(checkPusherSignature(APP, request(), AT - 600_000, 600)).toBeUndefined();
    expect(checkPusherSignature({ ...APP, secret: 'other' }, request(), AT, 600)?.status).toBe(401);
    // A signed extra parameter cannot be added afterwards.
    expect(checkPusherSignature(APP, request(`${QUERY}&info=user_count`), AT, 600)?.message).toMatch(/^Invalid signature/);
  });
});

// Webhook signatures as a receiver checks them: the body and timestamp signed with the secret, a
// changed body, another secret, an old timestamp and a missing or malformed header all refused.
import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { GITHUB_SIGNATURE_HEADER, SIGNATURE_HEADER, signatureHeaders, verifySignature } from '../../../../src/core/webhooks/signature';

describe('webhook signatures (unit)', () => {
  const secret = 'whsec_test-secret-of-enough-length';
  const body = JSON.stringify({ event: 'ping', at: '2026-12-07T00:00:00.000Z', data: { a: 1 } });
  const t = 1_796_000_000;

  it('signs "t.body" with HMAC-SHA256 (Stripe-style), and the body alone for GitHub-style receivers', () => {
    const h = signatureHeaders(secret, body, t + 0.7);
    assert.equal(h[SIGNATURE_HEADER], `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`);
    assert.equal(h[GITHUB_SIGNATURE_HEADER], `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  });

  it('verifies a delivery signed with the secret, within the tolerance', () => {
    const header = signatureHeaders(secret, body, t)[SIGNATURE_HEADER];
    assert.deepEqual(verifySignature(secret, header, body, t + 299), { ok: true, timestamp: t });
    // A rotated secret: several v1 values, one matches.
    const other = signatureHeaders('another-secret-0123456789', body, t)[SIGNATURE_HEADER].split(',')[1];
    assert.equal(verifySignature(secret, `${header},${other}`, body, t).ok, true);
  });

  it('refuses a changed body, another secret, an old or future timestamp, and a missing or malformed header', () => {
    const header = signatureHeaders(secret, body, t)[SIGNATURE_HEADER];
    const refused = (r: ReturnType<typeof verifySignature>, why: RegExp) => {
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, why);
    };
    refused(verifySignature(secret, header, body.replace('"a":1', '"a":2'), t), /does not match/);
    refused(verifySignature('whsec_wrong-secret-of-enough-len', header, body, t), /does not match/);
    refused(verifySignature(secret, header, body, t + 301), /301 s away/);
    refused(verifySignature(secret, header, body, t - 400), /-400 s away/);
    refused(verifySignature(secret, undefined, body, t), /no x-llmstack-signature header/);
    refused(verifySignature(secret, 'v1=abc', body, t), /no timestamp/);
    refused(verifySignature(secret, `t=${t},v1=zz,=x,junk`, body, t), /does not match/);
    // A replayed header on another timestamp: the signature covers t.
    refused(verifySignature(secret, header.replace(`t=${t}`, `t=${t + 10}`), body, t + 10), /does not match/);
  });
});

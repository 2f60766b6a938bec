// Webhook signatures, after Stripe's scheme: the receiver gets
//   X-LLMStack-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>
// so a captured delivery cannot be replayed later (the timestamp is signed and checked against a
// tolerance) and the body cannot be changed. GitHub's X-Hub-Signature-256 (sha256=<hex HMAC of the
// body>) is sent too, for receivers that already check that one.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-llmstack-signature';
export const GITHUB_SIGNATURE_HEADER = 'x-hub-signature-256';

function hmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** The two signature headers of a delivery of `body` at `unixSeconds`. */
export function signatureHeaders(secret: string, body: string, unixSeconds: number): Record<string, string> {
  const t = Math.floor(unixSeconds);
  return { [SIGNATURE_HEADER]: `t=${t},v1=${hmac(secret, `${t}.${body}`)}`, [GITHUB_SIGNATURE_HEADER]: `sha256=${hmac(secret, body)}` };
}

type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * What a receiver runs: checks the X-LLMStack-Signature header of `body` (the raw bytes as text)
 * against the secret, and that its timestamp is within `toleranceSeconds` (default 300) of now.
 */
export function verifySignature(secret: string, header: string | undefined, body: string, nowSeconds = Date.now() / 1000, toleranceSeconds = 300): VerifyResult {
  if (!header) return { ok: false, reason: `no ${SIGNATURE_HEADER} header` };
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const i = item.indexOf('=');
    if (i <= 0) continue;
    const k = item.slice(0, i).trim();
    parts.set(k, [...(parts.get(k) ?? []), item.slice(i + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(t)) return { ok: false, reason: 'no timestamp (t=) in the signature' };
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return { ok: false, reason: `the timestamp is ${Math.round(nowSeconds - t)} s away from now (tolerance ${toleranceSeconds} s)` };
  const expected = Buffer.from(hmac(secret, `${t}.${body}`), 'hex');
  // Several v1 values are allowed (a secret being rotated); one must match.
  const match = (parts.get('v1') ?? []).some((v) => {
    const got = Buffer.from(v, 'hex');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
  return match ? { ok: true, timestamp: t } : { ok: false, reason: 'the signature does not match the body and the secret' };
}

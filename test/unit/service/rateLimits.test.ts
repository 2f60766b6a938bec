// Rate limits per token: a minute's worth passes in a burst, then one request each 60/limit
// seconds; model tokens are spent after a generation and hold back the next generation, not reads.
import * as assert from 'node:assert/strict';
import { RateLimiter } from '../../../src/service/rateLimits';

describe('token rate limits (unit)', () => {
  let t = 0;
  const limiter = () => new RateLimiter(() => t);
  beforeEach(() => (t = 1_000_000));

  it('lets a burst of the limit through, then one request as each unit refills', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) assert.equal(l.admit('a', { requestsPerMinute: 3 }, false), undefined);
    assert.deepEqual(l.admit('a', { requestsPerMinute: 3 }, false), { limit: '3 requests a minute', retryAfter: 20 });
    t += 19_000;
    assert.equal(l.admit('a', { requestsPerMinute: 3 }, false)?.retryAfter, 1);
    t += 1_000;
    assert.equal(l.admit('a', { requestsPerMinute: 3 }, false), undefined);
    // Another token has its own bucket; no limits, no bucket at all.
    assert.equal(l.admit('b', { requestsPerMinute: 3 }, false), undefined);
    assert.equal(l.admit('c', undefined, false), undefined);
    l.forget('a');
    assert.equal(l.admit('a', { requestsPerMinute: 3 }, false), undefined, 'forgotten: full again');
  });

  it('spends model tokens after a generation; the next generation waits, a read does not', () => {
    const l = limiter();
    const limits = { tokensPerMinute: 600 };
    assert.equal(l.admit('a', limits, true), undefined);
    l.spend('a', limits, 1200);
    const over = l.admit('a', limits, true);
    assert.equal(over?.limit, '600 model tokens a minute');
    assert.equal(over?.retryAfter, 61, 'back above one token after (601 / 600) minutes');
    assert.equal(l.admit('a', limits, false), undefined);
    t += 61_000;
    assert.equal(l.admit('a', limits, true), undefined);
    l.spend('a', undefined, 5);
    l.spend('a', limits, 0);
  });
});

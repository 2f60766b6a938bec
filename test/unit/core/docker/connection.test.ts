// Unit tests for src/core/docker/connection.ts: withTimeout, TimeoutError and describeConnectError.
import * as assert from 'node:assert/strict';
import { describeConnectError, TimeoutError, withTimeout } from '../../../../src/core/docker/connection';
import type { Endpoint } from '../../../../src/core/docker/endpoint';

const socketEndpoint: Endpoint = {
  url: 'unix:///var/run/docker.sock',
  source: 'default',
  origin: 'Docker Engine',
  tls: false,
  options: { socketPath: '/var/run/docker.sock' },
  socketPath: '/var/run/docker.sock',
};
const tcpEndpoint: Endpoint = {
  url: 'tcp://10.0.0.5:2375',
  source: 'DOCKER_HOST',
  origin: 'environment variable DOCKER_HOST',
  tls: false,
  options: { host: '10.0.0.5', port: 2375, protocol: 'http' },
};
const tlsEndpoint: Endpoint = { ...tcpEndpoint, url: 'tcp://10.0.0.5:2376', tls: true, options: { host: '10.0.0.5', port: 2376, protocol: 'https' } };

function errno(code: string, message = `${code} happened`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('connection helpers (unit)', () => {
  describe('withTimeout', () => {
    it('resolves with the value of a function that finishes in time, leaving the signal alone', async () => {
      let seen: AbortSignal | undefined;
      const v = await withTimeout('quick', 1000, async (signal) => {
        seen = signal;
        return 42;
      });
      assert.equal(v, 42);
      assert.ok(seen);
      assert.equal(seen.aborted, false);
    });

    it('does not abort the signal later once the function has finished', async () => {
      let seen: AbortSignal | undefined;
      await withTimeout('quick', 20, async (signal) => {
        seen = signal;
      });
      await sleep(50);
      assert.equal(seen?.aborted, false);
    });

    it('rejects with a TimeoutError and aborts the signal when the function is too slow', async () => {
      let seen: AbortSignal | undefined;
      const started = Date.now();
      await assert.rejects(
        withTimeout('Engine at tcp://x', 30, (signal) => {
          seen = signal;
          return new Promise<never>(() => undefined);
        }),
        (e: unknown) => e instanceof TimeoutError && e.name === 'TimeoutError' && e.message === 'Engine at tcp://x did not answer within 30 ms',
      );
      assert.ok(Date.now() - started >= 25, 'did not wait for the timeout');
      assert.equal(seen?.aborted, true);
    });

    it('passes the function’s own rejection through', async () => {
      const boom = new Error('boom');
      await assert.rejects(
        withTimeout('failing', 1000, async () => {
          throw boom;
        }),
        (e) => e === boom,
      );
    });

    it('passes a synchronous throw through', async () => {
      const boom = new Error('sync boom');
      await assert.rejects(
        withTimeout('failing', 1000, () => {
          throw boom;
        }),
        (e) => e === boom,
      );
    });

    it('a function that rejects after the timeout does not cause an unhandled rejection', async () => {
      await assert.rejects(
        withTimeout('late', 10, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => setTimeout(() => reject(new Error('aborted')), 5)))),
        TimeoutError,
      );
      await sleep(20);
    });
  });

  describe('describeConnectError', () => {
    it('ENOENT names the socket path', () => {
      assert.equal(describeConnectError(socketEndpoint, errno('ENOENT')), 'no socket at /var/run/docker.sock (engine not installed or not started)');
      assert.equal(describeConnectError(tcpEndpoint, { code: 'ENOENT' }), 'no socket at tcp://10.0.0.5:2375 (engine not installed or not started)');
    });

    it('EACCES advises the docker group', () => {
      assert.equal(
        describeConnectError(socketEndpoint, errno('EACCES')),
        'permission denied on /var/run/docker.sock (add your user to the "docker" group, then log in again)',
      );
      assert.match(describeConnectError(tcpEndpoint, errno('EACCES')), /^permission denied on tcp:\/\/10\.0\.0\.5:2375 /);
    });

    it('ECONNREFUSED says the engine is not running', () => {
      assert.equal(describeConnectError(tcpEndpoint, errno('ECONNREFUSED')), 'connection refused at tcp://10.0.0.5:2375 (the engine is not running)');
    });

    it('ENOTFOUND and EAI_AGAIN say the host name does not resolve', () => {
      for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
        assert.equal(describeConnectError(tcpEndpoint, errno(code)), 'host name in tcp://10.0.0.5:2375 does not resolve');
      }
    });

    it('ECONNRESET hints at TLS only when the endpoint is not already TLS', () => {
      assert.equal(
        describeConnectError(tcpEndpoint, errno('ECONNRESET')),
        'connection reset by tcp://10.0.0.5:2375 (does it expect TLS? set DOCKER_TLS_VERIFY and DOCKER_CERT_PATH)',
      );
      assert.equal(describeConnectError(tlsEndpoint, errno('ECONNRESET')), 'connection reset by tcp://10.0.0.5:2376');
    });

    it('untrusted certificates point at ca.pem', () => {
      for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN']) {
        assert.equal(describeConnectError(tlsEndpoint, errno(code)), 'TLS certificate of tcp://10.0.0.5:2376 is not trusted (check ca.pem in the cert path)');
      }
    });

    it('a timeout asks whether it is an Engine API endpoint', () => {
      assert.equal(
        describeConnectError(tcpEndpoint, new TimeoutError('Engine', 5000)),
        'tcp://10.0.0.5:2375 did not answer in time (is it a Docker Engine API endpoint?)',
      );
    });

    it('anything else is prefixed with the endpoint URL', () => {
      assert.equal(describeConnectError(tcpEndpoint, new Error('(HTTP code 502) bad gateway')), 'tcp://10.0.0.5:2375: (HTTP code 502) bad gateway');
      assert.equal(describeConnectError(tcpEndpoint, errno('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.5:2375')), 'tcp://10.0.0.5:2375: connect EHOSTUNREACH 10.0.0.5:2375');
      assert.equal(describeConnectError(socketEndpoint, 'odd'), 'unix:///var/run/docker.sock: odd');
      assert.equal(describeConnectError(socketEndpoint, undefined), 'unix:///var/run/docker.sock: undefined');
      assert.equal(describeConnectError(socketEndpoint, null), 'unix:///var/run/docker.sock: null');
    });
  });
});

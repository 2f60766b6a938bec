// Unit tests for the pure parts of src/app/registry: settings bounds, when a backup is due, error wording.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { backupDue, clampSettings, describeRegistryError, registryFile } from '../../../src/app/registry/host';
import { RegistryError } from '../../../src/core/registry/fileStore';

describe('registry host, pure parts (unit)', () => {
  it('clamps settings to their bounds and keeps what is in range', () => {
    assert.deepEqual(clampSettings({ encrypt: true, keepBackups: 0, backupIntervalHours: -3, usageDays: 0 }), { encrypt: true, keepBackups: 1, backupIntervalHours: 0, usageDays: 1 });
    const fine = { encrypt: false, keepBackups: 7, backupIntervalHours: 12, usageDays: 90 };
    assert.deepEqual(clampSettings(fine), fine);
  });

  it('a backup is due with none yet or an old enough newest one, never without an interval', () => {
    const now = Date.UTC(2026, 0, 2);
    assert.equal(backupDue(undefined, 24, now), true);
    assert.equal(backupDue(now - 24 * 3_600_000, 24, now), true);
    assert.equal(backupDue(now - 24 * 3_600_000 + 1, 24, now), false);
    assert.equal(backupDue(undefined, 0, now), false);
  });

  it('describes registry errors as they are and anything else as a registry failure', () => {
    assert.equal(describeRegistryError(new RegistryError('The key is missing.', 'key')), 'The key is missing.');
    assert.equal(describeRegistryError(new Error('boom')), 'The model registry failed: boom');
    assert.equal(describeRegistryError('text'), 'The model registry failed: text');
  });

  it('keeps the registry in registry.sqlite inside the storage folder', () => {
    assert.equal(registryFile(path.join('/x', 'storage')), path.join('/x', 'storage', 'registry.sqlite'));
  });
});

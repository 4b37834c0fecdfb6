import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCountersignError } from '../../src/errors.js';
import { repositoryForGun } from '../../src/registry/names.js';

describe('repositoryForGun', () => {
  it('drops the host and prepends the prefix', () => {
    assert.equal(repositoryForGun('staging.store.test/acme/web', 'staging/'), 'staging/acme/web');
    assert.equal(repositoryForGun('store.test/acme/web', 'public/'), 'public/acme/web');
    assert.equal(repositoryForGun('store.test/web'), 'web');
  });

  it('refuses a GUN without a path or with a name the registry would refuse', () => {
    for (const gun of ['store.test', 'store.test/', 'store.test/Acme/Web', 'store.test/a/../b']) {
      assert.throws(
        () => repositoryForGun(gun, 'p/'),
        (err) => isCountersignError(err, 'INVALID_NAME'),
        gun
      );
    }
  });
});

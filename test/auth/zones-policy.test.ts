/**
 * Zones (src/auth/zones.ts) and the access table (src/auth/policy.ts), rule by rule.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCountersignError } from '../../src/errors.js';
import { AccessPolicy } from '../../src/auth/policy.js';
import type { Principal } from '../../src/auth/principal.js';
import { NO_ZONES, parseZones, Zones } from '../../src/auth/zones.js';

const zones = new Zones([
  { staging: 'staging.store.test/', public: 'store.test/' },
  { staging: 'stage.example.org/ns/', public: 'pub.example.org/' },
]);

const configInvalid = (pattern: RegExp) => (e: unknown) =>
  isCountersignError(e, 'CONFIG_INVALID') && pattern.test(e.message);

describe('zones', () => {
  it('puts each GUN in its zone by prefix', () => {
    assert.equal(zones.kindOf('staging.store.test/acme/web'), 'staging');
    assert.equal(zones.kindOf('store.test/acme/web'), 'public');
    assert.equal(zones.kindOf('stage.example.org/ns/a'), 'staging');
    assert.equal(zones.kindOf('pub.example.org/a'), 'public');
    // Prefixes end in '/': a look-alike host is plain.
    assert.equal(zones.kindOf('store.testing/acme/web'), 'plain');
    assert.equal(zones.kindOf('staging.store.test'), 'plain');
    assert.equal(zones.kindOf('stage.example.org/other/a'), 'plain');
    assert.equal(zones.kindOf('docker.io/library/alpine'), 'plain');
    assert.equal(NO_ZONES.kindOf('store.test/acme/web'), 'plain');
    assert.equal(NO_ZONES.configured, false);
    assert.equal(zones.configured, true);
  });

  it('maps staging to public and back by swapping the prefix', () => {
    assert.equal(zones.publicGunFor('staging.store.test/acme/web'), 'store.test/acme/web');
    assert.equal(zones.publicGunFor('stage.example.org/ns/x/y'), 'pub.example.org/x/y');
    assert.equal(zones.stagingGunFor('store.test/acme/web'), 'staging.store.test/acme/web');
    assert.equal(zones.stagingGunFor('pub.example.org/x/y'), 'stage.example.org/ns/x/y');
    assert.equal(zones.publicGunFor('store.test/acme/web'), null);
    assert.equal(zones.publicGunFor('example.com/x'), null);
    assert.equal(zones.stagingGunFor('staging.store.test/acme/web'), null);
  });

  it('refuses prefixes without a trailing slash, unclean ones, and nesting', () => {
    assert.deepEqual(parseZones(undefined), []);
    assert.throws(() => parseZones({}), configInvalid(/must be a list/));
    assert.throws(
      () => parseZones([{ staging: 'staging.store.test', public: 'store.test/' }]),
      configInvalid(/end in \//)
    );
    assert.throws(
      () => parseZones([{ staging: 'a/../b/', public: 'store.test/' }]),
      configInvalid(/\.\./)
    );
    assert.throws(
      () => parseZones([{ staging: 'a//b/', public: 'store.test/' }]),
      configInvalid(/clean/)
    );
    assert.throws(
      () => parseZones([{ staging: 'x/', public: 7 }]),
      configInvalid(/public must be a string/)
    );
    assert.throws(
      () => parseZones([{ staging: 'store.test/staging/', public: 'store.test/' }]),
      configInvalid(/must not nest/)
    );
    assert.throws(
      () =>
        parseZones([
          { staging: 'a/', public: 'b/' },
          { staging: 'c/', public: 'a/' },
        ]),
      configInvalid(/must not nest or repeat/)
    );
  });
});

describe('access policy', () => {
  const policy = new AccessPolicy({ zones, anonymousPull: true });
  const closed = new AccessPolicy({ zones, anonymousPull: false });
  const acme: Principal = {
    name: 'acme',
    role: 'publisher',
    namespaces: ['staging.store.test/acme/', 'example.com/acme/'],
  };
  const rev: Principal = { name: 'rev', role: 'reviewer', namespaces: [] };
  const admin: Principal = { name: 'root', role: 'admin', namespaces: [] };
  const actions = (p: AccessPolicy, who: Principal | null, gun: string) =>
    [...p.repositoryActions(who, gun)].sort();

  it('follows the table: public, staging and plain GUNs for every role', () => {
    const cases: [Principal | null, string, string[]][] = [
      [null, 'store.test/acme/web', ['pull']],
      [null, 'staging.store.test/acme/web', []],
      [null, 'example.com/acme/x', []],
      [acme, 'store.test/acme/web', ['pull']],
      [acme, 'staging.store.test/acme/web', ['*', 'pull', 'push']],
      [acme, 'staging.store.test/acme/deep/er', ['*', 'pull', 'push']],
      [acme, 'staging.store.test/acmecorp/web', []],
      [acme, 'staging.store.test/other/web', []],
      [acme, 'example.com/acme/x', ['*', 'pull', 'push']],
      [rev, 'staging.store.test/acme/web', ['pull']],
      [rev, 'store.test/acme/web', ['pull']],
      [rev, 'example.com/acme/x', []],
      [admin, 'staging.store.test/acme/web', ['*', 'pull', 'push']],
      [admin, 'example.com/anything', ['*', 'pull', 'push']],
      [admin, 'store.test/acme/web', ['pull']],
    ];
    for (const [who, gun, expected] of cases) {
      assert.deepEqual(
        actions(policy, who, gun),
        expected,
        `${who?.name ?? 'anonymous'} on ${gun}`
      );
    }
  });

  it('a publisher whose namespace is a public prefix still cannot write there', () => {
    const odd: Principal = { name: 'odd', role: 'publisher', namespaces: ['store.test/odd/'] };
    assert.deepEqual(actions(policy, odd, 'store.test/odd/app'), ['pull']);
    assert.equal(policy.ownsRepository(odd, 'store.test/odd/app'), false);
    assert.equal(policy.ownsRepository(admin, 'store.test/odd/app'), false);
    assert.equal(policy.ownsRepository(acme, 'staging.store.test/acme/web'), true);
    assert.equal(policy.ownsRepository(rev, 'staging.store.test/acme/web'), false);
  });

  it('anonymous pull off: anonymous clients get nothing, accounts still read public GUNs', () => {
    assert.deepEqual(actions(closed, null, 'store.test/acme/web'), []);
    assert.deepEqual(actions(closed, acme, 'store.test/acme/web'), ['pull']);
    assert.equal(closed.anonymousAllows('repository', 'store.test/acme/web', 'pull'), false);
    assert.equal(policy.anonymousAllows('repository', 'store.test/acme/web', 'pull'), true);
    assert.equal(policy.anonymousAllows('repository', 'store.test/acme/web', 'push'), false);
    assert.equal(policy.anonymousAllows('registry', 'store.test/acme/web', 'pull'), false);
  });

  it('grants the requested actions it holds, keeps their order and class, drops empty scopes', () => {
    assert.deepEqual(
      policy.grant(acme, [
        { type: 'repository', name: 'staging.store.test/acme/web', actions: ['pull', 'push'] },
        { type: 'repository', name: 'staging.store.test/acme/web', actions: ['push', 'pull', '*'] },
        {
          type: 'repository',
          class: 'image',
          name: 'store.test/acme/web',
          actions: ['push', 'pull'],
        },
        { type: 'repository', name: 'staging.store.test/other/web', actions: ['pull'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
        { type: 'unknown', name: 'x', actions: ['pull'] },
      ]),
      [
        { type: 'repository', name: 'staging.store.test/acme/web', actions: ['pull', 'push'] },
        { type: 'repository', name: 'staging.store.test/acme/web', actions: ['push', 'pull', '*'] },
        { type: 'repository', class: 'image', name: 'store.test/acme/web', actions: ['pull'] },
      ]
    );
    assert.deepEqual(policy.grant(admin, [{ type: 'registry', name: 'catalog', actions: ['*'] }]), [
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    assert.deepEqual(
      policy.grant(null, [
        { type: 'repository', name: 'staging.store.test/acme/web', actions: ['pull'] },
      ]),
      []
    );
  });
});

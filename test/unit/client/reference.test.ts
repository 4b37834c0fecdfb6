/**
 * Image references against the table docker's own parser gives: the cases are taken from
 * github.com/distribution/reference's normalize_test.go and reference_test.go (valid and invalid
 * names, the repository-info table, hostname splitting, tag + digest), re-stated here as facts:
 * the input, and the normalised name, tag and digest docker pulls (or that docker refuses it).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatReference, parseDockerReference } from '../../../src/client/reference.js';
import { isCountersignError } from '../../../src/errors.js';

const D1 = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const D2 = 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';

/** Input → what docker pulls (`name[:tag][@digest]`, with :latest added as TagNameOnly does). */
const NORMALISED: ReadonlyArray<readonly [string, string]> = [
  // official images: docker.io and library/
  ['alpine', 'docker.io/library/alpine:latest'],
  ['alpine:3.19', 'docker.io/library/alpine:3.19'],
  ['redis', 'docker.io/library/redis:latest'],
  ['docker.io/library/redis:latest', 'docker.io/library/redis:latest'],
  ['docker.io/foo', 'docker.io/library/foo:latest'],
  ['index.docker.io/debian', 'docker.io/library/debian:latest'],
  ['library/ubuntu', 'docker.io/library/ubuntu:latest'],
  ['ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base:latest'],
  ['library/foo/bar', 'docker.io/library/foo/bar:latest'],
  // user images
  ['dmcgowan/myapp', 'docker.io/dmcgowan/myapp:latest'],
  ['dmcgowan/myapp:latest', 'docker.io/dmcgowan/myapp:latest'],
  ['fooo/bar', 'docker.io/fooo/bar:latest'],
  ['index.docker.io/fooo/bar', 'docker.io/fooo/bar:latest'],
  ['other/library', 'docker.io/other/library:latest'],
  ['store/foo/bar', 'docker.io/store/foo/bar:latest'],
  ['test_com/foo', 'docker.io/test_com/foo:latest'],
  ['docker/migrator', 'docker.io/docker/migrator:latest'],
  ['docker---rules/docker', 'docker.io/docker---rules/docker:latest'],
  ['dock__er/docker', 'docker.io/dock__er/docker:latest'],
  ['d/docker', 'docker.io/d/docker:latest'],
  [
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    'docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest',
  ],
  ['dbcc1', 'docker.io/library/dbcc1:latest'],
  // registries: a dot, a colon or localhost in the first part; no library/ outside docker.io
  ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase:latest'],
  ['127.0.0.1:8000/privatebase', '127.0.0.1:8000/privatebase:latest'],
  ['127.0.0.1:5000/library/debian', '127.0.0.1:5000/library/debian:latest'],
  ['example.com/privatebase', 'example.com/privatebase:latest'],
  ['example.com:8000/private/moonbase', 'example.com:8000/private/moonbase:latest'],
  ['test.com:8080/foo', 'test.com:8080/foo:latest'],
  ['test-com:8080/foo', 'test-com:8080/foo:latest'],
  ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080/foo:latest'],
  ['localhost/foo', 'localhost/foo:latest'],
  ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000/docker/docker:latest'],
  ['192.168.0.1', 'docker.io/library/192.168.0.1:latest'],
  ['192.168.0.1:80', 'docker.io/library/192.168.0.1:80'],
  ['store.example/acme/web', 'store.example/acme/web:latest'],
  // an upper-case first part is a registry
  ['Foo/bar', 'Foo/bar:latest'],
  ['FOO/bar', 'FOO/bar:latest'],
  // a host name that looks like a 64-hex identifier is fine with a registry in front
  [
    'docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
    'docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest',
  ],
  // digests, and tag + digest (no :latest is added to a digest)
  [`redis@${D1}`, `docker.io/library/redis@${D1}`],
  [`dmcgowan/myapp@${D1}`, `docker.io/dmcgowan/myapp@${D1}`],
  [`busybox:latest@${D2}`, `docker.io/library/busybox:latest@${D2}`],
  [`127.0.0.1:5000/acme/app:1.0@${D2}`, `127.0.0.1:5000/acme/app:1.0@${D2}`],
];

/** Inputs docker refuses, with the start of its reason. */
const REFUSED: ReadonlyArray<readonly [string, RegExp]> = [
  ['https://github.com/docker/docker', /^invalid reference format$/],
  [
    'docker/Docker',
    /^invalid reference format: repository name \(docker\/Docker\) must be lowercase$/,
  ],
  ['docker.io/docker/Docker', /must be lowercase/],
  ['alpine/Web:1.0', /repository name \(alpine\/Web\) must be lowercase/],
  ['-docker', /^invalid reference format$/],
  ['-docker/docker', /^invalid reference format$/],
  ['-docker.io/docker/docker', /^invalid reference format$/],
  ['docker-/docker', /^invalid reference format$/],
  ['-docker-/docker', /^invalid reference format$/],
  ['docker///docker', /^invalid reference format$/],
  ['docker.io/docker///docker', /^invalid reference format$/],
  ['____/____', /^invalid reference format$/],
  ['_docker/_docker', /^invalid reference format$/],
  ['dock..er/docker', /^invalid reference format$/],
  ['dock_.er/docker', /^invalid reference format$/],
  ['dock-.er/docker', /^invalid reference format$/],
  ['docker/', /^invalid reference format$/],
  ['[fc00::1]', /^invalid reference format$/],
  ['[fc00::1]:5000', /^invalid reference format$/],
  ['fc00::1:5000/debian', /^invalid reference format$/],
  ['[fe80::1%eth0]:5000/debian', /^invalid reference format$/],
  ['[2001:db8:3:4::192.0.2.33]:5000/debian', /^invalid reference format$/],
  [
    '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
    /^invalid repository name \(1a3f.*\), cannot specify 64-byte hexadecimal strings$/,
  ],
  [
    `${'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_'.repeat(4)}x/docker`,
    /^repository name must not be more than 255 characters$/,
  ],
  ['alpine:-foo', /^invalid reference format$/],
  ['alpine@sha256:abc', /^invalid reference format$/],
  [`alpine@md5:${'a'.repeat(32)}`, /^unsupported digest algorithm$/],
  [`alpine@sha256:${'a'.repeat(63)}`, /^invalid checksum digest length$/],
  [`alpine@sha256:${'A'.repeat(64)}`, /^invalid checksum digest format$/],
];

describe('docker image references', () => {
  for (const [input, expected] of NORMALISED) {
    it(`${input} → ${expected}`, () => {
      assert.equal(formatReference(parseDockerReference(input)), expected);
    });
  }

  it('splits domain and path as docker does', () => {
    const cases: [string, string, string][] = [
      ['test.com/foo', 'test.com', 'foo'],
      ['test_com/foo', 'docker.io', 'test_com/foo'],
      ['foo', 'docker.io', 'library/foo'],
      ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar'],
      ['127.0.0.1:8000/privatebase', '127.0.0.1:8000', 'privatebase'],
    ];
    for (const [input, domain, path] of cases) {
      const r = parseDockerReference(input);
      assert.deepEqual([r.domain, r.path, r.name], [domain, path, `${domain}/${path}`], input);
    }
  });

  it('keeps tag and digest apart: a digest alone gets no tag', () => {
    const r = parseDockerReference(`busybox:latest@${D2}`);
    assert.equal(r.tag, 'latest');
    assert.equal(r.digest, D2);
    assert.equal(parseDockerReference(`busybox@${D2}`).tag, undefined);
  });

  for (const [input, reason] of REFUSED) {
    it(`refuses ${input.length > 60 ? input.slice(0, 57) + '…' : input}`, () => {
      assert.throws(
        () => parseDockerReference(input),
        (err: unknown) => isCountersignError(err, 'REFERENCE_INVALID') && reason.test(err.message)
      );
    });
  }
});

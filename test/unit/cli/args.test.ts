/**
 * The argument parser every command uses (commander underneath): what it takes, and the mistakes
 * it refuses with a USAGE error naming the flag as written.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, type FlagSpec } from '../../../src/cli/args.js';
import { isCountersignError } from '../../../src/errors.js';

const SPEC: FlagSpec = {
  server: 'string',
  json: 'boolean',
  gun: 'list',
  config: 'string',
  debug: 'boolean',
  listen: 'string',
  help: 'boolean',
};
const SERVE = { singleDash: ['config', 'debug'] };

function refused(argv: string[], message: RegExp, options = {}): void {
  assert.throws(
    () => parseArgs(argv, SPEC, options),
    (e: unknown) => isCountersignError(e) && e.code === 'USAGE' && message.test(e.message),
    argv.join(' ')
  );
}

describe('parseArgs', () => {
  it('takes values, booleans, repeated lists and positionals in any order', () => {
    const p = parseArgs(
      ['a', '--server', 'https://x', '--json', 'b', '--gun', 'g1', '--gun=g2', '--', '--json'],
      SPEC
    );
    assert.deepEqual(p.flags, { server: 'https://x', json: true, gun: ['g1', 'g2'] });
    assert.deepEqual(p.positionals, ['a', 'b', '--json']);
  });

  it('takes a value that starts with a dash, and an empty --name=', () => {
    assert.deepEqual(parseArgs(['--server', '-x'], SPEC).flags, { server: '-x' });
    assert.deepEqual(parseArgs(['--server='], SPEC).flags, { server: '' });
  });

  it('refuses a single-valued flag given twice, a boolean too', () => {
    refused(['--server', 'a', '--server=b'], /^--server was given twice; it takes one value$/);
    refused(['--json', '--json'], /^--json was given twice/);
    refused(['-config', 'a', '-config', 'b'], /^-config was given twice/, SERVE);
  });

  it('refuses unknown flags with the nearest known one, a missing value, a value on a boolean', () => {
    refused(['--sever', 'x'], /^unknown flag --sever \(did you mean --server\?\)$/);
    refused(['--frobnicate'], /^unknown flag --frobnicate$/);
    refused(['-conifg', 'x'], /^unknown flag -conifg \(did you mean -config\?\)$/, SERVE);
    refused(['-listen', 'x'], /^unknown flag -listen \(did you mean --listen\?\)$/, SERVE);
    refused(['--server'], /^--server needs a value$/);
    refused(['--json=yes'], /^--json takes no value$/);
  });

  it('points a dash-led argument that is no flag (an old submission id) to --, which takes it', () => {
    refused(['-V7ka513s3QafJ-i59xh4w'], /^unknown flag -V7ka513s3QafJ-i59xh4w \(.*goes after --/);
    assert.deepEqual(parseArgs(['--', '-V7ka513s3QafJ-i59xh4w'], SPEC).positionals, [
      '-V7ka513s3QafJ-i59xh4w',
    ]);
  });

  it('reads -config and -debug with one dash where allowed, and -h as --help', () => {
    const p = parseArgs(['-config', 'c.json', '-debug', '-h'], SPEC, SERVE);
    assert.deepEqual(p.flags, { config: 'c.json', debug: true, help: true });
    refused(['-config', 'c.json'], /^unknown flag -config \(did you mean --config\?\)$/);
  });
});

/**
 * A large upload body is parsed one chunk per turn of the event loop (src/http/multipart.ts
 * CHUNK_PER_TURN_BYTES), over a real socket: the parts come out byte for byte, other work runs
 * between the chunks, and the caps still hold.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { isCountersignError } from '../../../src/errors.js';
import {
  CHUNK_PER_TURN_BYTES,
  DEFAULT_UPLOAD_LIMITS,
  readMultipart,
  type UploadLimits,
} from '../../../src/http/multipart.js';
import type { UploadedPart } from '../../../src/notary/update.js';
import { rolesBody } from '../../helpers/multipart.js';

type Outcome = { parts?: UploadedPart[]; error?: unknown; turns: number };
let handle: (req: IncomingMessage) => Promise<Outcome>;
const server = createServer((req, res) => {
  void handle(req).then((o) => {
    outcomes.push(o);
    res.end();
  });
});
const outcomes: Outcome[] = [];
after(() => server.close());

/** Sends `body` in one write (as loopback delivers it: all at once) and returns the outcome. */
async function post(body: Buffer, contentType: string, limits: UploadLimits): Promise<Outcome> {
  handle = async (req) => {
    // Counts the turns of the event loop while the body is read.
    let turns = 0;
    let counting = true;
    const tick = () => {
      if (!counting) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    try {
      return { parts: await readMultipart(req, limits), turns };
    } catch (error) {
      return { error, turns };
    } finally {
      counting = false;
    }
  };
  if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    const req = request(
      { port, method: 'POST', path: '/', headers: { 'Content-Type': contentType } },
      (res) => res.resume().on('end', resolve)
    );
    req.on('error', reject);
    req.end(body); // Content-Length is set from the single write
  });
  return outcomes.pop()!;
}

describe('multipart bodies fed one chunk per turn', () => {
  it('parses a 2 MB body byte for byte, with the event loop turning between the chunks', async () => {
    const targets = randomBytes(2 * 1024 * 1024);
    const { body, contentType } = rolesBody([
      ['targets.json', targets],
      ['snapshot.json', Buffer.from('{"signed":{}}')],
    ]);
    const o = await post(body, contentType, DEFAULT_UPLOAD_LIMITS);
    assert.equal(o.error, undefined);
    assert.deepEqual(
      o.parts!.map((p) => p.role),
      ['targets', 'snapshot']
    );
    assert.ok(o.parts![0]!.data.equals(targets));
    // A large part is in shared memory, for the upload worker to read without a copy; a small
    // one is not.
    assert.ok(o.parts![0]!.data.buffer instanceof SharedArrayBuffer);
    assert.ok(!(o.parts![1]!.data.buffer instanceof SharedArrayBuffer));
    // A turn per chunk of the body (socket reads are at most 64 KiB, so at least 33 chunks), but
    // for the first and the last: the first may be fed in the turn the count starts in, and the
    // last may finish the read in its own turn. Piped straight into the parser: 20 turns.
    const chunks = Math.ceil(body.length / CHUNK_PER_TURN_BYTES);
    assert.ok(
      o.turns >= chunks - 2,
      `${o.turns} turns for ${chunks} chunks of ${body.length} bytes`
    );
  });

  it('still refuses a part over the cap, and a small body is parsed as before', async () => {
    const big = rolesBody([['targets.json', randomBytes(300_000)]]);
    const o = await post(big.body, big.contentType, {
      ...DEFAULT_UPLOAD_LIMITS,
      maxPartBytes: 200_000,
    });
    assert.ok(isCountersignError(o.error, 'TOO_LARGE'), String(o.error));
    const small = rolesBody([['root.json', Buffer.from('{"signed":{}}')]]);
    const s = await post(small.body, small.contentType, DEFAULT_UPLOAD_LIMITS);
    assert.equal(s.parts![0]!.data.toString(), '{"signed":{}}');
  });
});

/**
 * Small signed repositories made in the test, for what the captured fixtures cannot show
 * (delegations with narrowed paths or bad signatures, CA-issued root certificates with chosen
 * extended key usage, expired certificates). Keys and certificates are made with our own crypto
 * modules; compatibility with real notary data is proven by the fixture tests.
 */
import { decodePemBlocks, encodePem } from '../../../src/crypto/pem.js';
import { PublicKey } from '../../../src/crypto/keys.js';
import { generateSigningKey } from '../../../src/crypto/signing.js';
import {
  generateP256,
  issueCertificate,
  p256FromSecret,
  type Issuer,
} from '../../../src/crypto/certificates.js';
import type { JsonObject } from '../../../src/tuf/metadata.js';
import {
  plainKey,
  rootSigned,
  sign,
  snapshotSignedFor,
  targetsSigned,
  timestampSignedFor,
  type TargetSpec,
  type TestKey,
} from '../../helpers/tuf-builder.js';
import { MemorySource } from './memory-source.js';

const DAY = 86_400_000;

export interface TestCa extends Issuer {
  readonly pem: string;
}

/**
 * A CA valid from one day before `at` for ten years. `at` must be the time the test verifies at:
 * a test that verifies at a fixture's capture time passes that time, so the CA's validity does
 * not depend on today's date.
 */
export async function makeTestCa(
  name = 'Client Test CA',
  issuer?: TestCa,
  at: Date = new Date()
): Promise<TestCa> {
  const pair = await generateP256();
  const now = at.getTime();
  const pem = await issueCertificate(
    {
      commonName: name,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 3650 * DAY),
      isCA: true,
      keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
    },
    pair,
    issuer
  );
  return { pem, certificatePem: pem, privateKey: pair.privateKey };
}

/** An ecdsa-x509 root key, CN = `cn`, issued by `issuer` (self-signed without), with `chain` PEMs appended to its bundle. */
export async function certKey(
  cn: string,
  opts: {
    issuer?: TestCa;
    chain?: readonly TestCa[];
    extKeyUsage?: ('serverAuth' | 'codeSigning')[];
    notBefore?: Date;
    notAfter?: Date;
  } = {}
): Promise<TestKey> {
  const signing = generateSigningKey('ecdsa');
  const pair = await p256FromSecret(signing.secretBytes());
  const now = Date.now();
  const pem = await issueCertificate(
    {
      commonName: cn,
      notBefore: opts.notBefore ?? new Date(now - DAY),
      notAfter: opts.notAfter ?? new Date(now + 3650 * DAY),
      isCA: false,
      keyUsage: ['digitalSignature'],
      ...(opts.extKeyUsage ? { extKeyUsage: opts.extKeyUsage } : {}),
    },
    pair,
    opts.issuer
  );
  const goPem = [pem, ...(opts.chain ?? []).map((c) => c.pem)]
    .map((p) => encodePem('CERTIFICATE', decodePemBlocks(p)[0]!.der))
    .join('');
  return { signing, publicKey: new PublicKey('ecdsa-x509', Buffer.from(goPem).toString('base64')) };
}

export interface DelegationSpec {
  readonly name: string;
  readonly targets?: readonly TargetSpec[];
  /** Keys that sign the file (default: the role's own key). */
  readonly signers?: readonly TestKey[];
  readonly delegations?: Parameters<typeof targetsSigned>[0]['delegations'];
  readonly expires?: string;
}

export interface RepoSpec {
  readonly gun: string;
  readonly rootKey?: TestKey;
  readonly targets?: readonly TargetSpec[];
  readonly delegations?: Parameters<typeof targetsSigned>[0]['delegations'];
  readonly delegationFiles?: readonly DelegationSpec[];
  readonly timestampExpires?: string;
}

export interface BuiltRepo {
  readonly source: MemorySource;
  readonly rootKey: TestKey;
  readonly rootBytes: Buffer;
}

/** A repository with root, targets, delegations, snapshot and timestamp, each at version 1. */
export async function buildRepo(spec: RepoSpec): Promise<BuiltRepo> {
  const rootKey = spec.rootKey ?? (await certKey(spec.gun));
  const targetsKey = plainKey();
  const snapshotKey = plainKey();
  const timestampKey = plainKey('ed25519');
  const rootBytes = sign(
    rootSigned({
      root: [rootKey],
      targets: [targetsKey],
      snapshot: [snapshotKey],
      timestamp: [timestampKey],
    }),
    [rootKey]
  );
  const files = new Map<string, Buffer>([['root', rootBytes]]);
  files.set(
    'targets',
    sign(targetsSigned({ targets: spec.targets ?? [], delegations: spec.delegations }), [
      targetsKey,
    ])
  );
  for (const d of spec.delegationFiles ?? []) {
    const signed: JsonObject = targetsSigned({
      targets: d.targets ?? [],
      delegations: d.delegations,
      expires: d.expires,
    });
    files.set(d.name, sign(signed, d.signers ?? []));
  }
  const snapshot = sign(snapshotSignedFor(files), [snapshotKey]);
  const timestamp = sign(timestampSignedFor(snapshot, 1, spec.timestampExpires), [timestampKey]);
  const source = new MemorySource(spec.gun);
  for (const [role, bytes] of files) source.publish(role, bytes);
  source.publish('snapshot', snapshot).publish('timestamp', timestamp);
  return { source, rootKey, rootBytes };
}

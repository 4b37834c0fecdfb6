/**
 * @peculiar/asn1-schema and @peculiar/asn1-x509 behind this one module (the certificate reader,
 * src/crypto/x509-fields.ts, uses them), loaded with `require`, not `import`. Both are CommonJS
 * packages whose index re-exports dozens of files: an ES module import makes Node 20 scan every
 * one of them for its export names before loading them, which cost `countersign check` about
 * 40 ms of its start (docs/client.md "Start-up time"). `require` only loads them.
 * The client bundle (scripts/bundle-client.mjs) replaces this file with plain re-exports, so
 * that esbuild bundles the packages.
 */
import { createRequire } from 'node:module';
import type * as Asn1Schema from '@peculiar/asn1-schema';
import type * as Asn1X509 from '@peculiar/asn1-x509';

const require = createRequire(import.meta.url);

export const { AsnConvert } = require('@peculiar/asn1-schema') as typeof Asn1Schema;
export const { Certificate } = require('@peculiar/asn1-x509') as typeof Asn1X509;
export type Certificate = Asn1X509.Certificate;

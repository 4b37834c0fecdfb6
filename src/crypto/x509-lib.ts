/**
 * @peculiar/x509 behind this one module, over node's WebCrypto: the namespace for creating
 * certificates (src/crypto/certificates.ts). Reading them needs none of it (node:crypto plus
 * src/crypto/x509-fields.ts), so the client commands never load it (docs/client.md "Start-up time").
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

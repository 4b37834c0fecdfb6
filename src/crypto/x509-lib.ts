/**
 * @peculiar/x509 behind this one module, over node's WebCrypto: the namespace for creating
 * certificates (src/crypto/certificates.ts). Reading them goes through src/crypto/x509-fields.ts,
 * on the same ASN.1 layer (@peculiar/asn1-x509) without this library's issuing half, which the
 * client commands do not need and should not pay for at start-up (docs/client.md "Start-up time").
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

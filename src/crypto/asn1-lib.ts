/**
 * @peculiar/asn1-schema and @peculiar/asn1-x509 behind this one module (the certificate reader,
 * src/crypto/x509-fields.ts, uses them), loaded with `require`, not `import`: both are CommonJS
 * packages whose index re-exports dozens of files, and an ES module import makes Node 20 scan
 * every one of them for its export names before loading them (docs/client.md "Start-up time").
 *
 * `npm run build` also writes the two with what they use as one file beside this module
 * (scripts/vendor-asn1.mjs, `asn1-vendor.cjs`): one file to read instead of about 85. It is used
 * only when it loads and lists exactly the versions installed now; otherwise (absent — tsc alone
 * does not write it —, damaged, or from other versions) the packages are. The client bundle
 * (scripts/bundle-client.mjs) replaces this file with plain re-exports.
 */
import { createRequire } from 'node:module';
import type * as Asn1Schema from '@peculiar/asn1-schema';
import type * as Asn1X509 from '@peculiar/asn1-x509';

const require = createRequire(import.meta.url);

export interface Asn1Layer {
  readonly AsnConvert: typeof Asn1Schema.AsnConvert;
  readonly Certificate: typeof Asn1X509.Certificate;
  /** Whether the one-file copy was used. */
  readonly vendored: boolean;
}

/** How the layer is found: the one-file copy, the packages, an installed package's version. */
export interface Asn1Sources {
  readonly vendored: () => unknown;
  readonly packages: () => { schema: typeof Asn1Schema; x509: typeof Asn1X509 };
  readonly installedVersion: (name: string) => unknown;
}

/** The one-file copy when it loads and was built from the installed versions, else the packages. */
export function loadAsn1Layer(sources: Asn1Sources): Asn1Layer {
  try {
    const copy = sources.vendored() as Partial<Asn1Layer> & { bundledVersions?: unknown };
    if (copy.AsnConvert && copy.Certificate && sameVersions(copy.bundledVersions, sources))
      return { AsnConvert: copy.AsnConvert, Certificate: copy.Certificate, vendored: true };
  } catch {
    // Absent or unloadable: an optimisation missing, nothing more.
  }
  const { schema, x509 } = sources.packages();
  return { AsnConvert: schema.AsnConvert, Certificate: x509.Certificate, vendored: false };
}

function sameVersions(versions: unknown, sources: Asn1Sources): boolean {
  if (typeof versions !== 'object' || versions === null) return false;
  const entries = Object.entries(versions);
  return (
    entries.length > 0 &&
    entries.every(([name, version]) => {
      try {
        return sources.installedVersion(name) === version;
      } catch {
        return false;
      }
    })
  );
}

export const ASN1_SOURCES: Asn1Sources = {
  vendored: (): unknown => require('./asn1-vendor.cjs'),
  packages: () => ({
    schema: require('@peculiar/asn1-schema') as typeof Asn1Schema,
    x509: require('@peculiar/asn1-x509') as typeof Asn1X509,
  }),
  installedVersion: (name) => (require(`${name}/package.json`) as { version?: unknown }).version,
};

const layer = loadAsn1Layer(ASN1_SOURCES);
export const { AsnConvert, Certificate } = layer;
export type Certificate = Asn1X509.Certificate;
/** Whether this process reads certificates through the one-file copy (for the tests). */
export const asn1Vendored = layer.vendored;

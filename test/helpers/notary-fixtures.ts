/** Reading the metadata captured from the real notary tools (fixtures/notary, see fixtures/README.md). */
import { readFileSync, readdirSync } from 'node:fs';
import { fixturePath } from './paths.js';

export interface CapturedFile {
  readonly path: string;
  readonly kind: string;
  readonly role: string;
  readonly version: number;
  readonly sha256: string;
  readonly length: number;
}

export interface Scenario {
  readonly name: string;
  readonly gun: string;
  readonly files: readonly CapturedFile[];
  bytes(path: string): Buffer;
  /** Every captured version of a role, ascending. */
  versions(role: string): { version: number; data: Buffer }[];
  current(role: string): Buffer;
}

export function scenarioNames(): string[] {
  return readdirSync(fixturePath('notary'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function loadScenario(name: string): Scenario {
  const dir = (...p: string[]) => fixturePath('notary', name, ...p);
  const capture = JSON.parse(readFileSync(dir('capture.json'), 'utf8')) as {
    gun: string;
    files: CapturedFile[];
  };
  const bytes = (path: string) => readFileSync(dir(path));
  return {
    name,
    gun: capture.gun,
    files: capture.files,
    bytes,
    versions: (role) =>
      capture.files
        .filter((f) => f.kind === 'version' && f.role === role)
        .sort((a, b) => a.version - b.version)
        .map((f) => ({ version: f.version, data: bytes(f.path) })),
    current: (role) => bytes(`metadata/${role}.json`),
  };
}

/**
 * The key table of docs/config.md, generated from the schema (`node scripts/config-doc.mjs`
 * writes it between the markers; test/unit/config/docs.test.ts fails when they differ).
 */
import { variableFor } from './env.js';
import { CONFIG_SCHEMA } from './schema.js';
import { entries, overridable, type SchemaNode } from './schema-kit.js';

export const TABLE_START = '<!-- config-keys:start (generated from src/config/schema.ts) -->';
export const TABLE_END = '<!-- config-keys:end -->';

const TYPE: Record<SchemaNode['kind'], string> = {
  object: 'object',
  list: 'list of objects',
  map: 'object of',
  string: 'string',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  duration: 'DURATION',
  strings: 'list of strings',
  scalar: 'string or number',
};

function typeOf(node: SchemaNode): string {
  let t = TYPE[node.kind];
  if (node.kind === 'map') t = `${t} ${node.keyDoc} → ${typeOf(node.value)}`;
  if (node.kind === 'object' && node.orBoolean) t = `boolean or ${t}`;
  if (node.kind === 'integer' || node.kind === 'number') {
    if (node.min !== undefined && node.max !== undefined) t += ` ${node.min}–${node.max}`;
    else if (node.min !== undefined) t += ` ≥ ${node.min}`;
  }
  return t;
}

function defaultOf(node: SchemaNode): string {
  if (node.defaultText !== undefined) return node.defaultText;
  if (node.default === undefined) return '';
  return `\`${JSON.stringify(node.default)}\``;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The markdown table, one row per key, sections first. */
export function configKeysMarkdown(): string {
  const rows = entries(CONFIG_SCHEMA).map(({ path, node }) => {
    const key = `\`${path.join('.')}\``;
    const env = overridable(node) ? `\`${variableFor(path)}\`` : '';
    const secret =
      node.secret === 'all'
        ? ' Secret: masked by `config check`.'
        : node.secret === 'url-password'
          ? ' Its password is masked by `config check`.'
          : '';
    return `| ${key} | ${cell(typeOf(node))} | ${cell(defaultOf(node))} | ${env} | ${cell(node.doc + secret)} |`;
  });
  const items = entries(CONFIG_SCHEMA).flatMap(({ path, node }) =>
    node.kind === 'list'
      ? Object.entries(node.item.fields).map(
          ([k, child]) =>
            `| \`${path.join('.')}[].${k}\` | ${cell(typeOf(child))} | ${cell(defaultOf(child))} |  | ${cell(child.doc)} |`
        )
      : node.kind === 'map' && node.value.kind === 'object'
        ? Object.entries(node.value.fields).map(
            ([k, child]) =>
              `| \`${path.join('.')}.<${node.keyDoc}>.${k}\` | ${cell(typeOf(child))} | ${cell(defaultOf(child))} |  | ${cell(child.doc)} |`
          )
        : []
  );
  return [
    TABLE_START,
    '',
    '| key | type | default | environment variable | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    ...items,
    '',
    TABLE_END,
  ].join('\n');
}

/**
 * A JSON Schema (draft 2020-12) of the file for editors (`countersign config schema`): the
 * countersign section closed (`additionalProperties: false`), notary-server's sections open.
 */
export function jsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Countersign configuration (notary-server 0.7 format plus a countersign section)',
    ...nodeSchema(CONFIG_SCHEMA),
  };
}

const DURATION_PATTERN = '^\\s*\\d{1,9}[smhd]\\s*$';

function nodeSchema(node: SchemaNode): Record<string, unknown> {
  const common = {
    description: node.doc,
    ...(node.default !== undefined ? { default: node.default } : {}),
  };
  switch (node.kind) {
    case 'object':
      return {
        type: node.orBoolean ? ['object', 'boolean'] : 'object',
        ...common,
        properties: Object.fromEntries(
          Object.entries(node.fields).map(([k, child]) => [k, nodeSchema(child)])
        ),
        additionalProperties: !node.strict,
      };
    case 'list':
      return { type: 'array', ...common, items: nodeSchema(node.item) };
    case 'map':
      return {
        type: 'object',
        ...common,
        ...(node.keys ? { propertyNames: { enum: [...node.keys] } } : {}),
        additionalProperties: nodeSchema(node.value),
      };
    case 'integer':
    case 'number':
      return {
        type: node.kind,
        ...common,
        ...(node.min !== undefined ? { minimum: node.min } : {}),
        ...(node.max !== undefined ? { maximum: node.max } : {}),
      };
    case 'duration':
      return { type: 'string', pattern: DURATION_PATTERN, ...common };
    case 'strings':
      return { type: 'array', items: { type: 'string' }, ...common };
    case 'scalar':
      return { type: ['string', 'number'], ...common };
    case 'string':
    case 'boolean':
      return { type: node.kind, ...common };
  }
}

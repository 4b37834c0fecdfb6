/**
 * HTML that cannot be injected into. Every value that reaches a page is hostile (GUNs, tags,
 * notes, check details, labels come from publishers and registries), so pages are written only
 * with the `html` tag: interpolated values are escaped unless they are already `SafeHtml` made by
 * this module. There is no way to mark a string safe from outside except `html` itself.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text and attribute values (always quoted by our templates) both: the five specials and backtick. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** Markup produced by `html`; the only kind of value interpolated without escaping. */
export class SafeHtml {
  readonly #markup: string;
  private constructor(markup: string) {
    this.#markup = markup;
  }
  toString(): string {
    return this.#markup;
  }
  /** Module-private factory: see `html` and `joinHtml`. */
  static fromTrusted(markup: string): SafeHtml {
    return new SafeHtml(markup);
  }
}

export type HtmlValue =
  SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

/** The template tag: `html\`<td>${gun}</td>\`` escapes `gun`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return SafeHtml.fromTrusted(out);
}

/** Renders each item and joins them with nothing between. */
export function joinHtml<T>(items: readonly T[], each: (item: T) => SafeHtml): SafeHtml {
  return SafeHtml.fromTrusted(items.map((i) => each(i).toString()).join(''));
}

/**
 * A query-string value for an href: percent-encoded, then HTML-escaped by the template. URLs are
 * always built from our own paths plus encoded values, never taken from data, so no `javascript:`.
 */
export function urlPart(value: string): string {
  return encodeURIComponent(value);
}

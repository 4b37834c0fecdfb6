/**
 * Parser for the tables the notary CLI prints with Go's tabwriter:
 *
 *   NAME    DIGEST    SIZE (BYTES)    ROLE
 *   ----    ------    ------------    ----
 *   v1      5891…     6               targets
 *
 * Columns are located by the runs of dashes under the header, so empty cells (the GUN column of
 * `key list`, continuation rows of `delegation list`) and headers with spaces ("KEY IDS") work.
 */
export type Row = Record<string, string>;

export function parseTable(text: string): Row[] {
  const lines = text.split('\n');
  const dashIndex = lines.findIndex((l, i) => i > 0 && /^-+(\s+-+)*\s*$/.test(l));
  if (dashIndex < 0) return [];
  const header = lines[dashIndex - 1]!;
  const starts: number[] = [];
  for (const m of lines[dashIndex]!.matchAll(/-+/g)) starts.push(m.index);
  const cell = (line: string, i: number): string =>
    line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim();
  const names = starts.map((_, i) => cell(header, i));
  const rows: Row[] = [];
  for (const line of lines.slice(dashIndex + 1)) {
    if (line.trim() === '') break;
    const row: Row = {};
    names.forEach((n, i) => (row[n] = cell(line, i)));
    rows.push(row);
  }
  return rows;
}

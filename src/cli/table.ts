/** A plain aligned table for people; scripts use --json. */
export const renderTable = <T extends object>(rows: T[], columns: { key: keyof T; header: string }[]): string => {
  const cells = rows.map((row) => columns.map((c) => formatCell(row[c.key])))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)))
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n')
}

const formatCell = (value: unknown): string => {
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** key: value lines for one record. */
export const renderRecord = (record: object): string => {
  const entries = Object.entries(record)
  const width = Math.max(...entries.map(([k]) => k.length))
  return entries.map(([k, v]) => `${k.padEnd(width)}  ${formatCell(v)}`).join('\n')
}

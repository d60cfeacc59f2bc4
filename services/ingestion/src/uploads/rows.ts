import { pipeline, Readable } from 'node:stream';
import type { Pool } from 'pg';
import { parse, type Options } from 'csv-parse';
import { JSONParser } from '@streamparser/json';
import type { JsonObject } from '@herald/contracts';

export interface SourceRow {
  /** CSV: the spreadsheet row (header = row 1); JSONL: the line; JSON array: the item's index from 1. */
  readonly row: number;
  readonly record: Record<string, unknown>;
}

/** One row (CSV record or JSON line) may not exceed this: a file that is one huge line fails fast, with bounded memory. */
export const MAX_RECORD = 1024 * 1024;

/**
 * The accepted file, chunk by chunk from the database: memory stays bounded
 * whatever the size. UTF-16 files (BOM FF FE or FE FF) are refused with a
 * clear reason rather than read as garbage.
 */
async function* chunks(pool: Pool, uploadId: string): AsyncGenerator<Buffer> {
  for (let seq = 0; ; seq++) {
    const { rows } = await pool.query<{ data: Buffer }>('select data from ingestion_upload_chunks where upload_id = $1 and seq = $2', [uploadId, seq]);
    if (!rows.length) return;
    const data = rows[0].data;
    if (seq === 0 && data.length >= 2 && ((data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff))) {
      throw new Error('the file is UTF-16 encoded: save it as UTF-8 (with or without BOM) and upload it again');
    }
    yield data;
  }
}

export function formatOf(fileName: string): 'csv' | 'jsonl' | 'json' {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.json')) return 'json';
  return 'csv';
}

/** Rows of an upload with case-insensitive headers, CSV (quotes, CRLF, BOM), JSON Lines or a JSON array. */
export function readRows(pool: Pool, uploadId: string, fileName: string): AsyncGenerator<SourceRow> {
  return parseRows(chunks(pool, uploadId), formatOf(fileName));
}

/** The rows of a file arriving as chunks (any size, split anywhere); each format is read as a stream. */
export async function* parseRows(file: AsyncIterable<Buffer>, format: 'csv' | 'jsonl' | 'json'): AsyncGenerator<SourceRow> {
  // pipeline() carries a failure of the source (database, UTF-16) into the parser, so the loop below sees it.
  const source = () => Readable.from(file, { objectMode: false });
  if (format === 'csv') {
    // A record the parser cannot read (e.g. an unclosed quote) is reported as a rejected row and parsing goes on.
    const skipped: SourceRow[] = [];
    const parser = parse({
      bom: true, columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), skip_empty_lines: true,
      relax_column_count: true, relax_quotes: true, trim: false, info: true, max_record_size: MAX_RECORD,
      skip_records_with_error: true,
      on_skip: (error: { message: string; lines?: number; records?: number } | undefined) => {
        if (!error) return;
        const row = (error.records ?? 0) + 2;
        skipped.push({ row, record: { __error: `row ${row} (line ${error.lines ?? '?'}) could not be read: ${error.message.replace(/ at line \d+/, '')}` } });
      },
    } as Options);
    pipeline(source(), parser, () => undefined);
    // Rows are numbered as a spreadsheet shows them: the header is row 1, a quoted line break stays in its row.
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { records: number } }>) {
      while (skipped.length) yield skipped.shift()!;
      yield { row: info.records + 1, record };
    }
    while (skipped.length) yield skipped.shift()!;
    return;
  }
  if (format === 'jsonl') {
    let line = 0;
    let buffer = '';
    for await (const chunk of source().setEncoding('utf8')) {
      buffer += chunk;
      if (buffer.length > MAX_RECORD && buffer.indexOf('\n') < 0) throw new Error(`line ${line + 1} is longer than ${MAX_RECORD / 1024 / 1024} MiB`);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        line += 1;
        const row = parseJsonLine(text, line);
        if (row) yield row;
      }
    }
    const last = parseJsonLine(buffer, line + 1);
    if (last) yield last;
    return;
  }
  yield* jsonArrayRows(file);
}

/** The slice of a chunk the JSON parser takes at a time: how precisely an item's size is known. */
const JSON_SLICE = 64 * 1024;
const NOT_AN_ARRAY = 'a .json upload must be an array of objects (or use .jsonl)';

/**
 * A JSON array, item by item, with a streaming parser (@streamparser/json):
 * it keeps only the item being read (`keepStack: false` drops each item from
 * the array once emitted), and chunks are pulled only as the rows are
 * consumed, so memory is bounded by one chunk and one item whatever the file
 * size. Rows are the items' positions from 1; an item longer than MAX_RECORD
 * rejects the file at that item, like a CSV record.
 */
async function* jsonArrayRows(file: AsyncIterable<Buffer>): AsyncGenerator<SourceRow> {
  const parser = new JSONParser({ paths: ['$.*'], keepStack: false });
  const ready: SourceRow[] = [];
  let items = 0;
  let sinceItem = 0;
  parser.onValue = ({ value, key }) => {
    items = Number(key) + 1;
    sinceItem = 0;
    ready.push({ row: items, record: lowerKeys(value) });
  };
  const trailing = () => new Error(`the JSON array is followed by more data after item ${items}: one array per .json file (or use .jsonl)`);
  let head: Buffer | null = Buffer.alloc(0); // the start of the file until its first character is known
  for await (const chunk of file) {
    let data = chunk;
    if (head) {
      data = Buffer.concat([head, data]);
      if (data.length < BOM.length && BOM.subarray(0, data.length).equals(data)) { head = data; continue; }
      if (data.subarray(0, BOM.length).equals(BOM)) data = data.subarray(BOM.length);
      const first = data.findIndex((b) => !isJsonSpace(b));
      if (first < 0) { head = Buffer.alloc(0); continue; }
      if (data[first] !== 0x5b) throw new Error(NOT_AN_ARRAY);
      head = null;
    }
    for (let off = 0; off < data.length; off += JSON_SLICE) {
      const slice = data.subarray(off, off + JSON_SLICE);
      if (parser.isEnded) {
        // After the closing bracket only whitespace may follow.
        if (slice.some((b) => !isJsonSpace(b))) throw trailing();
        continue;
      }
      try {
        parser.write(slice);
      } catch (error) {
        yield* ready.splice(0);
        if (parser.isEnded) throw trailing();
        throw new Error(`item ${items + 1} of the JSON array is not valid JSON: ${(error as Error).message}`);
      }
      sinceItem += slice.length;
      yield* ready.splice(0);
      if (!parser.isEnded && sinceItem > MAX_RECORD + JSON_SLICE) throw new Error(`item ${items + 1} of the JSON array is longer than ${MAX_RECORD / 1024 / 1024} MiB`);
    }
  }
  if (head) throw new Error(NOT_AN_ARRAY);
  if (!parser.isEnded) throw new Error(`the JSON array ends after item ${items} without its closing bracket: the file is incomplete`);
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const isJsonSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function parseJsonLine(text: string, line: number): SourceRow | null {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (!trimmed) return null;
  try {
    return { row: line, record: lowerKeys(JSON.parse(trimmed)) };
  } catch (error) {
    return { row: line, record: { __error: `line ${line} is not valid JSON: ${(error as Error).message}` } };
  }
}

function lowerKeys(item: unknown): Record<string, unknown> {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return { __error: 'not a JSON object' };
  return Object.fromEntries(Object.entries(item as JsonObject).map(([k, v]) => [k.trim().toLowerCase(), v]));
}

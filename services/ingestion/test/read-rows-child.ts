// A separate process, started with a small heap (--max-old-space-size), that reads an upload's rows from
// DATABASE_URL and reports how many it read and how far ahead of each row the reader had fetched the file.
import { Pool } from 'pg';
import { readRows } from '../src/uploads/rows';

async function main(): Promise<void> {
  const [uploadId, fileName, itemBytes] = process.argv.slice(2);
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  let fetched = 0;
  // The real pool, counting the bytes of the file it has handed to the reader.
  const counting = {
    query: async (...args: Parameters<Pool['query']>) => {
      const result = await (pool.query as (...a: unknown[]) => Promise<{ rows: { data?: Buffer }[] }>)(...args);
      for (const r of result.rows) if (Buffer.isBuffer(r.data)) fetched += r.data.length;
      return result;
    },
  } as unknown as Pool;
  let rows = 0;
  let lastRow = 0;
  let maxAhead = 0;
  for await (const { row } of readRows(counting, uploadId, fileName)) {
    rows += 1;
    lastRow = row;
    // Items are all itemBytes long, comma-separated, after the opening bracket: where this one ends in the file.
    const end = 1 + row * (Number(itemBytes) + 1);
    maxAhead = Math.max(maxAhead, fetched - end);
  }
  await pool.end();
  process.stdout.write(`${JSON.stringify({ rows, lastRow, maxAhead, fetched, heapUsed: process.memoryUsage().heapUsed })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});

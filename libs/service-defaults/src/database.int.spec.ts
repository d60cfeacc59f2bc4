import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@herald/testing';
import { openDatabase, type Database } from './database';

// The embedded database: PGlite behind a loopback socket, used by node-pg exactly like PostgreSQL.
describe('embedded database (PGlite over a socket)', () => {
  let db: Database;
  const dir = mkdtempSync(join(tmpdir(), 'herald-db-'));

  before(async () => {
    db = await openDatabase({ databaseUrl: null, dataDir: dir });
    await db.pool.query('create table t (id int primary key, v text)');
  });
  after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers concurrent parameterised queries of different shapes on several connections correctly', async () => {
    const queries = Array.from({ length: 300 }, (_, i) => {
      switch (i % 3) {
        case 0: return db.pool.query<{ r: number }>('select $1::int + 1 as r', [i]).then((r) => assert.equal(r.rows[0].r, i + 1));
        case 1: return db.pool.query<{ r: string }>('select $1::text || $2::text as r', [String(i), 'x']).then((r) => assert.equal(r.rows[0].r, `${i}x`));
        default: return db.pool.query<{ r: number }>('select $1::int * $2::int + $3::int as r', [i, 2, 1]).then((r) => assert.equal(r.rows[0].r, i * 2 + 1));
      }
    });
    await Promise.all(queries);
  });

  it('keeps a transaction to its connection while others queue, and rolls back on error', async () => {
    const tx = async (id: number, fail: boolean) => {
      const client = await db.pool.connect();
      try {
        await client.query('begin');
        await client.query('insert into t values ($1, $2)', [id, 'a']);
        await new Promise((r) => setTimeout(r, 5));
        await client.query('update t set v = $2 where id = $1', [id, 'b']);
        if (fail) throw new Error('boom');
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        if ((error as Error).message !== 'boom') throw error;
      } finally {
        client.release();
      }
    };
    await Promise.all([...Array.from({ length: 20 }, (_, i) => tx(i, i % 4 === 0)), db.pool.query('select $1::int as x', [1])]);
    const { rows } = await db.pool.query<{ id: number; v: string }>('select id, v from t order by id');
    assert.deepEqual(rows.map((r) => r.id), Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 4 !== 0));
    assert.ok(rows.every((r) => r.v === 'b'));
  });

  it('keeps its data in the data folder across a restart', async () => {
    await db.close();
    db = await openDatabase({ databaseUrl: null, dataDir: dir });
    const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from t');
    assert.equal(Number(rows[0].n), 15);
  });
});

// The distributed mode: PostgreSQL itself, with the session options every service pool sends.
describe('distributed database (PostgreSQL)', () => {
  it('opens every session with JIT off (POSTGRES_SESSION_OPTIONS; HERALD_PG_OPTIONS replaces them, docs/operations.md)', async () => {
    const test = await createTestDatabase();
    const db = await openDatabase({ databaseUrl: test.url, dataDir: '' });
    try {
      // The server's own default here is on: the answer comes from the pool's startup options.
      assert.equal((await test.pool.query<{ jit: string }>('show jit')).rows[0].jit, 'on');
      const answers = await Promise.all([0, 1, 2].map(async () => (await db.pool.query<{ jit: string }>('show jit')).rows[0].jit));
      assert.deepEqual(answers, ['off', 'off', 'off']);
    } finally {
      await db.close();
      await test.drop();
    }
  });
});

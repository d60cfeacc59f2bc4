export const INGESTION_SCHEMA = `
create table if not exists ingestion_uploads (
  id                text primary key,
  workspace_id      text not null,
  campaign_id       text not null,
  file_name         text not null,
  state             text not null,
  rows_read         integer not null default 0,
  rows_done         integer not null default 0,
  imported          integer not null default 0,
  created           integer not null default 0,
  rejected          integer not null default 0,
  message           text,
  worker            text,
  lease_until       timestamptz,
  campaign_notified boolean not null default false,
  created_at        timestamptz not null default now(),
  finished_at       timestamptz
);
create index if not exists ingestion_uploads_pending on ingestion_uploads (state, created_at);
-- The last time a chunk of a 'receiving' upload arrived: one that stops arriving expires (the uploader died mid-transfer).
alter table ingestion_uploads add column if not exists received_at timestamptz not null default now();
-- The accepted file, in order: once commit returns, nothing in it can be lost.
create table if not exists ingestion_upload_chunks (
  upload_id text not null,
  seq       integer not null,
  data      bytea not null,
  primary key (upload_id, seq)
);
create table if not exists ingestion_upload_rejections (
  upload_id text not null,
  row       integer not null,
  field     text,
  message   text not null,
  primary key (upload_id, row)
);
`;

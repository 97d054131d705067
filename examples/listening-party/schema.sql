-- The listening-party app's tables, their row-level security policies (Supabase style: policies name the
-- roles anon and authenticated and call auth.uid()), and the publication Postgres Changes read.
--
-- Run it once, as the database owner, after the RealtimeCluster reports DatabaseReady=True: the
-- operator creates the roles anon/authenticated/service_role, the auth.* helpers and the publication
-- supabase_realtime that this file uses.
--
--   psql "postgres://postgres:$DB_OWNER_PASSWORD@<host>:5432/listening_party" -v ON_ERROR_STOP=1 -f schema.sql
--
-- It runs in one transaction: if any statement fails nothing is changed.
begin;

-- One party: a DJ and their listeners.
create table public.sessions (
  id         uuid primary key default gen_random_uuid(),
  host_id    uuid not null,
  title      text not null check (length(title) between 1 and 200),
  is_live    boolean not null default true,
  created_at timestamptz not null default now()
);

-- Chat, kept by month: the RealtimeCluster's spec.partitions.tables has the operator make the coming months'
-- partitions and drop those past the retention. This file makes this month's and next month's now, with the names
-- the operator uses (chat_messages_pYYYY_MM), so chat can be written before the operator's first run.
create table public.chat_messages (
  id         bigserial,
  session_id uuid not null references public.sessions (id) on delete cascade,
  user_id    uuid not null,
  body       text not null check (length(body) between 1 and 1000),
  created_at timestamptz not null default now(),
  primary key (id, created_at)
) partition by range (created_at);
create index chat_messages_session_idx on public.chat_messages (session_id, created_at desc);
do $$
declare
  month timestamp := date_trunc('month', timezone('utc', now()));
begin
  for i in 0..1 loop
    execute format('create table public.%I partition of public.chat_messages for values from (%L) to (%L)',
                   'chat_messages_p' || to_char(month + make_interval(months => i), 'YYYY_MM'),
                   (month + make_interval(months => i)) at time zone 'utc',
                   (month + make_interval(months => i + 1)) at time zone 'utc');
  end loop;
end
$$;

create table public.song_queue (
  id         bigint generated always as identity primary key,
  session_id uuid not null references public.sessions (id) on delete cascade,
  added_by   uuid not null,
  title      text not null,
  artist     text,
  position   integer not null,
  played_at  timestamptz,
  created_at timestamptz not null default now(),
  unique (session_id, position)
);

create table public.votes (
  id         bigint generated always as identity primary key,
  session_id uuid not null references public.sessions (id) on delete cascade,
  song_id    bigint not null references public.song_queue (id) on delete cascade,
  user_id    uuid not null,
  value      smallint not null check (value in (-1, 1)),
  created_at timestamptz not null default now(),
  unique (song_id, user_id)
);
create index votes_session_idx on public.votes (session_id);

create table public.tips (
  id           bigint generated always as identity primary key,
  session_id   uuid not null references public.sessions (id) on delete cascade,
  from_user    uuid not null,
  amount_cents integer not null check (amount_cents > 0),
  message      text,
  created_at   timestamptz not null default now()
);

-- What the API roles may touch at all; the policies below decide which rows. (A new Supabase project
-- grants these by default; other PostgreSQL servers need them spelled out.)
grant select on public.sessions, public.chat_messages, public.song_queue, public.votes to anon, authenticated;
grant select, insert on public.tips to authenticated;
grant insert, update, delete on public.sessions, public.song_queue to authenticated;
grant insert on public.chat_messages, public.votes to authenticated;
grant usage on sequence public.chat_messages_id_seq to authenticated;
grant update (value) on public.votes to authenticated;
grant delete on public.chat_messages, public.votes to authenticated;

alter table public.sessions enable row level security;
alter table public.chat_messages enable row level security;
alter table public.song_queue enable row level security;
alter table public.votes enable row level security;
alter table public.tips enable row level security;

-- sessions: everyone sees live parties; the DJ manages their own.
create policy "Live sessions are visible to everyone" on public.sessions
  for select to anon, authenticated using (is_live or auth.uid() = host_id);
create policy "DJs create their sessions" on public.sessions
  for insert to authenticated with check (auth.uid() = host_id);
create policy "DJs update their sessions" on public.sessions
  for update to authenticated using (auth.uid() = host_id) with check (auth.uid() = host_id);
create policy "DJs delete their sessions" on public.sessions
  for delete to authenticated using (auth.uid() = host_id);

-- chat_messages: readable in live sessions, written by signed-in users as themselves.
create policy "Chat is readable in live sessions" on public.chat_messages
  for select to anon, authenticated
  using (exists (select 1 from public.sessions s where s.id = session_id and s.is_live));
create policy "Listeners post as themselves" on public.chat_messages
  for insert to authenticated with check (auth.uid() = user_id);
create policy "Authors and the DJ delete chat" on public.chat_messages
  for delete to authenticated
  using (auth.uid() = user_id
         or auth.uid() = (select s.host_id from public.sessions s where s.id = session_id));

-- song_queue: everyone sees it, the DJ orders it, listeners suggest songs.
create policy "The queue is visible to everyone" on public.song_queue
  for select to anon, authenticated using (true);
create policy "Listeners add songs as themselves" on public.song_queue
  for insert to authenticated with check (auth.uid() = added_by);
create policy "The DJ reorders and marks songs played" on public.song_queue
  for update to authenticated
  using (auth.uid() = (select s.host_id from public.sessions s where s.id = session_id));
create policy "The DJ removes songs" on public.song_queue
  for delete to authenticated
  using (auth.uid() = (select s.host_id from public.sessions s where s.id = session_id));

-- votes: counted in public (Postgres Changes deliver them to every listener), cast once per song.
create policy "Votes are visible to everyone" on public.votes
  for select to anon, authenticated using (true);
create policy "Listeners vote as themselves" on public.votes
  for insert to authenticated with check (auth.uid() = user_id);
create policy "Listeners change their vote" on public.votes
  for update to authenticated using (auth.uid() = user_id) with check (auth.uid() = user_id);
create policy "Listeners withdraw their vote" on public.votes
  for delete to authenticated using (auth.uid() = user_id);

-- tips: private between the tipper and the DJ (Postgres Changes send a tip only to those two).
create policy "Tippers and the DJ see tips" on public.tips
  for select to authenticated
  using (auth.uid() = from_user
         or auth.uid() = (select s.host_id from public.sessions s where s.id = session_id));
create policy "Listeners tip as themselves" on public.tips
  for insert to authenticated with check (auth.uid() = from_user);

-- Private channels (supabase-js `config: { private: true }`) on topics `party:<session id>`: signed-in
-- users may receive and send broadcasts and presence on the topic of a live session. Public channels,
-- which the example client uses, need no policy.
create policy "Signed-in users join live party channels" on realtime.messages
  for select to authenticated
  using (realtime.topic() like 'party:%'
         and exists (select 1 from public.sessions s
                     where s.id::text = split_part(realtime.topic(), ':', 2) and s.is_live));
create policy "Signed-in users broadcast on live party channels" on realtime.messages
  for insert to authenticated
  with check (realtime.topic() like 'party:%'
              and exists (select 1 from public.sessions s
                          where s.id::text = split_part(realtime.topic(), ':', 2) and s.is_live));

-- Postgres Changes: the tables whose inserts, updates and deletes clients may subscribe to.
alter publication supabase_realtime add table
  public.sessions, public.chat_messages, public.song_queue, public.votes, public.tips;

commit;

-- The realtime schema: idempotent, safe to run again at any time (PostgreSQL 14 to 17).
CREATE SCHEMA IF NOT EXISTS realtime;

CREATE TABLE IF NOT EXISTS realtime.messages (
  topic          text        NOT NULL,
  extension      text        NOT NULL,
  payload        jsonb,
  event          text,
  private        boolean     DEFAULT false,
  updated_at     timestamp   NOT NULL DEFAULT timezone('utc', now()),
  inserted_at    timestamp   NOT NULL DEFAULT timezone('utc', now()),
  id             uuid        NOT NULL DEFAULT gen_random_uuid(),
  binary_payload bytea,
  PRIMARY KEY (id, inserted_at)
) PARTITION BY RANGE (inserted_at);

ALTER TABLE realtime.messages ADD COLUMN IF NOT EXISTS binary_payload bytea;
CREATE INDEX IF NOT EXISTS messages_topic_inserted_at_idx ON realtime.messages (topic, inserted_at);
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;

-- The topic of the channel being authorized (set by the runtime for policy checks).
CREATE OR REPLACE FUNCTION realtime.topic() RETURNS text
  LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('realtime.topic', true), '')::text $$;

-- Creates the daily partition holding `day` (UTC) unless it exists. The new table is made on its own and then
-- attached: ATTACH takes a SHARE UPDATE EXCLUSIVE lock on realtime.messages, where CREATE TABLE ... PARTITION OF
-- takes an ACCESS EXCLUSIVE one, so readers and writers of the messages never wait for a new day.
CREATE OR REPLACE FUNCTION realtime.ensure_partition(day date) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  part text := 'messages_' || to_char(day, 'YYYY_MM_DD');
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'realtime' AND c.relname = part
                   AND i.inhparent = 'realtime.messages'::regclass) THEN
    EXECUTE format('CREATE TABLE IF NOT EXISTS realtime.%I (LIKE realtime.messages INCLUDING DEFAULTS)', part);
    BEGIN
      EXECUTE format('ALTER TABLE realtime.messages ATTACH PARTITION realtime.%I FOR VALUES FROM (%L) TO (%L)',
                     part, day::timestamp, (day + 1)::timestamp);
    EXCEPTION WHEN OTHERS THEN
      -- another session attached it first; anything else is an error
      IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = format('realtime.%I', part)::regclass) THEN
        RAISE;
      END IF;
    END;
  END IF;
END
$$;

-- Inserts one message row; creates a missing partition rather than lose the message. A broadcast must
-- never fail the caller's transaction, so other errors become warnings.
CREATE OR REPLACE FUNCTION realtime.insert_message(
  topic text, event text, payload jsonb, binary_payload bytea, private boolean) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  BEGIN
    INSERT INTO realtime.messages (topic, extension, event, payload, binary_payload, private)
    VALUES (insert_message.topic, 'broadcast', insert_message.event, insert_message.payload,
            insert_message.binary_payload, insert_message.private);
  EXCEPTION WHEN check_violation THEN
    PERFORM realtime.ensure_partition(timezone('utc', now())::date);
    INSERT INTO realtime.messages (topic, extension, event, payload, binary_payload, private)
    VALUES (insert_message.topic, 'broadcast', insert_message.event, insert_message.payload,
            insert_message.binary_payload, insert_message.private);
  END;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'ErrorSendingBroadcastMessage: %', SQLERRM;
END
$$;

CREATE OR REPLACE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true)
  RETURNS void
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT realtime.insert_message(topic, event, payload, NULL, private) $$;

CREATE OR REPLACE FUNCTION realtime.send_binary(payload bytea, event text, topic text, private boolean DEFAULT true)
  RETURNS void
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT realtime.insert_message(topic, event, NULL, payload, private) $$;

-- For row triggers: sends {old_record, record, operation, table, schema} to a topic.
CREATE OR REPLACE FUNCTION realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text DEFAULT 'ROW') RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  row_data jsonb;
BEGIN
  IF level = 'STATEMENT' THEN
    RAISE EXCEPTION 'realtime.broadcast_changes works FOR EACH ROW triggers, not FOR EACH STATEMENT';
  END IF;
  row_data := jsonb_build_object(
    'old_record', CASE WHEN old IS NULL THEN NULL ELSE to_jsonb(old) END,
    'record', CASE WHEN new IS NULL THEN NULL ELSE to_jsonb(new) END,
    'operation', operation,
    'table', table_name,
    'schema', table_schema);
  PERFORM realtime.send(row_data, event_name, topic_name, true);
END
$$;

REVOKE ALL ON FUNCTION realtime.ensure_partition(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION realtime.insert_message(text, text, jsonb, bytea, boolean) FROM PUBLIC;
GRANT USAGE ON SCHEMA realtime TO PUBLIC;
GRANT EXECUTE ON FUNCTION realtime.topic() TO PUBLIC;

-- Supabase's API roles, which policies name (created only where missing; Supabase databases have them).
-- Roles are shared by every database of the server: tenants provisioned at once may race to create them.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        IF r = 'service_role' THEN
          BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT BYPASSRLS', r);
          EXCEPTION WHEN insufficient_privilege THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
          END;
        ELSE
          EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created concurrently by another tenant's provisioning
      END;
    END IF;
  END LOOP;
END
$$;
GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role;
GRANT SELECT, INSERT ON realtime.messages TO anon, authenticated, service_role;

-- The JWT helpers Supabase policies call, reading the claims the runtime sets for each check.
CREATE SCHEMA IF NOT EXISTS auth;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
DO $$
BEGIN
  IF to_regprocedure('auth.jwt()') IS NULL THEN
    CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE
      AS $f$ SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $f$;
  END IF;
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
      AS $f$ SELECT nullif(coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')), '')::uuid $f$;
  END IF;
  IF to_regprocedure('auth.role()') IS NULL THEN
    CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE
      AS $f$ SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                             (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')) $f$;
  END IF;
END
$$;

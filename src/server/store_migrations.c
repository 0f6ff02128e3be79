/*
 * store_migrations.c - the schema, as one list of versioned migrations in
 * the two dialects (store_migrations.h). The PostgreSQL column types are
 * the SQLite ones made explicit: 64-bit integers where SQLite's INTEGER
 * holds times, sizes, ids and hashes; BYTEA for BLOB; the audit log's
 * append-only rule as a trigger function instead of RAISE(ABORT).
 */
#include "store_migrations.h"

const struct store_migration store_migrations[] = {
    /* 1: initial schema */
    {
        .sqlite =
            "CREATE TABLE releases ("
            "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
            "  version TEXT NOT NULL,"
            "  size INTEGER NOT NULL,"
            "  chip INTEGER NOT NULL,"
            "  project TEXT NOT NULL,"
            "  idf_ver TEXT NOT NULL,"
            "  secure_version INTEGER NOT NULL,"
            "  sha256 TEXT NOT NULL UNIQUE,"
            "  chunk_size INTEGER NOT NULL,"
            "  slot_size INTEGER NOT NULL,"
            "  created_at INTEGER NOT NULL);"
            "CREATE TABLE devices ("
            "  id TEXT PRIMARY KEY,"
            "  chip INTEGER NOT NULL,"
            "  current_version TEXT NOT NULL DEFAULT '',"
            "  reported_version TEXT NOT NULL DEFAULT '',"
            "  offered_release INTEGER REFERENCES releases(id),"
            "  state TEXT NOT NULL DEFAULT '',"
            "  status_release INTEGER REFERENCES releases(id),"
            "  chunks_received INTEGER NOT NULL DEFAULT 0,"
            "  last_error TEXT NOT NULL DEFAULT '',"
            "  last_seen INTEGER NOT NULL DEFAULT 0,"
            "  created_at INTEGER NOT NULL);"
            "CREATE TABLE status_history ("
            "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
            "  device_id TEXT NOT NULL REFERENCES devices(id),"
            "  release_id INTEGER NOT NULL REFERENCES releases(id),"
            "  state TEXT NOT NULL,"
            "  chunks_received INTEGER NOT NULL,"
            "  error TEXT NOT NULL,"
            "  at INTEGER NOT NULL);"
            "CREATE INDEX status_history_device ON status_history(device_id, id);"
            "CREATE TABLE deployments ("
            "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
            "  release_id INTEGER NOT NULL REFERENCES releases(id),"
            "  chip INTEGER,"
            "  created_at INTEGER NOT NULL);"
            "CREATE INDEX deployments_chip ON deployments(chip, id);"
            "CREATE TABLE deployment_devices ("
            "  deployment_id INTEGER NOT NULL REFERENCES deployments(id),"
            "  device_id TEXT NOT NULL REFERENCES devices(id),"
            "  PRIMARY KEY (deployment_id, device_id));"
            "CREATE INDEX deployment_devices_device ON deployment_devices(device_id);",
        .pg =
            "CREATE TABLE releases ("
            "  id BIGSERIAL PRIMARY KEY,"
            "  version TEXT NOT NULL,"
            "  size BIGINT NOT NULL,"
            "  chip INTEGER NOT NULL,"
            "  project TEXT NOT NULL,"
            "  idf_ver TEXT NOT NULL,"
            "  secure_version BIGINT NOT NULL,"
            "  sha256 TEXT NOT NULL UNIQUE,"
            "  chunk_size BIGINT NOT NULL,"
            "  slot_size BIGINT NOT NULL,"
            "  created_at BIGINT NOT NULL);"
            "CREATE TABLE devices ("
            "  id TEXT PRIMARY KEY,"
            "  chip INTEGER NOT NULL,"
            "  current_version TEXT NOT NULL DEFAULT '',"
            "  reported_version TEXT NOT NULL DEFAULT '',"
            "  offered_release BIGINT REFERENCES releases(id),"
            "  state TEXT NOT NULL DEFAULT '',"
            "  status_release BIGINT REFERENCES releases(id),"
            "  chunks_received BIGINT NOT NULL DEFAULT 0,"
            "  last_error TEXT NOT NULL DEFAULT '',"
            "  last_seen BIGINT NOT NULL DEFAULT 0,"
            "  created_at BIGINT NOT NULL);"
            "CREATE TABLE status_history ("
            "  id BIGSERIAL PRIMARY KEY,"
            "  device_id TEXT NOT NULL REFERENCES devices(id),"
            "  release_id BIGINT NOT NULL REFERENCES releases(id),"
            "  state TEXT NOT NULL,"
            "  chunks_received BIGINT NOT NULL,"
            "  error TEXT NOT NULL,"
            "  at BIGINT NOT NULL);"
            "CREATE INDEX status_history_device ON status_history(device_id, id);"
            "CREATE TABLE deployments ("
            "  id BIGSERIAL PRIMARY KEY,"
            "  release_id BIGINT NOT NULL REFERENCES releases(id),"
            "  chip INTEGER,"
            "  created_at BIGINT NOT NULL);"
            "CREATE INDEX deployments_chip ON deployments(chip, id);"
            "CREATE TABLE deployment_devices ("
            "  deployment_id BIGINT NOT NULL REFERENCES deployments(id),"
            "  device_id TEXT NOT NULL REFERENCES devices(id),"
            "  PRIMARY KEY (deployment_id, device_id));"
            "CREATE INDEX deployment_devices_device ON deployment_devices(device_id);",
    },
    /* 2: signed releases (manifest + ECDSA signature, both NULL when
     * unsigned) and deployments that may downgrade */
    {
        .sqlite =
            "ALTER TABLE releases ADD COLUMN manifest BLOB;"
            "ALTER TABLE releases ADD COLUMN signature BLOB;"
            "ALTER TABLE deployments ADD COLUMN allow_downgrade INTEGER NOT NULL DEFAULT 0;",
        .pg =
            "ALTER TABLE releases ADD COLUMN manifest BYTEA;"
            "ALTER TABLE releases ADD COLUMN signature BYTEA;"
            "ALTER TABLE deployments ADD COLUMN allow_downgrade INTEGER NOT NULL DEFAULT 0;",
    },
    /* 3: staged rollouts (rollout.h): the rollout, its members (cohort hash
     * and stage, first offer, last state, outcome), its transitions; device
     * tags for tag targets; keys devices already held, wrapped (keys.h); the
     * append-only audit log of admin actions */
    {
        .sqlite =
            "CREATE TABLE device_tags ("
            "  device_id TEXT NOT NULL REFERENCES devices(id),"
            "  tag TEXT NOT NULL,"
            "  PRIMARY KEY (device_id, tag));"
            "CREATE INDEX device_tags_tag ON device_tags(tag, device_id);"
            "CREATE TABLE device_keys ("
            "  device_id TEXT PRIMARY KEY REFERENCES devices(id),"
            "  wrapped BLOB NOT NULL);"
            "CREATE TABLE rollouts ("
            "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
            "  release_id INTEGER NOT NULL REFERENCES releases(id),"
            "  target INTEGER NOT NULL,"
            "  chip INTEGER,"
            "  tag TEXT,"
            "  stages TEXT NOT NULL,"
            "  bounds TEXT NOT NULL,"
            "  salt INTEGER NOT NULL,"
            "  min_devices INTEGER NOT NULL,"
            "  max_failure_pct INTEGER NOT NULL,"
            "  deadline INTEGER NOT NULL,"
            "  soak INTEGER NOT NULL,"
            "  allow_downgrade INTEGER NOT NULL,"
            "  after_deployment INTEGER NOT NULL,"
            "  state TEXT NOT NULL,"
            "  stage INTEGER NOT NULL,"
            "  stage_started_at INTEGER NOT NULL,"
            "  created_at INTEGER NOT NULL,"
            "  updated_at INTEGER NOT NULL,"
            "  reason TEXT NOT NULL);"
            "CREATE INDEX rollouts_state ON rollouts(state, id);"
            "CREATE INDEX rollouts_release ON rollouts(release_id);"
            "CREATE TABLE rollout_members ("
            "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id),"
            "  device_id TEXT NOT NULL REFERENCES devices(id),"
            "  hash INTEGER NOT NULL,"
            "  stage INTEGER NOT NULL,"
            "  offered_at INTEGER,"
            "  state TEXT NOT NULL DEFAULT '',"
            "  outcome TEXT NOT NULL DEFAULT '',"
            "  finished_at INTEGER,"
            "  PRIMARY KEY (rollout_id, device_id));"
            "CREATE INDEX rollout_members_device ON rollout_members(device_id, rollout_id);"
            "CREATE INDEX rollout_members_stage ON rollout_members(rollout_id, stage);"
            "CREATE TABLE rollout_events ("
            "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
            "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id),"
            "  at INTEGER NOT NULL,"
            "  from_state TEXT NOT NULL,"
            "  to_state TEXT NOT NULL,"
            "  from_stage INTEGER NOT NULL,"
            "  to_stage INTEGER NOT NULL,"
            "  reason TEXT NOT NULL);"
            "CREATE INDEX rollout_events_rollout ON rollout_events(rollout_id, id);"
            "CREATE TABLE audit_log ("
            "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
            "  at INTEGER NOT NULL,"
            "  who TEXT NOT NULL,"
            "  method TEXT NOT NULL,"
            "  path TEXT NOT NULL,"
            "  detail TEXT NOT NULL,"
            "  status INTEGER NOT NULL,"
            "  result TEXT NOT NULL);"
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
            "  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
            "  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
        .pg =
            "CREATE TABLE device_tags ("
            "  device_id TEXT NOT NULL REFERENCES devices(id),"
            "  tag TEXT NOT NULL,"
            "  PRIMARY KEY (device_id, tag));"
            "CREATE INDEX device_tags_tag ON device_tags(tag, device_id);"
            "CREATE TABLE device_keys ("
            "  device_id TEXT PRIMARY KEY REFERENCES devices(id),"
            "  wrapped BYTEA NOT NULL);"
            "CREATE TABLE rollouts ("
            "  id BIGSERIAL PRIMARY KEY,"
            "  release_id BIGINT NOT NULL REFERENCES releases(id),"
            "  target INTEGER NOT NULL,"
            "  chip INTEGER,"
            "  tag TEXT,"
            "  stages TEXT NOT NULL,"
            "  bounds TEXT NOT NULL,"
            "  salt BIGINT NOT NULL,"
            "  min_devices INTEGER NOT NULL,"
            "  max_failure_pct INTEGER NOT NULL,"
            "  deadline BIGINT NOT NULL,"
            "  soak BIGINT NOT NULL,"
            "  allow_downgrade INTEGER NOT NULL,"
            "  after_deployment BIGINT NOT NULL,"
            "  state TEXT NOT NULL,"
            "  stage INTEGER NOT NULL,"
            "  stage_started_at BIGINT NOT NULL,"
            "  created_at BIGINT NOT NULL,"
            "  updated_at BIGINT NOT NULL,"
            "  reason TEXT NOT NULL);"
            "CREATE INDEX rollouts_state ON rollouts(state, id);"
            "CREATE INDEX rollouts_release ON rollouts(release_id);"
            "CREATE TABLE rollout_members ("
            "  rollout_id BIGINT NOT NULL REFERENCES rollouts(id),"
            "  device_id TEXT NOT NULL REFERENCES devices(id),"
            "  hash BIGINT NOT NULL,"
            "  stage INTEGER NOT NULL,"
            "  offered_at BIGINT,"
            "  state TEXT NOT NULL DEFAULT '',"
            "  outcome TEXT NOT NULL DEFAULT '',"
            "  finished_at BIGINT,"
            "  PRIMARY KEY (rollout_id, device_id));"
            "CREATE INDEX rollout_members_device ON rollout_members(device_id, rollout_id);"
            "CREATE INDEX rollout_members_stage ON rollout_members(rollout_id, stage);"
            "CREATE TABLE rollout_events ("
            "  id BIGSERIAL PRIMARY KEY,"
            "  rollout_id BIGINT NOT NULL REFERENCES rollouts(id),"
            "  at BIGINT NOT NULL,"
            "  from_state TEXT NOT NULL,"
            "  to_state TEXT NOT NULL,"
            "  from_stage INTEGER NOT NULL,"
            "  to_stage INTEGER NOT NULL,"
            "  reason TEXT NOT NULL);"
            "CREATE INDEX rollout_events_rollout ON rollout_events(rollout_id, id);"
            "CREATE TABLE audit_log ("
            "  id BIGSERIAL PRIMARY KEY,"
            "  at BIGINT NOT NULL,"
            "  who TEXT NOT NULL,"
            "  method TEXT NOT NULL,"
            "  path TEXT NOT NULL,"
            "  detail TEXT NOT NULL,"
            "  status INTEGER NOT NULL,"
            "  result TEXT NOT NULL);"
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
            "  $$BEGIN RAISE EXCEPTION 'audit_log is append-only'; END$$;"
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log"
            "  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();"
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
            "  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();",
    },
    /* 4: several servers on one database: release bytes, content-addressed
     * and cut in rows of at most 256 KiB, so a node serves a release
     * uploaded through another; the fleet-wide download slots
     * (--max-downloads). SQLite keeps bytes in the data folder and slots in
     * the process: the tables exist there too, unused, so both schemas stay
     * one list. */
    {
        .sqlite =
            "CREATE TABLE release_blobs ("
            "  sha256 TEXT NOT NULL,"
            "  seq INTEGER NOT NULL,"
            "  data BLOB NOT NULL,"
            "  PRIMARY KEY (sha256, seq));"
            "CREATE TABLE download_slots ("
            "  device_id TEXT PRIMARY KEY,"
            "  refreshed_at INTEGER NOT NULL);",
        .pg =
            "CREATE TABLE release_blobs ("
            "  sha256 TEXT NOT NULL,"
            "  seq INTEGER NOT NULL,"
            "  data BYTEA NOT NULL,"
            "  PRIMARY KEY (sha256, seq));"
            "CREATE TABLE download_slots ("
            "  device_id TEXT PRIMARY KEY,"
            "  refreshed_at BIGINT NOT NULL);"
            "CREATE INDEX download_slots_refreshed ON download_slots(refreshed_at);",
    },
    /* 5: the fleet's history by time, for status_window (the dashboard's
     * fleet page reads the failures and the confirmations of the last
     * hours of the whole fleet at once): the failures (a partial index:
     * its WHERE is the failure rule, written exactly as the queries of
     * store_sqlite_window.c and store_pg_window.c write it, or SQLite does
     * not use it) and every state by time (the confirmations are counted
     * from the index alone). Without them a refresh scans the whole table,
     * up to STORE_HISTORY_KEEP rows per device; with them it touches only
     * the window's failures and confirmations (docs/performance.md). */
    {
        .sqlite = "CREATE INDEX status_history_failures ON status_history(at)"
                  "  WHERE state IN ('failed', 'rolled_back') OR error <> '';"
                  "CREATE INDEX status_history_state_at ON status_history(state, at);",
        .pg = "CREATE INDEX status_history_failures ON status_history(at)"
              "  WHERE state IN ('failed', 'rolled_back') OR error <> '';"
              "CREATE INDEX status_history_state_at ON status_history(state, at);",
    },
};
const int store_nmigrations = (int)(sizeof store_migrations / sizeof store_migrations[0]);

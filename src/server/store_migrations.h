/*
 * store_migrations.h - the one list of schema migrations every store
 * backend applies. Migration i brings the schema from version i to i+1; each
 * entry carries its SQL once per dialect (SQLite, PostgreSQL) where the two
 * differ, so the backends can never disagree on what version N means. A
 * backend records the version it reached (SQLite: PRAGMA user_version;
 * PostgreSQL: the schema_version table) and applies the rest in one
 * transaction at open. Append only: never edit a migration that has shipped.
 */
#ifndef FOTA_SERVER_STORE_MIGRATIONS_H
#define FOTA_SERVER_STORE_MIGRATIONS_H

struct store_migration {
    const char *sqlite; /* SQLite dialect */
    const char *pg;     /* PostgreSQL dialect */
};

extern const struct store_migration store_migrations[];
extern const int store_nmigrations;

#endif

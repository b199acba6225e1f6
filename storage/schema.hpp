// The database schema and its migrations, versioned with PRAGMA user_version.
#pragma once

#include "storage/sqlite.hpp"

namespace sunkeep::storage {

// The schema version this build writes.
int latest_schema_version();

// Applies every migration above the file's user_version, each in its own transaction.
// Refuses (StorageError) a file written by a newer sunkeep.
void migrate(Connection& db, int target_version = latest_schema_version());

// WAL mode with full sync (a COMMIT that returned is on disk) and a 64 MiB page cache.
void configure_durable(Connection& db);

}  // namespace sunkeep::storage

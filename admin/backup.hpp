// `sunkeep backup FILE`: a consistent copy of the database, safe while the server writes to it.
// SQLite's VACUUM INTO reads the database in one read transaction, so the copy holds exactly what
// was committed when it began (every record acknowledged before it) and nothing half-written; the
// server's writer goes on meanwhile (WAL mode). The copy is written beside FILE, checked with
// quick_check, flushed to disk and only then renamed to FILE, so FILE is never a partial copy.
// While it reads, the server's write-ahead log cannot restart from its beginning, so a backup of a
// large database makes the log grow (and the writer's checkpoints wait) until it ends.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace sunkeep::admin {

struct BackupOutcome {
  bool ok = false;
  std::string message;      // what happened, or why not, in a sentence for the owner
  std::uintmax_t bytes = 0;  // the copy's size
};

// Copies the database `source` to `target`. An existing `target` is replaced only with `overwrite`.
BackupOutcome backup_database(const std::filesystem::path& source, const std::filesystem::path& target, bool overwrite);

}  // namespace sunkeep::admin

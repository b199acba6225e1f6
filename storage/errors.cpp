// The storage error category and the mapping from SQLite's result codes.
#include "storage/errors.hpp"

#include "storage/sqlite.hpp"

#include <sqlite3.h>

namespace sunkeep::storage {

namespace {

// Boost's category has a protected, non-virtual destructor by design (categories are never
// deleted through a base pointer).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class StorageCategory final : public boost::system::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "storage"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<StorageErrc>(value)) {
      case StorageErrc::full: return "database or disk is full";
      case StorageErrc::read_only: return "database is read-only";
      case StorageErrc::gone: return "database file was deleted or replaced";
      case StorageErrc::io: return "disk I/O error";
      case StorageErrc::job_failed: return "storage job failed";
      case StorageErrc::database: return "database error";
      case StorageErrc::stopped: return "storage stopped";
    }
    return "unknown storage error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& storage_category() {
  static const StorageCategory category;
  return category;
}

StorageErrc classify(const std::exception& e) {
  const auto* storage = dynamic_cast<const StorageError*>(&e);
  if (storage == nullptr || storage->code == 0) return StorageErrc::job_failed;
  switch (storage->code) {
    case SQLITE_FULL: return StorageErrc::full;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN: return StorageErrc::read_only;
    case SQLITE_IOERR: return StorageErrc::io;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG: return StorageErrc::job_failed;
    default: return StorageErrc::database;
  }
}

}  // namespace sunkeep::storage

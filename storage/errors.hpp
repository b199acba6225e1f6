// Why a storage job was not committed, as an error_code of its own category, so that a session
// logs "database or disk is full" rather than a socket error's text, and health can name it.
#pragma once

#include <boost/system/error_code.hpp>

#include <exception>
#include <string>

namespace sunkeep::storage {

enum class StorageErrc {
  full = 1,        // SQLITE_FULL: the disk (or the database's page limit) is full
  read_only,       // the file or its folder cannot be written
  gone,            // the database file or its log was deleted or replaced while running
  io,              // the disk failed a read, write or sync
  job_failed,      // the job itself threw (a bug or data it could not store), the rest is fine
  database,        // any other SQLite error
  stopped,         // the writer was stopped before the job ran
};

const boost::system::error_category& storage_category();

inline boost::system::error_code make_error_code(StorageErrc e) {
  return {static_cast<int>(e), storage_category()};
}

// The category of what a job or a commit threw. A SQLite result code names the disk's state;
// anything else is the job's own failure.
StorageErrc classify(const std::exception& e);

// Whether this error means the storage as a whole fails (every job would), not one job.
inline bool storage_wide(StorageErrc e) { return e != StorageErrc::job_failed && e != StorageErrc::stopped; }

}  // namespace sunkeep::storage

template <>
struct boost::system::is_error_code_enum<sunkeep::storage::StorageErrc> : std::true_type {};

// A consistent online copy of the database (see backup.hpp).
#include "admin/backup.hpp"

#include "admin/host_probe.hpp"
#include "storage/sqlite.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace sunkeep::admin {

namespace fs = std::filesystem;

namespace {

// Flushes a file or folder to disk; false if it could not be opened or synced.
bool sync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced;
}

// An empty file only the owner can read (the copy holds the owner's data); VACUUM INTO fills it.
bool create_private_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

BackupOutcome failed(std::string message) { return {.ok = false, .message = std::move(message)}; }

// Writes the snapshot into `partial` and checks it; "" when it is good.
std::string write_snapshot(const fs::path& source, const fs::path& partial) {
  if (!create_private_file(partial)) return "cannot create " + partial.string() + ": " + std::strerror(errno);
  {
    storage::Connection db(source.string(), storage::Connection::Mode::read_only);
    db.prepare("VACUUM INTO ?1").bind(1, partial.string()).run();
  }
  const std::string verdict = storage::Connection(partial.string(), storage::Connection::Mode::read_only).query_text("PRAGMA quick_check");
  if (verdict != "ok") return "the copy fails quick_check: " + verdict;
  if (!sync_path(partial, O_RDONLY)) return "cannot flush " + partial.string() + " to disk";
  return "";
}

// The copy is at most the database's size: refuse rather than fill the disk the server may share.
std::string room_problem(const fs::path& source, const fs::path& folder) {
  std::error_code error;
  const auto needed = fs::file_size(source, error);
  const auto space = disk_space(folder.string());
  if (error || !space || space->available >= needed) return "";
  return "not enough space in " + folder.string() + " (" + std::to_string(space->available >> 20) + " MiB free, the database is " +
         std::to_string(needed >> 20) + " MiB)";
}

// Puts the finished copy in place: replacing `target` only when allowed (link() never replaces).
bool put_in_place(const fs::path& partial, const fs::path& target, bool overwrite) {
  if (overwrite) return ::rename(partial.c_str(), target.c_str()) == 0;
  if (::link(partial.c_str(), target.c_str()) != 0) {
    if (errno != EPERM && errno != EOPNOTSUPP) return false;
    // A file system without hard links (a FAT stick): check, then rename.
    if (std::error_code error; fs::exists(target, error)) {
      errno = EEXIST;
      return false;
    }
    return ::rename(partial.c_str(), target.c_str()) == 0;
  }
  ::unlink(partial.c_str());
  return true;
}

}  // namespace

BackupOutcome backup_database(const fs::path& source, const fs::path& target, bool overwrite) {
  std::error_code error;
  if (!fs::is_regular_file(source, error)) return failed("no database at " + source.string());
  if (fs::exists(target, error)) {
    if (fs::equivalent(source, target, error)) return failed(target.string() + " is the database itself");
    if (!overwrite) return failed(target.string() + " exists; add --force to replace it");
  }
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (const std::string problem = room_problem(source, folder); !problem.empty()) return failed(problem);
  const fs::path partial = folder / ("." + target.filename().string() + ".partial-" + std::to_string(::getpid()));
  std::string problem;
  try {
    problem = write_snapshot(source, partial);
  } catch (const storage::StorageError& e) {
    problem = e.what();
  }
  if (problem.empty() && (!put_in_place(partial, target, overwrite) || !sync_path(folder, O_RDONLY | O_DIRECTORY))) {
    problem = errno == EEXIST ? target.string() + " appeared meanwhile; add --force to replace it"
                              : "cannot move the copy to " + target.string() + ": " + std::strerror(errno);
  }
  if (!problem.empty()) {
    fs::remove(partial, error);
    return failed(problem);
  }
  const auto bytes = fs::file_size(target, error);
  return {.ok = true, .message = "backed up " + source.string() + " to " + target.string(), .bytes = error ? 0 : bytes};
}

}  // namespace sunkeep::admin

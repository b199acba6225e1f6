// RAII wrappers over the SQLite C API.
#include "storage/sqlite.hpp"

#include <sqlite3.h>

namespace sunkeep::storage {

namespace {
[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  throw StorageError(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"),
                     db ? sqlite3_errcode(db) & 0xff : SQLITE_NOMEM);
}

sqlite3_stmt* compile(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                         nullptr) != SQLITE_OK) {
    fail(db, "prepare " + std::string(sql.substr(0, 60)));
  }
  return stmt;
}
}  // namespace

Connection::Connection(const std::string& path, Mode mode) {
  const int flags = mode == Mode::read_only ? SQLITE_OPEN_READONLY
                                            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    const int code = db_ ? sqlite3_errcode(db_) & 0xff : SQLITE_NOMEM;
    sqlite3_close(db_);
    db_ = nullptr;
    throw StorageError("cannot open database " + path + ": " + message, code);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
}

Connection::~Connection() {
  for (auto& entry : idle_) {
    for (sqlite3_stmt* stmt : entry.second) sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db_);
}

void Connection::exec(std::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  if (const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error); rc != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw StorageError("SQL failed (" + message + "): " + text.substr(0, 80), rc & 0xff);
  }
}

Statement Connection::prepare(std::string_view sql) {
  auto found = idle_.find(sql);
  if (found == idle_.end()) {
    if (idle_.size() >= max_cached_sql) return Statement(db_, sql);
    found = idle_.emplace(std::string(sql), std::vector<sqlite3_stmt*>{}).first;
  }
  auto& idle = found->second;
  if (idle.empty()) {
    idle.reserve(idle.capacity() + 1);  // so that giving the statement back cannot fail
    return Statement(db_, compile(db_, sql), &idle);
  }
  sqlite3_stmt* stmt = idle.back();
  idle.pop_back();
  return Statement(db_, stmt, &idle);
}

std::size_t Connection::idle_statements() const {
  std::size_t count = 0;
  for (const auto& entry : idle_) count += entry.second.size();
  return count;
}

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

std::int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Connection::changes() const { return sqlite3_changes(db_); }

std::int64_t Connection::query_int(std::string_view sql) {
  Statement s(db_, sql);
  return s.step() ? s.int64(0) : 0;
}

std::string Connection::query_text(std::string_view sql) {
  Statement s(db_, sql);
  return s.step() ? s.text(0) : "";
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db), stmt_(compile(db, sql)) {}

Statement::~Statement() {
  if (home_ == nullptr) {
    sqlite3_finalize(stmt_);
    return;
  }
  reset();
  home_->push_back(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_), home_(other.home_) {
  other.stmt_ = nullptr;
  other.home_ = nullptr;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK) {
    fail(db_, "bind");
  }
  return *this;
}

Statement& Statement::bind(int index, std::span<const std::uint8_t> blob) {
  if (sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_TRANSIENT) != SQLITE_OK) {
    fail(db_, "bind");
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string message = sqlite3_errmsg(db_);
  sqlite3_reset(stmt_);
  throw StorageError("step failed: " + message, rc & 0xff);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
           : std::string{};
}

std::vector<std::uint8_t> Statement::blob(int column) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  return p ? std::vector<std::uint8_t>(p, p + sqlite3_column_bytes(stmt_, column)) : std::vector<std::uint8_t>{};
}

}  // namespace sunkeep::storage

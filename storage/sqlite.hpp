// A thin RAII layer over the SQLite C API: connections, prepared statements, errors as exceptions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace sunkeep::storage {

// A failed SQLite call: the message, and SQLite's primary result code (SQLITE_FULL, …; 0 when the
// error did not come from SQLite) so that callers can tell a full disk from a bug.
struct StorageError : std::runtime_error {
  explicit StorageError(const std::string& what, int sqlite_code = 0) : std::runtime_error(what), code(sqlite_code) {}
  int code;
};

class Statement;

class Connection {
 public:
  enum class Mode { read_write, read_only };
  // Opens (creating if needed, in read_write mode) the database file.
  Connection(const std::string& path, Mode mode = Mode::read_write);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(std::string_view sql);
  // A statement for `sql`. Each connection keeps the statements it prepared: a destroyed Statement
  // is reset (so it holds no read transaction) and kept for the next prepare of the same SQL, which
  // saves compiling it again on every query.
  Statement prepare(std::string_view sql);
  [[nodiscard]] std::int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;
  [[nodiscard]] sqlite3* handle() const { return db_; }
  // Whether a transaction is open. SQLite may roll back a whole transaction by itself when a
  // statement fails with SQLITE_FULL or SQLITE_IOERR, not only the statement.
  [[nodiscard]] bool in_transaction() const;
  // The first column of the first row of a query, as an integer (0 when there is no row).
  std::int64_t query_int(std::string_view sql);
  // The same as text ("" when there is no row), e.g. PRAGMA quick_check's verdict.
  std::string query_text(std::string_view sql);
  // How many prepared statements wait for reuse.
  [[nodiscard]] std::size_t idle_statements() const;

 private:
  // Distinct SQL texts kept at most; statements for others are finalized after use.
  static constexpr std::size_t max_cached_sql = 256;

  sqlite3* db_ = nullptr;
  std::map<std::string, std::vector<sqlite3_stmt*>, std::less<>> idle_;
};

class Statement {
 public:
  // An uncached statement, finalized when destroyed.
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, std::span<const std::uint8_t> blob);
  Statement& bind_null(int index);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Advances; true while a row is available.
  bool step();
  // Runs a statement that returns no rows, then resets it for reuse.
  void run();
  void reset();

  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] double real(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::vector<std::uint8_t> blob(int column) const;

 private:
  friend class Connection;
  // A compiled statement that goes back to `home` (a connection's idle list) when destroyed.
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::vector<sqlite3_stmt*>* home) : db_(db), stmt_(stmt), home_(home) {}

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::vector<sqlite3_stmt*>* home_ = nullptr;
};

}  // namespace sunkeep::storage

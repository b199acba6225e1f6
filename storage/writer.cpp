// The single database writer thread and its group commit loop.
#include "storage/writer.hpp"

#include "storage/schema.hpp"

#include <boost/asio/error.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace sunkeep::storage {

namespace {
// "12 MB free" ("640 KB free" below 10 MB) on the filesystem holding `path`, or "free space
// unknown".
std::string free_space(const std::string& path) {
  const auto folder = std::filesystem::path(path).parent_path();
  struct statvfs fs {};
  if (::statvfs(folder.empty() ? "." : folder.c_str(), &fs) != 0) return "free space unknown";
  const auto bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (bytes < (10U << 20)) return std::to_string(bytes >> 10) + " KB free";
  return std::to_string(bytes >> 20) + " MB free";
}

// What may help with an error at open: how much room is left, and where to look. A full disk
// shows as SQLITE_FULL, or as an I/O error or a file it cannot open (the WAL's index).
std::string hint_for(const std::string& path, int sqlite_code) {
  if (sqlite_code == SQLITE_FULL || sqlite_code == SQLITE_IOERR) return " (" + free_space(path) + ")";
  if (sqlite_code == SQLITE_READONLY || sqlite_code == SQLITE_CANTOPEN || sqlite_code == SQLITE_PERM) {
    return " (" + free_space(path) + "; check the permissions of the file and of its folder)";
  }
  return "";
}

std::unique_ptr<Connection> open_database(const std::string& path, const WriterTuning& tuning) {
  const std::filesystem::path file(path);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  try {
    auto db = std::make_unique<Connection>(path);
    if (tuning.max_page_count > 0) db->exec("PRAGMA max_page_count = " + std::to_string(tuning.max_page_count));
    configure_durable(*db);
    migrate(*db);
    return db;
  } catch (const StorageError& e) {
    throw StorageError("cannot open the database " + path + ": " + e.what() + hint_for(path, e.code), e.code);
  }
}

// A file's device and inode, or whether it is missing or could not be looked at (EACCES, ESTALE:
// a passing error is not a deletion).
struct FileLookup {
  enum class State { present, missing, unknown } state;
  std::uint64_t device = 0, inode = 0;
};

FileLookup look_up(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    return {FileLookup::State::present, static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
  }
  return {errno == ENOENT || errno == ENOTDIR ? FileLookup::State::missing : FileLookup::State::unknown};
}

constexpr auto presence_check_interval = std::chrono::seconds(1);
}  // namespace

WriterCounters::WriterCounters(metrics::Registry& m)
    : transactions(m.counter("sunkeep_storage_transactions_total", "Group commits that committed.")),
      jobs(m.counter("sunkeep_storage_jobs_total", "Storage jobs run (a frame, a polled answer, a note).")),
      failed_jobs(m.counter("sunkeep_storage_failed_jobs_total", "Storage jobs that failed (not acknowledged).")),
      failed_commits(m.counter("sunkeep_storage_failed_transactions_total", "Group commits that failed.")),
      rows_compacted(m.counter("sunkeep_storage_rows_compacted_total", "Sample rows packed into hour blocks.")),
      frames_packed(m.counter("sunkeep_storage_frames_packed_total", "Archived frames packed into hour blocks.")),
      samples_drained(m.counter("sunkeep_storage_samples_drained_total",
                                "Committed samples moved from their batches into the sample table.")),
      drain_steps_shared(m.counter("sunkeep_storage_drain_steps_shared_total",
                                   "Drain steps written inside a group commit's transaction.")),
      wal_restarts(m.counter("sunkeep_storage_wal_restarts_total",
                             "Times the writer copied the rest of the log so that it restarts from its beginning.")),
      checkpoint_passes(m.counter("sunkeep_storage_checkpoint_passes_total", "Passes of the checkpoint thread.")),
      log_syncs(m.counter("sunkeep_storage_log_syncs_total", "Syncs of the log, each before the acks it covers.")),
      failed_log_syncs(m.counter("sunkeep_storage_failed_log_syncs_total",
                                 "Syncs of the log that failed (their jobs are not acknowledged).")),
      failed_background_steps(m.counter("sunkeep_storage_failed_background_steps_total",
                                        "Drain, compaction and packing steps that failed (backed off).")),
      commit_seconds(m.histogram("sunkeep_storage_commit_seconds",
                                 "Time from a storage job's arrival to its durable commit.",
                                 {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})) {}

Writer::Writer(const std::string& path, WriterTuning tuning, metrics::Registry* metrics)
    : tuning_(tuning),
      metrics_(metrics::given_or_own(metrics, own_metrics_)),
      counters_(metrics_),
      db_(open_database(path, tuning_)),
      store_(std::make_unique<Store>(*db_, &recent_)),
      drain_backoff_("moving samples into the sample table", tuning_.failure_pause, tuning_.max_failure_pause),
      compaction_backoff_("packing samples into hour blocks", tuning_.failure_pause, tuning_.max_failure_pause),
      packing_backoff_("packing frames and records into hour blocks", tuning_.failure_pause, tuning_.max_failure_pause),
      path_(path) {
  check_writable();
  const FileLookup file = look_up(path_);
  if (file.state != FileLookup::State::present) {
    throw StorageError("cannot tell which file the database " + path_ + " is: " + std::strerror(errno));
  }
  database_file_ = {file.device, file.inode};
  recover();
  // COMMIT writes the log without syncing it; the sync thread syncs it before any ack.
  db_->exec("PRAGMA synchronous = NORMAL");
  // Checkpoints run on checkpoint_thread_; this hook (which replaces SQLite's automatic
  // checkpoints) only counts the pages in the log after each commit, for restart_wal().
  sqlite3_wal_hook(db_->handle(), &Writer::on_wal_commit, this);
  page_size_ = static_cast<std::uint64_t>(db_->query_int("PRAGMA page_size"));
  checkpoint_db_ = std::make_unique<Connection>(path);
  checkpoint_db_->exec("PRAGMA synchronous = FULL");
  checkpoint_thread_ = std::thread([this] { run_checkpoints(); });
  const auto now = std::chrono::steady_clock::now();
  if (next_drain_ == std::chrono::steady_clock::time_point{}) next_drain_ = now + tuning_.drain_interval;
  next_compaction_ = now + tuning_.compaction_interval;
  next_presence_check_ = now + presence_check_interval;
  metrics_.gauge_reading("sunkeep_storage_queue_depth", "Storage jobs waiting for the writer.", {}, [this] {
    const std::lock_guard lock(mutex_);
    return static_cast<double>(queue_.size());
  });
  sync_thread_ = std::thread([this] { run_syncs(); });
  thread_ = std::thread([this] { run(); });
}

Writer::Failure Writer::failure_of(const std::exception& e) {
  const StorageErrc category = classify(e);
  return {category, make_error_code(category).message() + " (" + e.what() + ")"};
}

template <class Work>
std::optional<Writer::Failure> Writer::try_transaction(Work&& work) {
  try {
    db_->exec("BEGIN IMMEDIATE");
    work();
    db_->exec("COMMIT");
    return std::nullopt;
  } catch (const std::exception& e) {
    try {
      db_->exec("ROLLBACK");
    } catch (const std::exception&) {
      // Already rolled back by SQLite.
    }
    store_->drop_caches();
    return failure_of(e);
  }
}

std::string Writer::describe(const Failure& failure) const {
  std::string text = make_error_code(failure.category).message();
  if (failure.category == StorageErrc::full) text += " (" + free_space(path_) + ")";
  return text;
}

void Writer::note_storage(const std::optional<Failure>& failure, bool wrote) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (broken_) return;
  if (failure && storage_wide(failure->category)) {
    std::string reason = describe(*failure);
    if (failing_.empty()) {
      failing_since_ = now;
      spdlog::error("storage of {} failing: {}; no frame is acknowledged while it fails", path_,
                    failure->category == StorageErrc::full ? reason : failure->reason);
    }
    failing_ = std::move(reason);
  } else if (!failure && wrote && !failing_.empty()) {
    spdlog::info("storage of {} works again after {:.1f} s", path_,
                 std::chrono::duration<double>(now - failing_since_).count());
    failing_.clear();
  }
}

void Writer::check_writable() {
  // SQLite opens a file it may not write read-only without a word: every commit would fail and
  // no device would ever be acknowledged. Better to refuse to start.
  if (sqlite3_db_readonly(db_->handle(), "main") == 1) {
    throw StorageError("database " + path_ + " is read-only" + hint_for(path_, SQLITE_READONLY), SQLITE_READONLY);
  }
  try {
    db_->exec("BEGIN IMMEDIATE");
    db_->exec("PRAGMA user_version = " + std::to_string(db_->query_int("PRAGMA user_version")));
    db_->exec("ROLLBACK");
  } catch (const StorageError& e) {
    throw StorageError("database " + path_ + " cannot be written: " + e.what(), e.code);
  }
}

void Writer::recover() {
  const std::int64_t batches = store_->publish_stored_batches();
  if (batches == 0) return;
  spdlog::info("{} sample batches of the previous run are readable and wait to be drained into the sample table",
               batches);
  next_drain_ = std::chrono::steady_clock::now();  // drained at the writer's first turn
}

bool Writer::database_in_place() {
  const FileLookup file = look_up(path_);
  if (file.state == FileLookup::State::unknown) return true;
  if (file.state == FileLookup::State::present && file.device == database_file_.device &&
      file.inode == database_file_.inode) {
    return true;
  }
  mark_gone(path_);
  return false;
}

void Writer::mark_gone(const std::string& file) {
  mark_broken(StorageErrc::gone,
              file + " was deleted or replaced while sunkeep ran: no frame is acknowledged any more; restart "
                     "sunkeep to open the database again",
              make_error_code(StorageErrc::gone).message() + " (" + file + "): restart sunkeep");
}

void Writer::mark_broken(StorageErrc category, const std::string& what, std::string status) {
  std::lock_guard lock(mutex_);
  if (broken_) return;
  spdlog::error("{}", what);
  if (failing_.empty()) failing_since_ = std::chrono::steady_clock::now();
  broken_ = category;
  failing_ = std::move(status);
}

void Writer::publish_background_problem() {
  std::string problem;
  for (const auto* backoff : {&drain_backoff_, &compaction_backoff_, &packing_backoff_}) {
    if (problem.empty()) problem = backoff->problem();
  }
  std::lock_guard lock(mutex_);
  background_problem_ = std::move(problem);
}

Writer::~Writer() {
  stop();
  store_.reset();
  checkpoint_db_.reset();
  db_.reset();
}

void Writer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  checkpoint_wake_.notify_all();
  commit_wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mutex_);
    writer_ended_ = true;  // its last batches are with the sync thread
  }
  sync_wake_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  if (log_fd_ >= 0) ::close(log_fd_);
  log_fd_ = -1;
}

void Writer::run_syncs() {
  std::deque<Pending> committed;
  std::unique_lock lock(mutex_);
  while (true) {
    sync_wake_.wait(lock, [this] { return writer_ended_ || !unsynced_.empty(); });
    if (unsynced_.empty()) break;  // the writer has ended and everything it committed is done
    committed.swap(unsynced_);
    lock.unlock();
    const std::optional<StorageErrc> failed = sync_log();
    ++(failed ? counters_.failed_log_syncs : counters_.log_syncs);
    const auto synced = std::chrono::steady_clock::now();
    for (auto& pending : committed) {
      if (failed && !pending.result) pending.result = make_error_code(*failed);
      counters_.commit_seconds.observe(std::chrono::duration<double>(synced - pending.queued).count());
      complete(std::move(pending));
    }
    committed.clear();
    lock.lock();
  }
}

std::optional<StorageErrc> Writer::sync_log() {
  {
    std::lock_guard lock(mutex_);
    if (broken_) return broken_;
  }
  // A database deleted while open still takes writes and syncs (into a file nobody can open
  // again): what is committed there is not acknowledged.
  if (!database_in_place()) return StorageErrc::gone;
  if (log_fd_ < 0) log_fd_ = open_log();
  if (log_fd_ >= 0) {
    struct stat open_log_file {};
    const bool opened_known = ::fstat(log_fd_, &open_log_file) == 0;
    const FileLookup named = look_up(path_ + "-wal");
    const bool replaced = named.state == FileLookup::State::missing ||
                          (named.state == FileLookup::State::present &&
                           named.inode != static_cast<std::uint64_t>(open_log_file.st_ino));
    if (opened_known && replaced) {
      mark_gone(path_ + "-wal");
      return StorageErrc::gone;
    }
    if (::fdatasync(log_fd_) == 0) return std::nullopt;
  }
  // Linux may drop the pages that failed to be written and let the next sync succeed: nothing
  // committed after this may be acknowledged either.
  mark_broken(StorageErrc::io,
              "syncing " + path_ + "-wal failed (" + std::strerror(errno) +
                  "): what it held may not be on disk; no frame is acknowledged any more; restart sunkeep",
              "disk I/O error syncing " + path_ + "-wal: restart sunkeep");
  return StorageErrc::io;
}

int Writer::open_log() const {
  // The log exists: the writer has committed before its first sync. Its directory entry is
  // synced once, as SQLite does when it syncs a new log itself.
  const std::filesystem::path log = path_ + "-wal";
  const int fd = ::open(log.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  const auto folder = log.parent_path();
  const int folder_fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder_fd >= 0) {
    ::fsync(folder_fd);
    ::close(folder_fd);
  }
  return fd;
}

void Writer::run_checkpoints() {
  std::uint64_t commits_passed = 0;  // wal_commits_ when the last pass began
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // Idle, the thread sleeps until a commit wakes it (on_wal_commit), or a second should it
    // miss that notice (the writer does not take the mutex to give it).
    commit_wake_.wait_for(lock, std::chrono::seconds(1),
                          [&] { return stopping_ || wal_commits_.load() != commits_passed; });
    if (stopping_ || wal_commits_.load() == commits_passed) continue;
    // Then the commits of one interval gather into the pass.
    if (checkpoint_wake_.wait_for(lock, tuning_.checkpoint_interval, [this] { return stopping_; })) break;
    commits_passed = wal_commits_.load();
    lock.unlock();
    checkpoint_pass();
    checkpoint_passed_ = true;
    lock.lock();
    ++counters_.checkpoint_passes;
  }
}

void Writer::checkpoint_pass() {
  // PASSIVE copies what it can without waiting for the writer or readers; BUSY (another
  // checkpoint running) is fine. Commits go on meanwhile, and the pages they add are what the
  // writer's restart_wal copies itself. So before a restart, passes follow each other until one
  // is short: then only the commits of that short pass are left for the writer, whose copy holds
  // the group commits (docs/benchmarks.md, Design decisions).
  constexpr int max_passes = 8;
  for (int pass = 0; pass < max_passes; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    int log_pages = 0;
    sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, nullptr);
    const bool restart_due = static_cast<std::uint64_t>(log_pages) * page_size_ >= tuning_.wal_restart_bytes;
    if (!restart_due || std::chrono::steady_clock::now() - start <= tuning_.short_checkpoint) return;
  }
}

int Writer::on_wal_commit(void* writer, sqlite3*, const char*, int pages) {
  auto* self = static_cast<Writer*>(writer);
  self->wal_pages_ = static_cast<std::uint64_t>(pages);
  ++self->wal_commits_;
  self->commit_wake_.notify_one();
  return SQLITE_OK;
}

void Writer::restart_wal() {
  // Right after a pass of the checkpoint thread only the commits since are left to copy.
  if (!checkpoint_passed_.exchange(false) || wal_pages_ * page_size_ < tuning_.wal_restart_bytes) return;
  int log_pages = 0;
  int copied_pages = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied_pages);
  // With every page copied the next commit writes the log from its beginning. Otherwise (the
  // checkpoint thread is at it again, or a reader still uses old pages) try after its next pass.
  if (rc != SQLITE_OK || copied_pages != log_pages) return;
  std::lock_guard lock(mutex_);
  ++counters_.wal_restarts;
}

void Writer::bound_wal() {
  restart_wal();
  constexpr std::uint64_t commits_per_check = 64;
  if (++commits_since_wal_check_ < commits_per_check) return;
  commits_since_wal_check_ = 0;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path_ + "-wal", ec);
  if (ec || size <= tuning_.wal_limit_bytes) return;
  try {
    // TRUNCATE, not RESTART: the file must shrink, or this check would fire on every round.
    db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } catch (const std::exception& e) {
    spdlog::warn("checkpoint of a {} MB WAL failed (retried later): {}", size >> 20, e.what());
  }
}

std::string Writer::storage_status() const {
  std::lock_guard lock(mutex_);
  if (!failing_.empty()) return "failing: " + failing_;
  return background_problem_.empty() ? "ok" : "failing: " + background_problem_;
}

WriterStats Writer::stats() const {
  const WriterCounters& c = counters_;
  return {.transactions = c.transactions.value(),
          .jobs = c.jobs.value(),
          .failed_jobs = c.failed_jobs.value(),
          .failed_commits = c.failed_commits.value(),
          .rows_compacted = c.rows_compacted.value(),
          .frames_packed = c.frames_packed.value(),
          .samples_drained = c.samples_drained.value(),
          .drain_steps_shared = c.drain_steps_shared.value(),
          .wal_restarts = c.wal_restarts.value(),
          .checkpoint_passes = c.checkpoint_passes.value(),
          .log_syncs = c.log_syncs.value(),
          .failed_log_syncs = c.failed_log_syncs.value(),
          .failed_background_steps = c.failed_background_steps.value()};
}

void Writer::enqueue(Job job, std::unique_ptr<CompletionBase> completion) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back({std::move(job), std::move(completion), {}, std::chrono::steady_clock::now()});
      wake_.notify_one();
      return;
    }
  }
  complete({std::move(job), std::move(completion), boost::asio::error::operation_aborted});
}

void Writer::complete(Pending&& pending) {
  CompletionBase& completion = *pending.completion;
  completion.post(std::move(pending));
}

void Writer::run() {
  std::deque<Pending> batch;
  auto next_upkeep = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_upkeep, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) break;  // everything queued is committed
      while (!queue_.empty() && batch.size() < tuning_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!batch.empty()) {
      commit_batch(batch);
      {
        std::lock_guard lock(mutex_);
        for (auto& pending : batch) unsynced_.push_back(std::move(pending));
      }
      sync_wake_.notify_one();
      batch.clear();
    } else if (drain_step_due(std::chrono::steady_clock::now())) {
      // No group commit to ride in this turn: the drain step takes a transaction of its own.
      DrainStep step;
      const auto failure = try_transaction([&] { step = write_drain_step(); });
      if (!failure) {
        finish_drain_step(step);
      } else if (!drain_failure_noted_) {
        drain_step_failed(*failure);
      }
    }
    next_upkeep = upkeep(std::chrono::steady_clock::now());
  }
  // Batches not drained yet are moved into `sample` on the next start.
}

std::chrono::steady_clock::time_point Writer::upkeep(std::chrono::steady_clock::time_point now) {
  if (now >= next_presence_check_) {
    database_in_place();
    next_presence_check_ = now + presence_check_interval;
  }
  if (!recent_.draining() && (now >= next_drain_ || recent_.size() >= tuning_.drain_threshold)) {
    drain_through_batch_ = store_->newest_batch_id();
    recent_.freeze();
    next_drain_ = now + tuning_.drain_interval;
  }
  if (now >= next_compaction_) {
    const bool backlog = compact();
    const auto done = std::chrono::steady_clock::now();
    // A backlog (hours of a large fleet, a Resume backfill) is worked off in passes that leave
    // the writer to group commits nine times as long as each pass took, so acks never queue
    // behind pass after pass, while a tenth of the writer's time still packs faster than a fleet
    // fills hours (docs/benchmarks.md, Design decisions).
    next_compaction_ = backlog ? done + 9 * (done - now) : now + tuning_.compaction_interval;
    for (const auto* backoff : {&compaction_backoff_, &packing_backoff_}) {
      if (backoff->failing()) next_compaction_ = std::max(next_compaction_, backoff->retry_at());
    }
  }
  auto next = std::min({next_drain_, next_compaction_, next_presence_check_});
  if (drain_pending()) next = std::min(next, drain_behind() && !drain_backoff_.failing() ? now : next_drain_step_);
  return next;
}

bool Writer::drain_pending() const { return recent_.draining() || delete_through_batch_ > 0; }

bool Writer::drain_behind() const { return recent_.unfrozen_size() >= tuning_.drain_threshold; }

bool Writer::drain_step_due(std::chrono::steady_clock::time_point now) const {
  // While failing (a full disk) the drain waits out its back-off, behind or not.
  if (drain_backoff_.failing()) return drain_pending() && drain_backoff_.ready(now);
  return drain_pending() && (now >= next_drain_step_ || drain_behind());
}

Writer::DrainStep Writer::write_drain_step() {
  DrainStep step;
  const auto start = std::chrono::steady_clock::now();
  drain_failure_noted_ = false;
  if (!drain_step_due(start)) return step;
  store_->begin_job();
  try {
    if (recent_.draining()) {
      step.slice = recent_.frozen_slice(tuning_.drain_slice_points);
      store_->insert_sample_rows(step.slice);
    } else {
      step.batches_deleted = store_->delete_batches_through(delete_through_batch_,
                                                            static_cast<std::int64_t>(tuning_.batch_delete_step));
    }
    store_->end_job();
  } catch (const std::exception& e) {
    const bool transaction_kept = store_->undo_job();
    drain_step_failed(failure_of(e));
    // SQLite rolled back the whole transaction: the work sharing it goes on in a fresh one.
    if (!transaction_kept) db_->exec("BEGIN IMMEDIATE");
    return {};
  }
  const auto done = std::chrono::steady_clock::now();
  next_drain_step_ = done + tuning_.drain_pause_factor * (done - start);
  return step;
}

void Writer::drain_step_failed(const Failure& failure) {
  // A slice is written again after the pause. Batches not deleted go with the next round's
  // deletion (or the next start): a batch moved twice changes nothing.
  if (!recent_.draining()) delete_through_batch_ = 0;
  const auto now = std::chrono::steady_clock::now();
  drain_backoff_.failed(now, failure.reason, describe(failure));
  drain_failure_noted_ = true;
  next_drain_step_ = drain_backoff_.retry_at();
  publish_background_problem();
  std::lock_guard lock(mutex_);
  ++counters_.failed_background_steps;
}

void Writer::finish_drain_step(const DrainStep& step) {
  if (step.wrote()) {
    drain_backoff_.succeeded(std::chrono::steady_clock::now());
    publish_background_problem();
    note_storage(std::nullopt, true);  // a committed write: commits work again too
  }
  if (!step.slice.empty()) {
    recent_.drop_frozen(step.slice);
    // Every sample of the batches up to the freeze is in `sample` now: they go next.
    if (!recent_.draining()) delete_through_batch_ = drain_through_batch_;
    std::size_t points = 0;
    for (const auto& s : step.slice) points += s.points.size();
    std::lock_guard lock(mutex_);
    counters_.samples_drained += points;
  } else if (step.batches_deleted >= 0 && step.batches_deleted < static_cast<std::int64_t>(tuning_.batch_delete_step)) {
    delete_through_batch_ = 0;  // that was the last step
  }
}

bool Writer::compact() {
  const auto now = std::chrono::system_clock::now() - compaction_grace;
  const UtcMillis cutoff = block_start(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  std::int64_t rows = 0;
  PackStep step;
  const bool compacted = background_step(
      compaction_backoff_, [&] { rows = store_->compact_samples(cutoff, compaction_rows); }, [&] { return rows > 0; });
  const bool packed = background_step(
      packing_backoff_, [&] { step = store_->pack_archive(cutoff); }, [&] { return step.did_work(); });
  std::lock_guard lock(mutex_);
  if (compacted) counters_.rows_compacted += static_cast<std::uint64_t>(rows);
  if (packed) counters_.frames_packed += static_cast<std::uint64_t>(step.frames_packed);
  return (compacted && rows == compaction_rows) || (packed && step.did_work());
}

template <class Work, class DidWork>
bool Writer::background_step(FailureBackoff& backoff, Work&& work, DidWork&& did_work) {
  const auto failure = try_transaction(std::forward<Work>(work));
  const auto now = std::chrono::steady_clock::now();
  if (failure) {
    backoff.failed(now, failure->reason, describe(*failure));
    std::lock_guard lock(mutex_);
    ++counters_.failed_background_steps;
  } else if (did_work()) {
    backoff.succeeded(now);  // a step with nothing to write proves nothing
    note_storage(std::nullopt, true);
  }
  publish_background_problem();
  return !failure;
}

void Writer::commit_batch(std::deque<Pending>& batch) {
  std::uint64_t failed = 0;
  std::optional<Failure> storage_failure;  // of a job, for the storage as a whole (a full disk)
  DrainStep drain_step;
  const auto commit_failure = try_transaction([&] {
    // The drain step shares the commit's fsync instead of paying its own. It goes first: a step
    // that fails on a full disk may take the whole transaction with it, and before the jobs that
    // loses nothing.
    drain_step = write_drain_step();
    for (auto& pending : batch) {
      store_->begin_job();
      try {
        pending.job(*store_);
        store_->end_job();
      } catch (const std::exception& e) {
        if (!store_->undo_job()) throw;  // the transaction is gone: every job of it fails with this
        Failure failure = failure_of(e);
        pending.result = make_error_code(failure.category);
        ++failed;
        if (!storage_wide(failure.category)) {
          spdlog::error("storage job failed and was rolled back: {}", e.what());
        } else if (!storage_failure) {
          storage_failure = std::move(failure);  // logged once, by note_storage, while it lasts
        }
      }
    }
    store_->flush_device_state();  // once per device and commit, not once per frame
  });
  if (!commit_failure) {
    store_->publish_pending();  // visible to readers before any job's completion runs
    finish_drain_step(drain_step);
    bound_wal();
    note_storage(storage_failure, failed < batch.size());
  } else {
    store_->discard_pending();
    for (auto& pending : batch) pending.result = make_error_code(commit_failure->category);
    if (!storage_wide(commit_failure->category)) {
      spdlog::error("{} frames are not acknowledged: their group commit failed: {}", batch.size(), commit_failure->reason);
    }
    note_storage(commit_failure, false);
  }
  const bool committed = !commit_failure;
  std::lock_guard lock(mutex_);
  counters_.jobs += batch.size();
  counters_.failed_jobs += committed ? failed : batch.size();
  counters_.transactions += committed ? 1 : 0;
  counters_.failed_commits += committed ? 0 : 1;
  counters_.drain_steps_shared += committed && drain_step.wrote() ? 1U : 0U;
}

}  // namespace sunkeep::storage

// The single database writer: one thread owns the write connection and runs every session's
// storage job in shared transactions (group commit). A job's completion handler runs, on the
// caller's executor, only after the COMMIT holding that job has returned and the log holding it
// has been synced, so a session that acks on completion never acks what is not on disk.
//
// The sync is the sync thread's: COMMIT only writes the log (synchronous = NORMAL), and while
// the sync thread waits for the disk to sync the log, the writer already runs the next batch.
// One sync covers every batch committed before it began. WAL mode keeps the database
// consistent when power fails before a sync (the commits after the last one are rolled back);
// those commits were not acknowledged. Readers may see a commit before its sync.
//
// Back-pressure: sessions wait for their job before reading more, so the queue never holds more
// than one job per open connection; a slow disk delays acks and never drops work.
//
// Checkpoints (copying the WAL back into the database file) run on a thread of their own with
// their own connection, so a commit never waits for one. A checkpoint beside commits never finds
// the log fully copied, so SQLite never writes it from the beginning again: once it holds
// `wal_restart_bytes`, the writer copies the pages of the commits since the thread's last pass
// itself, and its next commit starts the log afresh. Should the file still grow past
// `wal_limit_bytes`, the writer copies all of it and truncates it.
//
// The writer drains committed samples from RecentSamples into `sample` a slice at a time
// (recent_samples.hpp), pausing between slices so that the drain takes at most a quarter of its
// time unless it falls behind. A slice goes inside the next group commit's transaction, sharing
// its fsync (a transaction of its own only when no job is waiting). Between group commits the
// writer packs closed hours of samples, frames and record keys into blocks. On start it publishes
// the sample batches the previous run left to RecentSamples (reading only, so a full disk cannot
// stop it), and the drain moves them like new ones; a drain deletes exactly the batches whose
// samples it has written.
//
// Storage that fails as a whole (disk full, database read-only, deleted or replaced while
// running, I/O errors) fails every job with its own error (errors.hpp), is reported by
// storage_status() and logged once when it starts and once when it ends. The drain, compaction
// and packing back off while they fail (failure_backoff.hpp).
#pragma once

#include "common/metrics.hpp"
#include "storage/errors.hpp"
#include "storage/failure_backoff.hpp"
#include "storage/recent_samples.hpp"
#include "storage/sqlite.hpp"
#include "storage/store.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sunkeep::storage {

// A snapshot of the writer's counters (WriterCounters), for tests and tools.
struct WriterStats {
  std::uint64_t transactions = 0;
  std::uint64_t jobs = 0;
  std::uint64_t failed_jobs = 0;
  std::uint64_t failed_commits = 0;
  std::uint64_t rows_compacted = 0;
  std::uint64_t frames_packed = 0;
  std::uint64_t samples_drained = 0;
  std::uint64_t drain_steps_shared = 0;  // drain steps written inside a group commit's transaction
  std::uint64_t wal_restarts = 0;  // times the writer copied the rest of the log for a restart
  std::uint64_t checkpoint_passes = 0;  // of the checkpoint thread (none while nothing commits)
  std::uint64_t log_syncs = 0;          // of the sync thread, each before the acks of the batches it covers
  std::uint64_t failed_log_syncs = 0;   // their batches' jobs fail (not acknowledged)
  std::uint64_t failed_background_steps = 0;  // drain, compaction and packing steps (backed off)
};

// The writer's series in the metrics registry (sunkeep_storage_*), written by its threads.
struct WriterCounters {
  explicit WriterCounters(metrics::Registry& metrics);

  metrics::Counter& transactions;
  metrics::Counter& jobs;
  metrics::Counter& failed_jobs;
  metrics::Counter& failed_commits;
  metrics::Counter& rows_compacted;
  metrics::Counter& frames_packed;
  metrics::Counter& samples_drained;
  metrics::Counter& drain_steps_shared;
  metrics::Counter& wal_restarts;
  metrics::Counter& checkpoint_passes;
  metrics::Counter& log_syncs;
  metrics::Counter& failed_log_syncs;
  metrics::Counter& failed_background_steps;
  // From a job's arrival to its completion after the sync: what a device waits for its ack.
  metrics::Histogram& commit_seconds;
};

// How the writer batches work; the defaults are the server's (tests shorten the drain).
struct WriterTuning {
  std::size_t max_batch = 2048;  // jobs per group commit
  // Committed samples are frozen for draining into `sample` this often (or sooner when this many
  // are waiting), and drained in steps: slices of about `drain_slice_points`, each written inside
  // the next group commit's transaction (its own only when no job is waiting).
  std::chrono::milliseconds drain_interval{60'000};
  std::size_t drain_threshold = 1'000'000;
  std::size_t drain_slice_points = 2'000;
  // After each step the drain pauses this many times as long as the step took, so that it takes
  // at most a quarter of the writer's time and acks do not queue behind slice after slice, unless
  // it falls behind (drain_behind): see docs/benchmarks.md, Design decisions.
  int drain_pause_factor = 3;
  // The drained batches are then deleted this many a step, likewise: a minute of a fleet's
  // batches in one DELETE would hold the acks behind it (docs/benchmarks.md, Design decisions).
  std::size_t batch_delete_step = 2'000;
  // The checkpoint thread copies the log into the database file this often. Each pass ends with
  // an fsync of the file, and the bigger its burst of writes, the longer the log's syncs wait
  // behind it on the disk; shorter intervals gain nothing more (docs/benchmarks.md, Design decisions).
  std::chrono::milliseconds checkpoint_interval{20};
  // Closed hours of samples, frames and record keys are packed this often (Writer::compact).
  std::chrono::milliseconds compaction_interval{30'000};
  // Once the log holds this much, the writer, right after a pass of the checkpoint thread, copies
  // the pages of the few commits since, so that its next commit writes the log from the beginning
  // again instead of growing it until a blocking truncation (docs/benchmarks.md, Design decisions).
  std::uintmax_t wal_restart_bytes = 16ULL << 20;
  // Before such a restart the checkpoint thread passes again until a pass takes no longer than
  // this, so that the writer is left only that pass's commits to copy.
  std::chrono::milliseconds short_checkpoint{2};
  // Should the log still grow past this (a reader keeping old pages in it), the writer copies
  // all of it and truncates the file, holding commits meanwhile.
  std::uintmax_t wal_limit_bytes = 64ULL << 20;
  // A failing drain, compaction or packing step is retried after this pause, doubled after each
  // further failure up to the maximum.
  std::chrono::milliseconds failure_pause{1'000};
  std::chrono::milliseconds max_failure_pause{60'000};
  // Tests only: the database cannot grow past this many pages (SQLite's max_page_count), so
  // writes fail as on a full disk; 0 leaves SQLite's limit.
  std::int64_t max_page_count = 0;
};

class Writer {
 public:
  using Job = std::function<void(Store&)>;
  // Sample rows of hours that ended this long ago are packed into blocks, in passes of at most
  // `compaction_rows` rows, every WriterTuning::compaction_interval (sooner while a backlog
  // remains, at most a tenth of the writer's time); frames and record rows likewise, a step of
  // ArchivePacker::pack per pass (one device's block of an hour, or a span of rows deleted).
  static constexpr std::chrono::minutes compaction_grace{10};
  static constexpr std::int64_t compaction_rows = 5'000;

  // Opens (creating its folder and file if needed) and migrates the database, then starts the
  // thread. Throws StorageError when the database cannot be written (read-only file or folder).
  // Counts into `metrics` (or a registry of its own).
  explicit Writer(const std::string& path, WriterTuning tuning = {}, metrics::Registry* metrics = nullptr);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Runs `job` on the writer thread inside a transaction; completes with an empty error_code once
  // committed, or an error if the job threw, the commit failed, or the writer is stopped.
  // Takes the job by rvalue reference so that a co_await on it holds no temporary job object
  // (g++ 12 destroys some temporaries of a co_await expression twice).
  template <class Token>
  auto async_commit(Job&& job, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler, Job j) {
          auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
          enqueue(std::move(j), std::make_unique<Completion<decltype(handler), decltype(work)>>(
                                    std::move(handler), std::move(work)));
        },
        token, std::move(job));
  }

  // Commits what is queued, then ends the thread. Later jobs fail with operation_aborted.
  void stop();

  [[nodiscard]] WriterStats stats() const;
  // "ok", or "failing: <reason>" while commits fail (disk full, database unwritable or deleted):
  // acks stop until it is "ok" again. Cheap and thread-safe (health answers from it).
  [[nodiscard]] std::string storage_status() const;
  // Committed samples not yet in `sample`, for readers on other threads.
  [[nodiscard]] const RecentSamples& recent() const { return recent_; }

 private:
  struct Pending;
  struct CompletionBase {
    virtual ~CompletionBase() = default;
    // Posts the handler, with the job's result, to the handler's executor. The pending job (this
    // object with it) goes along and is destroyed on that thread, which allocated most of it.
    virtual void post(Pending&& pending) = 0;
  };

  template <class Handler, class Work>
  struct Completion final : CompletionBase {
    Completion(Handler h, Work w) : handler(std::move(h)), work(std::move(w)) {}
    void post(Pending&& pending) override {
      auto executor = work.get_executor();
      boost::asio::post(executor, [done = std::move(pending)]() mutable {
        Handler h = std::move(static_cast<Completion&>(*done.completion).handler);
        const boost::system::error_code ec = done.result;
        done = {};  // the job, the work guard and this object
        std::move(h)(ec);
      });
    }
    Handler handler;
    Work work;
  };

  struct Pending {
    Job job;
    std::unique_ptr<CompletionBase> completion;
    boost::system::error_code result;
    std::chrono::steady_clock::time_point queued{};
  };
  // The writer frees nothing that a session's thread allocated: glibc's free() of another
  // thread's memory takes that thread's arena lock, on which the writer would wait under load.
  static void complete(Pending&& pending);

  void enqueue(Job job, std::unique_ptr<CompletionBase> completion);
  void run();
  void commit_batch(std::deque<Pending>& batch);
  // What made a transaction or a job fail.
  struct Failure {
    StorageErrc category;
    std::string reason;
  };
  static Failure failure_of(const std::exception& e);
  // "database or disk is full (640 KB free)": a failure as health shows it.
  [[nodiscard]] std::string describe(const Failure& failure) const;
  // Runs `work` in its own transaction; what failed when it threw (rolled back).
  template <class Work>
  std::optional<Failure> try_transaction(Work&& work);
  // Whether commits work, from the last one: logs each change and sets storage_status(). Only a
  // commit that stored a job (`wrote`) shows that they work again.
  void note_storage(const std::optional<Failure>& failure, bool wrote);
  // Copies the background activities' storage-wide problems for storage_status().
  void publish_background_problem();
  // Fails early, naming the database, when it cannot be written.
  void check_writable();
  void recover();
  // Whether the database file (and its log, once open for syncing) is still the one opened, not
  // deleted or replaced. Marks the storage as gone when it is not.
  bool database_in_place();
  // Storage fails from now until a restart: `file` (the database or its log) is not the one opened.
  void mark_gone(const std::string& file);
  // Storage fails from now until a restart, for `category`: logs `what` and shows `status`.
  void mark_broken(StorageErrc category, const std::string& what, std::string status);
  // The upkeep due at `now`; returns when it next falls due.
  std::chrono::steady_clock::time_point upkeep(std::chrono::steady_clock::time_point now);
  // One step of the drain, written into the open transaction under a savepoint: a slice of the
  // frozen samples, or else a step of deleting the batches they came from. After its COMMIT,
  // finish_drain_step forgets what it wrote from RecentSamples.
  struct DrainStep {
    std::vector<SeriesPoints> slice;
    std::int64_t batches_deleted = -1;  // -1: no deletion step
    [[nodiscard]] bool wrote() const { return !slice.empty() || batches_deleted >= 0; }
  };
  [[nodiscard]] bool drain_pending() const;
  // The samples published since the freeze already reach the drain threshold: the drain is not
  // keeping up and goes without pauses.
  [[nodiscard]] bool drain_behind() const;
  [[nodiscard]] bool drain_step_due(std::chrono::steady_clock::time_point now) const;
  DrainStep write_drain_step();
  // Backs the drain off after a failed step (a slice is written again after the pause).
  void drain_step_failed(const Failure& failure);
  // A background step (compaction, packing) run in its own transaction, paced by `backoff`; only
  // one that `did_work` ends a run of failures.
  template <class Work, class DidWork>
  bool background_step(FailureBackoff& backoff, Work&& work, DidWork&& did_work);
  void finish_drain_step(const DrainStep& step);
  // The sync thread: syncs the log for the committed batches, then completes their jobs.
  void run_syncs();
  // Empty when the log is synced; else why not (logged).
  std::optional<StorageErrc> sync_log();
  // The WAL file opened for syncing, -1 (errno set) when it cannot be.
  [[nodiscard]] int open_log() const;
  void run_checkpoints();
  void checkpoint_pass();
  // After each commit: restart the log (restart_wal) or truncate an outgrown one.
  void bound_wal();
  void restart_wal();
  static int on_wal_commit(void* writer, sqlite3* db, const char* name, int pages);
  // Packs closed hours of samples; returns true when rows are left for another pass.
  bool compact();

  WriterTuning tuning_;
  std::unique_ptr<metrics::Registry> own_metrics_;  // when none was given
  metrics::Registry& metrics_;
  WriterCounters counters_;
  RecentSamples recent_;
  std::unique_ptr<Connection> db_;
  std::unique_ptr<Store> store_;
  std::int64_t drain_through_batch_ = 0;  // the newest batch whose samples the frozen generation holds
  std::int64_t delete_through_batch_ = 0;  // batches up to this one are drained and go next (0: none)
  std::chrono::steady_clock::time_point next_drain_, next_compaction_;
  std::chrono::steady_clock::time_point next_drain_step_;  // drain_pause_factor after the last step
  mutable std::mutex mutex_;
  std::condition_variable wake_;             // the writer thread
  std::condition_variable checkpoint_wake_;  // the checkpoint thread, between passes: stopping
  // The checkpoint thread, idle: the next commit. Its own, so that the commits during the wait
  // between passes (one a millisecond under load) do not wake the thread each time.
  std::condition_variable commit_wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::condition_variable sync_wake_;  // the sync thread: committed batches, or the writer has ended
  std::deque<Pending> unsynced_;       // jobs committed and not yet synced (their results set)
  bool writer_ended_ = false;
  int log_fd_ = -1;                    // the WAL file, opened for syncing at the first sync
  std::string failing_;  // why commits fail now, "" while they work
  // The database was deleted or replaced, or a sync of its log failed (what the log held may not
  // be on disk, and a later sync that succeeds does not bring it back): failing until restarted.
  std::optional<StorageErrc> broken_;
  std::string background_problem_;  // a drain, compaction or packing step failing, for health
  bool drain_failure_noted_ = false;  // the current drain step has counted its failure already
  std::chrono::steady_clock::time_point failing_since_;
  FailureBackoff drain_backoff_, compaction_backoff_, packing_backoff_;
  struct FileIdentity {
    std::uint64_t device = 0, inode = 0;
  };
  FileIdentity database_file_;  // what path_ named when it was opened
  std::chrono::steady_clock::time_point next_presence_check_;
  std::thread thread_;
  std::string path_;
  std::unique_ptr<Connection> checkpoint_db_;
  std::thread checkpoint_thread_;
  std::thread sync_thread_;
  std::uint64_t commits_since_wal_check_ = 0;
  std::uint64_t page_size_ = 4096;
  std::uint64_t wal_pages_ = 0;                // in the log after the last commit (on_wal_commit)
  std::atomic<bool> checkpoint_passed_{false};  // set by the checkpoint thread after each pass
  std::atomic<std::uint64_t> wal_commits_{0};   // so far (on_wal_commit): an idle checkpoint thread sleeps
};

}  // namespace sunkeep::storage

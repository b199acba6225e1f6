// The single database writer thread and its group commit loop.
#include "storage/writer.hpp"

#include "storage/schema.hpp"

#include <boost/asio/error.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace sunkeep::storage {

namespace {
std::unique_ptr<Connection> open_database(const std::string& path) {
  const std::filesystem::path file(path);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  auto db = std::make_unique<Connection>(path);
  configure_durable(*db);
  migrate(*db);
  return db;
}
}  // namespace

Writer::Writer(const std::string& path, std::size_t max_batch)
    : max_batch_(max_batch), db_(open_database(path)), store_(std::make_unique<Store>(*db_)) {
  thread_ = std::thread([this] { run(); });
}

Writer::~Writer() {
  stop();
  store_.reset();
  db_.reset();
}

void Writer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

WriterStats Writer::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Writer::enqueue(Job job, std::unique_ptr<CompletionBase> completion) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back({std::move(job), std::move(completion), {}});
      wake_.notify_one();
      return;
    }
  }
  completion->complete(boost::asio::error::operation_aborted);
}

void Writer::run() {
  std::deque<Pending> batch;
  auto next_compaction = std::chrono::steady_clock::now() + compaction_interval;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_compaction, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) return;  // everything queued is committed
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!batch.empty()) {
      commit_batch(batch);
      for (auto& pending : batch) pending.completion->complete(pending.result);
      batch.clear();
    }
    if (std::chrono::steady_clock::now() >= next_compaction) {
      const bool backlog = compact();
      next_compaction = std::chrono::steady_clock::now() + (backlog ? std::chrono::seconds(0) : compaction_interval);
    }
  }
}

bool Writer::compact() {
  const auto now = std::chrono::system_clock::now() - compaction_grace;
  const UtcMillis cutoff = block_start(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  std::int64_t packed = 0;
  try {
    db_->exec("BEGIN IMMEDIATE");
    packed = store_->compact_samples(cutoff, compaction_rows);
    db_->exec("COMMIT");
  } catch (const std::exception& e) {
    spdlog::error("sample compaction failed (rows stay as they are): {}", e.what());
    try {
      db_->exec("ROLLBACK");
    } catch (const std::exception&) {
      // Already rolled back by SQLite.
    }
    return false;
  }
  std::lock_guard lock(mutex_);
  stats_.rows_compacted += static_cast<std::uint64_t>(packed);
  return packed == compaction_rows;
}

void Writer::commit_batch(std::deque<Pending>& batch) {
  std::uint64_t failed = 0;
  bool committed = false;
  try {
    db_->exec("BEGIN IMMEDIATE");
    for (auto& pending : batch) {
      db_->exec("SAVEPOINT job");
      try {
        pending.job(*store_);
        db_->exec("RELEASE job");
      } catch (const std::exception& e) {
        spdlog::error("storage job failed and was rolled back: {}", e.what());
        db_->exec("ROLLBACK TO job");
        db_->exec("RELEASE job");
        store_->drop_caches();
        pending.result = boost::asio::error::fault;
        ++failed;
      }
    }
    db_->exec("COMMIT");
    committed = true;
  } catch (const std::exception& e) {
    spdlog::error("commit of {} storage jobs failed: {}", batch.size(), e.what());
    try {
      db_->exec("ROLLBACK");
    } catch (const std::exception&) {
      // Already rolled back by SQLite.
    }
    store_->drop_caches();
    for (auto& pending : batch) pending.result = boost::asio::error::broken_pipe;
  }
  std::lock_guard lock(mutex_);
  stats_.jobs += batch.size();
  stats_.failed_jobs += committed ? failed : batch.size();
  stats_.transactions += committed ? 1 : 0;
  stats_.failed_commits += committed ? 0 : 1;
}

}  // namespace sunkeep::storage

// Committing observations and publishing them to the sinks.
#include "server/observations.hpp"

#include "server/connection.hpp"

#include <memory>

namespace sunkeep::server {

boost::asio::awaitable<Committed> ObservationCommitter::commit(Observation&& observation) {
  auto stored = std::make_shared<Observation>(std::move(observation));
  auto result = std::make_shared<storage::IngestResult>();
  storage::Writer::Job job = [stored, result](storage::Store& store) { *result = storage::ingest(store, *stored); };
  const auto outcome = co_await writer_.async_commit(std::move(job), tuple_awaitable);
  const boost::system::error_code error = std::get<0>(outcome);
  if (!error) sinks_.publish(stored);
  co_return Committed{error, std::move(*result)};
}

}  // namespace sunkeep::server

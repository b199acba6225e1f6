// How a driver stores what a device said: commit the observation through the single writer
// (storage/ingest.hpp inside a group commit), and once it is durable hand it to the output sinks.
// Drivers ack a device only after commit() returned without an error.
#pragma once

#include "common/observation.hpp"
#include "server/sinks.hpp"
#include "storage/ingest.hpp"
#include "storage/writer.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace sunkeep::server {

struct Committed {
  boost::system::error_code error;  // set: nothing of the observation is stored
  storage::IngestResult result;
};

class ObservationCommitter {
 public:
  ObservationCommitter(storage::Writer& writer, SinkHub& sinks) : writer_(writer), sinks_(sinks) {}

  // By rvalue reference, so that a co_await on it holds no temporary observation (g++ 12 destroys
  // some temporaries of a co_await expression twice): pass a named one, moved.
  boost::asio::awaitable<Committed> commit(Observation&& observation);

 private:
  storage::Writer& writer_;
  SinkHub& sinks_;
};

}  // namespace sunkeep::server

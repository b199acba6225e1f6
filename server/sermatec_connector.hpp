// Local mode (sermatec.md §6.6): for each configured inverter, one outgoing connection at a time
// to its LAN port, running the same session as the cloud port, reconnecting with backoff.
#pragma once

#include "config/config.hpp"
#include "server/sermatec_session.hpp"

#include <boost/asio/io_context.hpp>

namespace sunkeep::server {

void spawn_sermatec_connector(boost::asio::io_context& io, const config::SermatecInverter& inverter,
                              SermatecShared& shared);

}  // namespace sunkeep::server

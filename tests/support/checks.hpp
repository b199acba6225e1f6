// Assertions shared by the integration tests.
#pragma once

#include "protocol/alphaess/frame.hpp"
#include "tests/support/fake_device.hpp"

#include <doctest/doctest.h>

#include <optional>

namespace sunkeep::test {

// `reply` is the `1,2,<command>` Success ack.
inline void check_ack(const std::optional<alphaess::Frame>& reply, int command) {
  REQUIRE_MESSAGE(reply.has_value(), "no ack for F3=", command);
  CHECK(reply->f2() == 2);
  CHECK(reply->command() == command);
  CHECK(reply->payload() == success_json);
}

}  // namespace sunkeep::test

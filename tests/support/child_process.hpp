// Running a helper program (the browser tests' Node script) from a test: bounded in time, its
// standard output and error captured together.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace sunkeep::test {

struct CommandResult {
  int exit_code = -1;  // -1: killed at the time limit, or it could not be started
  std::string output;
};

// Runs `argv` (argv[0] searched in PATH) until it exits or `limit` passes (then it is killed).
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds limit);

}  // namespace sunkeep::test

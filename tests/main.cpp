// doctest entry point for the sunkeep test suite; logs only warnings and worse unless
// SUNKEEP_LOG_LEVEL says otherwise.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

int main(int argc, char** argv) {
  const char* level = std::getenv("SUNKEEP_LOG_LEVEL");
  spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::err);
  doctest::Context context(argc, argv);
  return context.run();
}

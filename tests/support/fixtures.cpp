// Fixture access and temporary folders for tests.
#include "tests/support/fixtures.hpp"

#include "common/hex.hpp"
#include "common/text.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sunkeep::test {

std::string fixture(const std::string& relative_path) {
  const std::filesystem::path path = std::filesystem::path(SUNKEEP_FIXTURES_DIR) / relative_path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("fixture not found: " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::uint8_t> fixture_bytes(const std::string& relative_path) {
  const std::string raw = fixture(relative_path);
  return {raw.begin(), raw.end()};
}

std::string hex_fixture(const std::string& relative_path) {
  std::string bytes;
  if (!from_hex(fixture(relative_path), bytes)) throw std::runtime_error("not hex: " + relative_path);
  return bytes;
}

std::string json_fixture(const std::string& relative_path) { return std::string(trim(fixture(relative_path))); }

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "sunkeep-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace sunkeep::test

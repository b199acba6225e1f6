// Access to the captured frames and payloads in ../shared/fixtures, and temporary folders.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sunkeep::test {

// The bytes of a fixture file, e.g. fixture("alphaess/frame_dev_cmd0_empty.hex").
std::string fixture(const std::string& relative_path);
// The same bytes as a byte vector (a datagram to send).
std::vector<std::uint8_t> fixture_bytes(const std::string& relative_path);
// The decoded bytes of a .hex fixture.
std::string hex_fixture(const std::string& relative_path);
// A JSON fixture with surrounding white space trimmed.
std::string json_fixture(const std::string& relative_path);

// A fresh folder under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace sunkeep::test

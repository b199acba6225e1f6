// Frame blocks: columnar encoding under zstd, and bounds-checked decoding (layout in
// frame_block.hpp).
#include "storage/frame_block.hpp"

#include "storage/byte_coding.hpp"

#include <zstd.h>

#include <limits>
#include <new>
#include <utility>
#include <map>

namespace sunkeep::storage {

using namespace coding;

namespace {

// Level 6: most of the highest levels' ratio on a device-hour of pushes and acks, at well under a
// millisecond per hour of one device (docs/benchmarks.md, Design decisions).
constexpr int compression_level = 6;

// The fewest bytes one frame takes in the columns: seven one-byte varints.
constexpr std::size_t min_frame_bytes = 7;

std::optional<int> small_int(const std::optional<std::uint64_t>& v) {
  if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
  return static_cast<int>(*v);
}

std::vector<std::uint8_t> columns(std::span<const PackedFrame> frames) {
  std::vector<std::uint8_t> out;
  put_varint(out, frames.size());
  std::map<std::string_view, std::uint64_t> peer_index;
  std::vector<std::string_view> peers;
  for (const auto& f : frames) {
    if (peer_index.emplace(f.peer, peers.size()).second) peers.push_back(f.peer);
  }
  put_varint(out, peers.size());
  for (const auto peer : peers) {
    put_varint(out, peer.size());
    out.insert(out.end(), peer.begin(), peer.end());
  }
  for (const auto& f : frames) put_varint(out, peer_index.at(f.peer));
  std::int64_t id = 0;
  for (const auto& f : frames) put_varint(out, zigzag(wrapping_sub(f.id, std::exchange(id, f.id))));
  UtcMillis received = 0;
  for (const auto& f : frames) put_varint(out, zigzag(wrapping_sub(f.received, std::exchange(received, f.received))));
  for (const auto& f : frames) put_varint(out, static_cast<std::uint64_t>(f.direction));
  for (const auto& f : frames) put_varint(out, static_cast<std::uint64_t>(f.command));
  for (const auto& f : frames) put_varint(out, static_cast<std::uint64_t>(f.flags));
  for (const auto& f : frames) put_varint(out, f.raw.size());
  for (const auto& f : frames) out.insert(out.end(), f.raw.begin(), f.raw.end());
  return out;
}

// Reads one column: `read` on each frame in turn; false at the first bad value.
template <class Read>
bool read_column(std::vector<PackedFrame>& frames, Read read) {
  for (auto& f : frames) {
    if (!read(f)) return false;
  }
  return true;
}

std::optional<std::vector<PackedFrame>> parse_columns(std::span<const std::uint8_t> bytes) {
  Reader in(bytes);
  const auto count = in.varint();
  if (!count || *count > in.remaining() / min_frame_bytes) return std::nullopt;
  const auto peer_count = in.varint();
  if (!peer_count || *peer_count > in.remaining()) return std::nullopt;
  std::vector<std::string> peers;
  for (std::uint64_t i = 0; i < *peer_count; ++i) {
    const auto length = in.varint();
    const auto text = length ? in.bytes(*length) : std::nullopt;
    if (!text) return std::nullopt;
    peers.emplace_back(text->begin(), text->end());
  }
  std::vector<PackedFrame> frames(static_cast<std::size_t>(*count));
  // A column of running sums of zigzag deltas, and a column of small non-negative integers.
  const auto deltas = [&in](std::int64_t PackedFrame::*field) {
    return [&in, field, running = std::int64_t{0}](PackedFrame& f) mutable {
      const auto delta = in.varint();
      return delta && ((f.*field = running = wrapping_add(running, unzigzag(*delta))), true);
    };
  };
  const auto counts = [&in](std::int64_t PackedFrame::*field) {
    return [&in, field](PackedFrame& f) {
      const auto v = in.varint();
      if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
      f.*field = static_cast<std::int64_t>(*v);
      return true;
    };
  };
  const auto small_ints = [&in](int PackedFrame::*field) {
    return [&in, field](PackedFrame& f) {
      const auto v = small_int(in.varint());
      return v && ((f.*field = *v), true);
    };
  };
  const bool ok =
      read_column(frames, [&](PackedFrame& f) {
        const auto index = in.varint();
        if (!index || *index >= peers.size()) return false;
        f.peer = peers[static_cast<std::size_t>(*index)];
        return true;
      }) &&
      read_column(frames, deltas(&PackedFrame::id)) && read_column(frames, deltas(&PackedFrame::received)) &&
      read_column(frames, small_ints(&PackedFrame::direction)) && read_column(frames, counts(&PackedFrame::command)) &&
      read_column(frames, small_ints(&PackedFrame::flags)) &&
      read_column(frames, [&](PackedFrame& f) {
        const auto length = in.varint();
        return length && *length <= in.remaining() && (f.raw.resize(static_cast<std::size_t>(*length)), true);
      }) &&
      read_column(frames, [&](PackedFrame& f) {
        const auto raw = in.bytes(f.raw.size());
        return raw && (std::copy(raw->begin(), raw->end(), f.raw.begin()), true);
      });
  if (!ok || !in.done()) return std::nullopt;
  return frames;
}

}  // namespace

std::vector<std::uint8_t> encode_frame_block(std::span<const PackedFrame> frames) {
  const auto plain = columns(frames);
  std::vector<std::uint8_t> out(ZSTD_compressBound(plain.size()));
  const std::size_t size = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), compression_level);
  // Compressing into a buffer of ZSTD_compressBound cannot fail short of memory exhaustion.
  if (ZSTD_isError(size) != 0) throw std::bad_alloc();
  out.resize(size);
  return out;
}

std::optional<std::vector<PackedFrame>> decode_frame_block(std::span<const std::uint8_t> bytes) {
  const unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR || size > max_frame_block_bytes) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> plain(static_cast<std::size_t>(size));
  const std::size_t got = ZSTD_decompress(plain.data(), plain.size(), bytes.data(), bytes.size());
  if (ZSTD_isError(got) != 0 || got != plain.size()) return std::nullopt;
  return parse_columns(plain);
}

}  // namespace sunkeep::storage

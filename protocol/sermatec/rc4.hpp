// The RC4 wrapping seen on the Sermatec cloud port (sermatec.md §3): standard RC4 with a fixed
// key, restarted for every frame, so wrapping is an XOR with one fixed keystream.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sunkeep::sermatec {

// XORs `bytes` with the keystream from its start (encrypts and decrypts alike).
std::vector<std::uint8_t> rc4_apply(std::span<const std::uint8_t> bytes);

// The first keystream bytes (for tests against the spec's vector).
std::span<const std::uint8_t> rc4_keystream();

}  // namespace sunkeep::sermatec

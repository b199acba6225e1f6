// The dashboard's files as the API serves them (dashboard.md §3): embedded at build time, each
// held as is and gzip-compressed, with a strong ETag per representation (the gzip one ends in
// "-gz"). Content-hashed names are cached as immutable, index.html is revalidated (no-cache); a
// matching If-None-Match is a 304.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sunkeep::api {

struct Response;

struct StaticFile {
  std::string_view path;          // "/index.html", "/app-1a2b3c4d.js"
  std::string_view content_type;
  std::string_view etag;          // of the identity bytes, quoted: "\"9f86d081884c7d65\""
  std::span<const std::uint8_t> identity;
  std::span<const std::uint8_t> gzip;
  bool immutable = false;         // a content-hashed name: cached for a year
};

struct StaticRequest {
  std::string_view path;  // as sent, without the query; "/" means /index.html
  std::string_view if_none_match;
  std::string_view accept_encoding;
};

// The answer for a file of `files`, or nullopt when none has that path.
std::optional<Response> static_answer(std::span<const StaticFile> files, const StaticRequest& request);

// Whether an Accept-Encoding value accepts gzip (a "gzip;q=0" refuses it).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace sunkeep::api

// Serving the embedded dashboard files.
#include "api/static_files.hpp"

#include "api/api.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace sunkeep::api {

namespace {

constexpr std::string_view immutable_cache = "public, max-age=31536000, immutable";
constexpr std::string_view revalidate_cache = "no-cache";

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool same_token(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y)); });
}

// Calls `each` with every comma-separated element of a header value, trimmed.
template <class Each>
void for_each_element(std::string_view value, Each each) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    each(trimmed(value.substr(0, comma)));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
  }
}

// The gzip representation's tag: the identity tag with "-gz" before its closing quote.
std::string gzip_etag(std::string_view etag) {
  std::string tag(etag);
  tag.insert(tag.empty() ? 0 : tag.size() - 1, "-gz");
  return tag;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  bool matched = false;
  for_each_element(if_none_match, [&](std::string_view tag) {
    if (tag == "*" || tag == etag) matched = true;
  });
  return matched;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<bool> gzip;
  std::optional<bool> any;
  for_each_element(accept_encoding, [&](std::string_view element) {
    const std::size_t semicolon = element.find(';');
    const std::string_view coding = trimmed(element.substr(0, semicolon));
    const std::string_view params = semicolon == std::string_view::npos ? "" : element.substr(semicolon + 1);
    const std::size_t q = params.find("q=");
    // q=0, q=0.0, q=0.000: refused; any other weight accepts.
    const bool accepted = q == std::string_view::npos || trimmed(params.substr(q + 2)).find_first_not_of("0.") != std::string_view::npos;
    if (same_token(coding, "gzip")) gzip = accepted;
    if (coding == "*") any = accepted;
  });
  return gzip.value_or(any.value_or(false));
}

std::optional<Response> static_answer(std::span<const StaticFile> files, const StaticRequest& request) {
  const std::string_view path = request.path == "/" ? std::string_view("/index.html") : request.path;
  const auto file = std::find_if(files.begin(), files.end(), [&](const StaticFile& f) { return f.path == path; });
  if (file == files.end()) return std::nullopt;
  const bool gzip = accepts_gzip(request.accept_encoding);
  const std::string etag = gzip ? gzip_etag(file->etag) : std::string(file->etag);
  Response r;
  r.content_type = std::string(file->content_type);
  r.headers = {{"ETag", etag},
               {"Cache-Control", std::string(file->immutable ? immutable_cache : revalidate_cache)},
               {"Vary", "Accept-Encoding"}};
  if (etag_matches(request.if_none_match, etag)) {
    r.status = 304;
    return r;
  }
  if (gzip) r.headers.emplace_back("Content-Encoding", "gzip");
  const auto bytes = gzip ? file->gzip : file->identity;
  r.body.assign(bytes.begin(), bytes.end());
  return r;
}

}  // namespace sunkeep::api

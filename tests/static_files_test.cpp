// The dashboard's embedded files as the server serves them (dashboard.md §3): gzip when the
// client takes it, strong ETags and 304s, immutable caching for content-hashed names and
// no-cache for index.html, HEAD, 405, and the first-load byte budget of 150 KB.
#include "api/api.hpp"
#include "api/static_files.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_server.hpp"
#include "web/assets.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>

using namespace sunkeep;
using namespace sunkeep::api;

namespace {

const std::array<std::uint8_t, 5> page{'h', 'e', 'l', 'l', 'o'};
const std::array<std::uint8_t, 3> page_gz{1, 2, 3};
const std::array<StaticFile, 2> files{{
    {"/index.html", "text/html; charset=utf-8", "\"aaaa\"", page, page_gz, false},
    {"/app-0123abcd.js", "text/javascript; charset=utf-8", "\"bbbb\"", page, page_gz, true},
}};

std::string header(const Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return {};
}

}  // namespace

TEST_CASE("static files: gzip only for clients that take it") {
  CHECK(accepts_gzip("gzip, deflate, br"));
  CHECK(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  CHECK(accepts_gzip("*"));
  CHECK_FALSE(accepts_gzip(""));
  CHECK_FALSE(accepts_gzip("identity"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("gzip;q=0.000, *"));
  CHECK_FALSE(accepts_gzip("*;q=0"));
}

TEST_CASE("static files: index.html at / with no-cache, hashed names immutable, 304 on a matching ETag") {
  auto r = static_answer(files, {"/", "", "gzip"});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->content_type == "text/html; charset=utf-8");
  CHECK(r->body == std::string("\x01\x02\x03"));
  CHECK(header(*r, "Content-Encoding") == "gzip");
  CHECK(header(*r, "Cache-Control") == "no-cache");
  CHECK(header(*r, "ETag") == "\"aaaa-gz\"");
  CHECK(header(*r, "Vary") == "Accept-Encoding");

  r = static_answer(files, {"/app-0123abcd.js", "", ""});
  REQUIRE(r);
  CHECK(r->body == "hello");  // no gzip asked for: as it is
  CHECK(header(*r, "Content-Encoding").empty());
  CHECK(header(*r, "Cache-Control") == "public, max-age=31536000, immutable");

  r = static_answer(files, {"/index.html", "\"zzzz\", \"aaaa-gz\"", "gzip"});
  REQUIRE(r);
  CHECK(r->status == 304);
  CHECK(r->body.empty());
  CHECK(header(*r, "ETag") == "\"aaaa-gz\"");  // each representation has its own strong tag
  CHECK(static_answer(files, {"/index.html", "\"aaaa-gz\"", ""})->status == 200);  // not the identity's
  CHECK(static_answer(files, {"/index.html", "\"aaaa\"", ""})->status == 304);
  CHECK(static_answer(files, {"/index.html", "\"zzzz\"", "gzip"})->status == 200);
  CHECK_FALSE(static_answer(files, {"/nothing.js", "", "gzip"}));
}

TEST_CASE("static files: the real server serves the embedded dashboard and keeps /api answers JSON") {
  test::TestServer server;
  const auto port = server.http_port();
  const auto all = web::files();
  REQUIRE_FALSE(all.empty());
  CHECK(std::any_of(all.begin(), all.end(), [](const StaticFile& f) { return f.path == "/index.html"; }));
  std::size_t first_load = 0;
  for (const auto& file : all) {
    CAPTURE(file.path);
    const test::HttpReply reply = test::http_get(port, std::string(file.path));
    CHECK(reply.status == 200);
    CHECK(reply.headers.at("content-type") == file.content_type);
    CHECK(reply.headers.at("etag") == file.etag);
    CHECK(reply.body == std::string(file.identity.begin(), file.identity.end()));  // this client sends no Accept-Encoding
    CHECK(file.gzip.size() < file.identity.size() + 64);
    first_load += file.gzip.size();
  }
  MESSAGE("first load: ", first_load, " bytes gzip in ", all.size(), " files");
  CHECK(first_load <= 150'000);  // dashboard.md §3: first load ≤ 150 KB transferred

  const test::HttpReply root = test::http_get(port, "/");
  CHECK(root.status == 200);
  CHECK(root.headers.at("cache-control") == "no-cache");
  const test::HttpReply head = test::http_request(port, "HEAD", "/");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.headers.at("content-length") == root.headers.at("content-length"));

  // Over HTTP: gzip for a client that takes it, and a 304 without a body for its tag.
  const std::string index_raw = test::http_raw(port, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
  CHECK(index_raw.find("Content-Encoding: gzip\r\n") != std::string::npos);
  const auto& index = *std::find_if(all.begin(), all.end(), [](const StaticFile& f) { return f.path == "/index.html"; });
  const std::string gz(index.gzip.begin(), index.gzip.end());
  CHECK(index_raw.ends_with(gz));
  const std::string tag = std::string(index.etag).insert(index.etag.size() - 1, "-gz");
  CHECK(index_raw.find("ETag: " + tag + "\r\n") != std::string::npos);
  const std::string not_modified = test::http_raw(
      port, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nIf-None-Match: " + tag + "\r\nConnection: close\r\n\r\n");
  CHECK(not_modified.starts_with("HTTP/1.1 304"));
  CHECK(not_modified.find("Content-Length") == std::string::npos);
  CHECK(not_modified.ends_with("\r\n\r\n"));
  CHECK(test::http_request(port, "POST", "/").status == 405);
  const test::HttpReply missing = test::http_get(port, "/no-such-file.js");
  CHECK(missing.status == 404);
  CHECK(missing.headers.at("content-type") == "application/json");
}

TEST_CASE("static files: with a token the dashboard's files stay open, the API does not") {
  test::TestServer server([](config::Config& c) { c.http.token = "t0ken"; });
  CHECK(test::http_get(server.http_port(), "/").status == 200);  // the page asks for the token itself
  CHECK(test::http_get(server.http_port(), "/api/v1/site").status == 401);
}

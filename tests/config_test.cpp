// The config file: defaults, every key of interfaces.md §2, and problems named with key and line.
#include "config/config.hpp"

#include <doctest/doctest.h>

using namespace sunkeep::config;
using namespace std::chrono_literals;

namespace {

Problem only_problem(const LoadResult& r) {
  REQUIRE(r.problems.size() == 1);
  return r.problems[0];
}

}  // namespace

TEST_CASE("config: an empty file is the built-in defaults") {
  const auto r = parse_config("", "empty.toml");
  REQUIRE(r.ok());
  const Config& c = r.config;
  CHECK(c.storage.path == "data/sunkeep.db");
  CHECK(c.http.listen == Endpoint{"127.0.0.1", 8080});
  CHECK(c.http.token.empty());
  CHECK(c.alphaess.enabled);
  CHECK(c.alphaess.listen == Endpoint{"0.0.0.0", 7777});
  CHECK(c.alphaess.timezone == "UTC");
  CHECK(c.alphaess.backfill);
  CHECK(c.alphaess.backfill_min_gap == 2min);
  CHECK(c.alphaess.backfill_max_age == 7 * 24h);
  CHECK(c.alphaess.idle_timeout == 5min);
  CHECK(c.alphaess.max_frame == 65536);
  CHECK(c.sermatec.listen == Endpoint{"0.0.0.0", 19042});
  CHECK(c.sermatec.poll_interval == 30s);
  CHECK(c.http.max_connections == 1024);
  CHECK(c.http.max_buffered_mb == 64);
  CHECK(c.alphaess.limits.max_connections == 20000);
  CHECK(c.alphaess.limits.max_connections_per_host == 1024);
  CHECK(c.sermatec.limits.max_connections == 20000);
  CHECK(c.sermatec.limits.max_connections_per_host == 1024);
}

TEST_CASE("config: every documented key is read") {
  const auto r = parse_config(R"(
[storage]
path = "/var/lib/sunkeep/db.sqlite"
[http]
listen = "[::1]:9090"
token = "abc"
metrics_token = "scrape"
max_connections = 50
max_buffered_mb = 8
[alphaess]
enabled = false
listen = "127.0.0.1:7000"
timezone = "Australia/Sydney"
backfill = false
backfill_min_gap = "90s"
backfill_max_age = "2d"
idle_timeout = "1h30m"
max_frame = 4096
max_connections = 300
max_connections_per_host = 3
[sermatec]
enabled = false
listen = "0.0.0.0:19043"
poll_interval = "1m"
query_drm = true
query_forced_charge = true
query_network = true
max_connections = 40
max_connections_per_host = 4
[[sermatec.inverter]]
host = "inverter.lan"
[[sermatec.inverter]]
host = "10.10.100.254"
port = 8900
)", "full.toml");
  REQUIRE(r.ok());
  const Config& c = r.config;
  CHECK(c.storage.path == "/var/lib/sunkeep/db.sqlite");
  CHECK(c.http.listen == Endpoint{"::1", 9090});
  CHECK(c.http.token == "abc");
  CHECK(c.http.metrics_token == "scrape");
  CHECK_FALSE(c.alphaess.enabled);
  CHECK(c.alphaess.listen == Endpoint{"127.0.0.1", 7000});
  CHECK(c.alphaess.timezone == "Australia/Sydney");
  CHECK_FALSE(c.alphaess.backfill);
  CHECK(c.alphaess.backfill_min_gap == 90s);
  CHECK(c.alphaess.backfill_max_age == 48h);
  CHECK(c.alphaess.idle_timeout == 90min);
  CHECK(c.alphaess.max_frame == 4096);
  CHECK(c.http.max_connections == 50);
  CHECK(c.http.max_buffered_mb == 8);
  CHECK(c.alphaess.limits.max_connections == 300);
  CHECK(c.alphaess.limits.max_connections_per_host == 3);
  CHECK(c.sermatec.limits.max_connections == 40);
  CHECK(c.sermatec.limits.max_connections_per_host == 4);
  CHECK(c.sermatec.poll_interval == 1min);
  CHECK(c.sermatec.query_network);
  REQUIRE(c.sermatec.inverters.size() == 2);
  CHECK(c.sermatec.inverters[0].host == "inverter.lan");
  CHECK(c.sermatec.inverters[0].port == 8899);
  CHECK(c.sermatec.inverters[1].port == 8900);
}

TEST_CASE("config: problems name the key and its line") {
  SUBCASE("unknown key") {
    const Problem p = only_problem(parse_config("[alphaess]\n\nlistne = \"0.0.0.0:1\"\n", "t.toml"));
    CHECK(p.key == "alphaess.listne");
    CHECK(p.line == 3);
    CHECK(p.to_string("t.toml").rfind("t.toml:3: alphaess.listne: unknown key", 0) == 0);
  }
  SUBCASE("unknown section") {
    const Problem p = only_problem(parse_config("[mqttt]\nhost = \"x\"\n", "t.toml"));
    CHECK(p.key == "mqttt");
    CHECK(p.line == 1);
  }
  SUBCASE("wrong type") {
    const Problem p = only_problem(parse_config("[alphaess]\nbackfill = \"yes\"\n", "t.toml"));
    CHECK(p.key == "alphaess.backfill");
    CHECK(p.line == 2);
  }
  SUBCASE("bad duration") {
    const Problem p = only_problem(parse_config("[alphaess]\nidle_timeout = \"5 minutes\"\n", "t.toml"));
    CHECK(p.key == "alphaess.idle_timeout");
    CHECK(p.message.find("not a duration") != std::string::npos);
  }
  SUBCASE("bad address") {
    CHECK(only_problem(parse_config("[alphaess]\nlisten = \"0.0.0.0\"\n", "t")).key == "alphaess.listen");
    CHECK(only_problem(parse_config("[alphaess]\nlisten = \"0.0.0.0:70000\"\n", "t")).key == "alphaess.listen");
    CHECK(only_problem(parse_config("[http]\nlisten = \"example.com:80\"\n", "t")).key == "http.listen");
    CHECK(only_problem(parse_config("[http]\nlisten = \"::1:80\"\n", "t")).key == "http.listen");
  }
  SUBCASE("bad time zone") {
    const Problem p = only_problem(parse_config("[alphaess]\ntimezone = \"Sydney\"\n", "t"));
    CHECK(p.key == "alphaess.timezone");
    CHECK(p.line == 2);
  }
  SUBCASE("a Sermatec poll interval under 5 s") {
    const Problem p = only_problem(parse_config("[sermatec]\npoll_interval = \"4s\"\n", "t"));
    CHECK(p.key == "sermatec.poll_interval");
    CHECK(p.line == 2);
  }
  SUBCASE("out-of-range integer") {
    CHECK(only_problem(parse_config("[alphaess]\nmax_frame = 0\n", "t")).key == "alphaess.max_frame");
  }
  SUBCASE("inverter without a host") {
    const Problem p = only_problem(parse_config("[[sermatec.inverter]]\nport = 8899\n", "t"));
    CHECK(p.key == "sermatec.inverter");
    CHECK(p.message.find("host is required") != std::string::npos);
  }
  SUBCASE("TOML syntax error") {
    const Problem p = only_problem(parse_config("[alphaess]\nlisten = \n", "t"));
    CHECK(p.line == 2);
    CHECK(p.message.find("syntax") != std::string::npos);
  }
  SUBCASE("several problems, in file order") {
    const auto r = parse_config("[alphaess]\nzzz = 1\naaa = 2\n", "t");
    REQUIRE(r.problems.size() == 2);
    CHECK(r.problems[0].key == "alphaess.zzz");
    CHECK(r.problems[1].key == "alphaess.aaa");
  }
}

TEST_CASE("config: durations and endpoints") {
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("7d") == 168h);
  CHECK(parse_duration("250ms") == 250ms);
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("5"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("5w"));
  CHECK(*parse_endpoint("[::]:7777") == Endpoint{"::", 7777});
  CHECK(Endpoint{"::", 7777}.to_string() == "[::]:7777");
  CHECK_FALSE(parse_endpoint(":7777"));
  CHECK(parse_endpoint(":7777").error() == "missing host before ':'");
}

TEST_CASE("config: the [sma] section and its inverters") {
  const auto defaults = parse_config("", "t");
  const SmaConfig& d = defaults.config.sma;
  CHECK(d.enabled);
  CHECK(d.poll_interval == 30s);
  CHECK(d.timeout == 2s);
  CHECK(d.retries == 2);
  CHECK_FALSE(d.discovery);
  CHECK(d.user_group == SmaUserGroup::user);
  CHECK(d.password.empty());
  CHECK(d.energy_meter);
  CHECK(d.energy_meter_interval == 10s);
  CHECK(d.interface.empty());
  CHECK(d.energy_meter_listen == Endpoint{"0.0.0.0", 9522});
  CHECK(d.inverters.empty());

  const auto r = parse_config(
      "[sma]\npoll_interval = \"1m\"\ntimeout = \"3s\"\nretries = 1\nuser_group = \"installer\"\npassword = \"Abc12345\"\n"
      "energy_meter = false\nenergy_meter_interval = \"5s\"\ninterface = \"192.168.1.2\"\n"
      "energy_meter_listen = \"127.0.0.1:9600\"\ndiscovery = true\n"
      "[[sma.inverter]]\nhost = \"192.168.1.50\"\n"
      "[[sma.inverter]]\nhost = \"10.0.0.7\"\nport = 9600\nuser_group = \"user\"\npassword = \"0000\"\n",
      "t");
  REQUIRE(r.ok());
  const SmaConfig& c = r.config.sma;
  CHECK(c.poll_interval == 60s);
  CHECK(c.timeout == 3s);
  CHECK(c.retries == 1);
  CHECK(c.discovery);
  CHECK_FALSE(c.energy_meter);
  CHECK(c.energy_meter_interval == 5s);
  CHECK(c.interface == "192.168.1.2");
  CHECK(c.energy_meter_listen == Endpoint{"127.0.0.1", 9600});
  REQUIRE(c.inverters.size() == 2);
  CHECK(c.inverters[0].host == "192.168.1.50");
  CHECK(c.inverters[0].port == 9522);
  CHECK(c.group_of(c.inverters[0]) == SmaUserGroup::installer);
  CHECK(c.password_of(c.inverters[0]) == "Abc12345");
  CHECK(c.inverters[1].port == 9600);
  CHECK(c.group_of(c.inverters[1]) == SmaUserGroup::user);
  CHECK(c.password_of(c.inverters[1]) == "0000");
}

TEST_CASE("config: an SMA password that cannot be sent or a bad user group is named by key, never by value") {
  SUBCASE("too long") {
    const Problem p = only_problem(parse_config("[sma]\npassword = \"Thirteen1234x\"\n", "t"));
    CHECK(p.key == "sma.password");
    CHECK(p.line == 2);
    CHECK(p.to_string("t").find("Thirteen1234x") == std::string::npos);
  }
  SUBCASE("not ASCII") {
    const Problem p = only_problem(parse_config("[sma]\npassword = \"Geheim\xc3\xa4\"\n", "t"));
    CHECK(p.key == "sma.password");
    CHECK(p.to_string("t").find("Geheim") == std::string::npos);
  }
  SUBCASE("an inverter's own password") {
    const Problem p = only_problem(parse_config("[[sma.inverter]]\nhost = \"h\"\npassword = \"S3cretS3cretS3cret\"\n", "t"));
    CHECK(p.key == "sma.inverter");
    CHECK(p.message.find("password") != std::string::npos);
    CHECK(p.to_string("t").find("S3cret") == std::string::npos);
  }
  SUBCASE("user group") {
    const Problem p = only_problem(parse_config("[sma]\nuser_group = \"admin\"\n", "t"));
    CHECK(p.key == "sma.user_group");
    CHECK(p.to_string("t").find("admin") == std::string::npos);
    CHECK(only_problem(parse_config("[[sma.inverter]]\nhost = \"h\"\nuser_group = \"root\"\n", "t")).key == "sma.inverter");
  }
  SUBCASE("interface") {
    CHECK(only_problem(parse_config("[sma]\ninterface = \"eth0\"\n", "t")).key == "sma.interface");
  }
}

TEST_CASE("config: a syntax error on a password line does not quote the password") {
  const Problem p = only_problem(parse_config("[sma]\npassword = \"Ab\\qSecret1\"\n", "t"));
  CHECK(p.line == 2);
  CHECK(p.message.find("syntax") != std::string::npos);
  CHECK(p.to_string("t").find("\\q") == std::string::npos);
  CHECK(p.to_string("t").find("Secret") == std::string::npos);
}

TEST_CASE("config: the [apsystems] section and its ECUs") {
  const auto defaults = parse_config("", "t");
  const ApsystemsConfig& d = defaults.config.apsystems;
  CHECK(d.enabled);
  CHECK(d.poll_interval == 60s);
  CHECK(d.command_pause == 3s);
  CHECK(d.connect_timeout == 5s);
  CHECK(d.read_timeout == 5s);
  CHECK(d.retries == 2);
  CHECK(d.ecus.empty());

  const auto r = parse_config(
      "[apsystems]\npoll_interval = \"5m\"\ncommand_pause = \"2s\"\nconnect_timeout = \"4s\"\nread_timeout = \"6s\"\n"
      "retries = 1\n[[apsystems.ecu]]\nhost = \"192.168.1.60\"\n"
      "[[apsystems.ecu]]\nhost = \"ecu-c.lan\"\nport = 8900\necu_id = \"215000012345\"\n",
      "t");
  REQUIRE(r.ok());
  const ApsystemsConfig& c = r.config.apsystems;
  CHECK(c.poll_interval == 300s);
  CHECK(c.command_pause == 2s);
  CHECK(c.connect_timeout == 4s);
  CHECK(c.read_timeout == 6s);
  CHECK(c.retries == 1);
  REQUIRE(c.ecus.size() == 2);
  CHECK(c.ecus[0].host == "192.168.1.60");
  CHECK(c.ecus[0].port == 8899);
  CHECK(c.ecus[0].ecu_id.empty());
  CHECK(c.ecus[1].port == 8900);
  CHECK(c.ecus[1].ecu_id == "215000012345");
}

TEST_CASE("config: the APsystems limits of apsystems-ecu.md §11.1 are named by key and line") {
  struct Case {
    std::string text;
    std::string key;
    std::size_t line;  // an [[apsystems.ecu]] entry's problem is on the entry's line, the message names the key's
  };
  const std::vector<Case> cases{
      {"[apsystems]\npoll_interval = \"29s\"\n", "apsystems.poll_interval", 2},
      {"[apsystems]\ncommand_pause = \"500ms\"\n", "apsystems.command_pause", 2},
      {"[apsystems]\n\ncommand_pause = \"61s\"\n", "apsystems.command_pause", 3},
      {"[apsystems]\nretries = 3\n", "apsystems.retries", 2},
      {"[[apsystems.ecu]]\nhost = \"h\"\necu_id = \"21630009069\"\n", "apsystems.ecu", 1},
      {"[[apsystems.ecu]]\nhost = \"h\"\necu_id = \"21630009069X\"\n", "apsystems.ecu", 1},
      {"[[apsystems.ecu]]\nport = 8899\n", "apsystems.ecu", 1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const Problem p = only_problem(parse_config(c.text, "t"));
    CHECK(p.key == c.key);
    CHECK(p.line == c.line);
  }
  const Problem id = only_problem(parse_config("[[apsystems.ecu]]\nhost = \"h\"\necu_id = \"2163\"\n", "t"));
  CHECK(id.message.find("(line 3): ecu_id \"2163\" is not 12 digits") != std::string::npos);
  CHECK(parse_config("[apsystems]\npoll_interval = \"30s\"\ncommand_pause = \"1s\"\n", "t").ok());
  // One ECU listed twice would be polled over two connections at once.
  const Problem twice = only_problem(
      parse_config("[[apsystems.ecu]]\nhost = \"h\"\n[[apsystems.ecu]]\nport = 8899\nhost = \"h\"\n", "t"));
  CHECK(twice.key == "apsystems.ecu");
  CHECK(twice.line == 5);
  CHECK(twice.message.find("entry 2 names the same ECU as entry 1") != std::string::npos);
  CHECK(only_problem(parse_config("[[apsystems.ecu]]\nhost = \"a\"\necu_id = \"216300090693\"\n"
                                  "[[apsystems.ecu]]\nhost = \"b\"\necu_id = \"216300090693\"\n",
                                  "t"))
            .message.find("ecu_id 216300090693") != std::string::npos);
  CHECK(parse_config("[[apsystems.ecu]]\nhost = \"h\"\n[[apsystems.ecu]]\nhost = \"h\"\nport = 8900\n", "t").ok());
  CHECK(parse_config("[apsystems]\ncommand_pause = \"60s\"\n[[apsystems.ecu]]\nhost = \"h\"\necu_id = \"\"\n", "t").ok());
}

TEST_CASE("config: the [site] section and [http] max_live_clients") {
  const auto defaults = parse_config("", "t.toml");
  CHECK(defaults.config.site.name == "Home");
  CHECK(defaults.config.site.timezone.empty());
  CHECK(defaults.config.site.pv.empty());
  CHECK(defaults.config.http.max_live_clients == 64);
  const auto r = parse_config(R"(
[http]
max_live_clients = 8
[site]
name = "Farm"
timezone = "Europe/Berlin"
pv = ["alphaess:AL1", "apsystems:216000012345"]
grid = ["sma:1901429669"]
battery = []
)", "t.toml");
  REQUIRE(r.ok());
  CHECK(r.config.http.max_live_clients == 8);
  CHECK(r.config.site.name == "Farm");
  CHECK(r.config.site.timezone == "Europe/Berlin");
  CHECK(r.config.site.pv == std::vector<std::string>{"alphaess:AL1", "apsystems:216000012345"});
  CHECK(r.config.site.grid == std::vector<std::string>{"sma:1901429669"});

  Problem p = only_problem(parse_config("[site]\n\ngrid = [\"sma\"]\n", "t.toml"));
  CHECK(p.key == "site.grid");
  CHECK(p.line == 3);
  CHECK(p.message.find("<vendor>:<serial>") != std::string::npos);
  p = only_problem(parse_config("[site]\npv = [\"a:1\", \"a:1\"]\n", "t.toml"));
  CHECK(p.key == "site.pv");
  CHECK(p.message.find("twice") != std::string::npos);
  p = only_problem(parse_config("[site]\nbattery = \"a:1\"\n", "t.toml"));
  CHECK(p.key == "site.battery");
  p = only_problem(parse_config("[site]\ntimezone = \"Europe/Atlantis\"\n", "t.toml"));
  CHECK(p.key == "site.timezone");
  CHECK(only_problem(parse_config("[site]\nname = \"\"\n", "t.toml")).key == "site.name");
  CHECK(only_problem(parse_config("[site]\nmeter = []\n", "t.toml")).key == "site.meter");
  CHECK(only_problem(parse_config("[http]\nmax_live_clients = 0\n", "t.toml")).key == "http.max_live_clients");
}

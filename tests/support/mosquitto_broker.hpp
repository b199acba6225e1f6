// A real mosquitto broker as a child process, for the MQTT publisher's tests: a plain listener
// on 127.0.0.1 and, on request, a TLS listener with certificates made for the test (a CA, a
// server certificate for 127.0.0.1, a client certificate and an unrelated CA), optionally with
// a username and password. Everything lives in a temporary folder that goes with the object.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace sunkeep::test {

struct BrokerOptions {
  bool tls = false;                         // add a TLS listener (server certificate for 127.0.0.1)
  bool require_client_certificate = false;  // the TLS listener wants a client certificate from ca_file()
  std::string username;                     // non-empty: no anonymous clients, only this one
  std::string password;
};

class MosquittoBroker {
 public:
  // Starts mosquitto and returns once its log says it runs and both ports accept TCP connections
  // (at most 5 s); throws std::runtime_error with the broker's log otherwise. Ports that another process takes between
  // being picked and the broker binding them are picked again (a few times).
  explicit MosquittoBroker(BrokerOptions options = {});
  // Stops the broker (SIGTERM, SIGKILL after 2 s), reaps it and removes its folder.
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }          // plain listener, 127.0.0.1
  [[nodiscard]] std::uint16_t tls_port() const { return tls_port_; }  // 0 without tls
  [[nodiscard]] std::string url() const;                              // "mqtt://127.0.0.1:<port>"
  [[nodiscard]] std::string tls_url() const;                          // "mqtts://127.0.0.1:<tls_port>"

  // PEM files in temp_dir(), made only with tls ("" without it).
  [[nodiscard]] std::string ca_file() const;
  [[nodiscard]] std::string client_cert_file() const;  // signed by ca_file(), CN sunkeep-test-client
  [[nodiscard]] std::string client_key_file() const;
  [[nodiscard]] std::string other_ca_file() const;  // a second CA that signed nothing here
  [[nodiscard]] std::string temp_dir() const { return dir_; }

  void pause();   // SIGSTOP: connections stay open, nothing is answered
  void resume();  // SIGCONT
  // SIGKILL and reap; restart() brings it back.
  void kill();
  // Starts a fresh broker (killing the old one if it runs) on the same ports with the same
  // configuration and files; retained messages are gone (no persistence). Returns once both
  // ports accept (at most 5 s, retrying while a port is still busy); throws like the constructor.
  void restart();
  // True while the process exists, paused or not.
  [[nodiscard]] bool running() const;
  // The broker's log file (every log type; all runs of this object, appended).
  [[nodiscard]] std::string log() const;

 private:
  void make_certificates();
  void make_password_file();
  void write_config() const;
  // Spawns the broker and waits until it accepts on both ports: true; false if it exited
  // because a port was in use; throws for any other failure.
  bool launch(std::chrono::steady_clock::time_point deadline);
  void stop();

  BrokerOptions options_;
  std::string dir_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sunkeep::test

// libFuzzer target: the settings parser (edge/config.h): config file text, flags and
// REDGE_* environment variables, through LoadConfig and CheckConfigFile.
//
// Input: the config file's text, then up to 8 flags and 4 environment entries (all drawn
// with FuzzedDataProvider). The file lives in a memfd, so no disk is touched. Checked:
// nothing throws or crashes, an accepted config is consistent (ports in range, listener
// flags agree with their addresses, numbers within the documented bounds), and what
// check-config accepts, LoadConfig accepts too.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "edge/config.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_config: invariant broken: %s\n", what);
    std::abort();
  }
}

// Setting names (edge/config.cc's table, and "config"), so the fuzzer reaches the value
// checks rather than "unknown setting"; a setting missing here is still reached by chance.
const char* const kNames[] = {
    "resp",
    "http",
    "http-token",
    "cors-origins",
    "lease-timeout",
    "max-attempts",
    "result-ttl",
    "sse-heartbeat",
    "sse-max-streams",
    "max-body",
    "http-header-timeout",
    "http-body-timeout",
    "http-max-conns-per-ip",
    "max-event-bytes",
    "queue-key-template",
    "response-key-template",
    "progress-channel-template",
    "data-dir",
    "fsync",
    "requirepass",
    "insecure",
    "io-threads",
    "resp-threads",
    "maxclients",
    "pubsub-output-limit",
    "client-output-buffer-limit",
    "output-buffer-budget",
    "proto-max-bulk-len",
    "log-format",
    "log-level",
    "log-file",
    "config",
};

std::string Name(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return in.ConsumeRandomLengthString(24);
  return kNames[in.ConsumeIntegralInRange<size_t>(0, std::size(kNames) - 1)];
}

std::string EnvName(const std::string& name) {
  std::string out = "REDGE_";
  for (char c : name) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::string text = in.ConsumeRandomLengthString(4096);
  redge::ConfigSource source;
  const int nflags = in.ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < nflags && in.remaining_bytes() > 0; ++i) {
    switch (in.ConsumeIntegralInRange(0, 3)) {
      case 0:  // --name value
        source.args.push_back("--" + Name(in));
        source.args.push_back(in.ConsumeRandomLengthString(64));
        break;
      case 1:  // --name=value
        source.args.push_back("--" + Name(in) + "=" + in.ConsumeRandomLengthString(64));
        break;
      case 2:  // anything at all
        source.args.push_back(in.ConsumeRandomLengthString(64));
        break;
      default:  // REDGE_NAME=value
        source.env[EnvName(Name(in))] = in.ConsumeRandomLengthString(64);
        break;
    }
  }

  int fd = memfd_create("redge-fuzz.conf", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    close(fd);
    return 0;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const bool file_ok = redge::CheckConfigFile(path).ok();
  redge::ConfigSource file_only;
  file_only.args = {"--config", path};
  auto from_file = redge::LoadConfig(file_only);
  // A file check-config accepts may still be refused by LoadConfig only for what needs
  // the whole configuration (a non-loopback address without credentials).
  if (file_ok && !from_file.ok()) {
    Check(from_file.status().message().find("refusing to listen") != std::string::npos,
          "check-config accepted a file LoadConfig refuses");
  }
  if (!file_ok) Check(!from_file.ok(), "LoadConfig accepted a file check-config refuses");

  source.args.push_back("--config");
  source.args.push_back(path);
  auto loaded = redge::LoadConfig(source);
  close(fd);
  if (!loaded.ok()) {
    Check(!loaded.status().message().empty(), "a refusal without a message");
    return 0;
  }
  const redge::Config& c = *loaded;
  Check(c.resp_enabled == (c.resp != "off"), "resp_enabled disagrees with --resp");
  Check(c.http_enabled == (c.http != "off"), "http_enabled disagrees with --http");
  if (c.resp_enabled) Check(c.resp_port >= 0 && c.resp_port <= 65535, "RESP port out of range");
  if (c.http_enabled) Check(c.http_port >= 0 && c.http_port <= 65535, "HTTP port out of range");
  Check(c.max_attempts >= 1, "max-attempts below 1");
  Check(c.max_body > 0, "max-body not positive");
  Check(c.io_threads >= 1, "io-threads below 1");
  Check(c.resp_threads >= 1, "resp-threads below 1");
  Check(c.lease_timeout_s > 0 && c.sse_heartbeat_s > 0, "a duration not positive");
  Check(c.fsync == "always" || c.fsync == "everysec" || c.fsync == "no", "unknown fsync");
  return 0;
}

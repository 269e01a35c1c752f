// Checking credentials without helping whoever guesses them: constant-time comparison of
// secrets, and AuthThrottle, a per-peer failure counter with backoff and rate-limited logs.
//
// Both listeners use them: RESP AUTH / HELLO AUTH against --requirepass, HTTP bearer
// tokens against --http-token (a 401 is a failure), and the jobs layer compares lease
// tokens with SecretEquals.
//
// Thread-safety: SecretEquals is a pure function; AuthThrottle is safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace redge {

// True when `given` equals `expected`. Its running time depends only on the lengths, not
// on where the first differing byte is, so timing tells a guesser nothing about a prefix.
bool SecretEquals(std::string_view given, std::string_view expected);

// "1.2.3.4:5678" -> "1.2.3.4", "::1:5678" -> "::1", "[::1]:5678" -> "::1": the address
// failures are counted against (a guesser gets a new port per connection).
std::string PeerAddress(std::string_view peer);

class AuthThrottle {
 public:
  struct Options {
    int free_failures = 5;  // failures of one address answered at once
    std::chrono::milliseconds first_delay{100};
    std::chrono::milliseconds max_delay{2000};  // the interval doubles up to this
    std::chrono::milliseconds max_wait{10000};  // no failure reply waits longer
    std::chrono::seconds forget_after{60};      // an address with no failure this long is reset
    std::chrono::seconds log_every{10};         // at most one log line per address per period
    size_t max_addresses = 4096;                // addresses remembered at most
  };
  using Clock = std::chrono::steady_clock;

  // `protocol` names the listener in log lines ("resp", "http").
  explicit AuthThrottle(std::string protocol);
  AuthThrottle(std::string protocol, Options options);

  // A failed check from `peer` ("ip:port"): counts it, logs it (rate-limited, never the
  // credential; `reason` says what was wrong) and returns how long to hold the failure
  // reply. Past free_failures, failure replies of one address are released one per
  // interval (doubling from first_delay to max_delay), whatever the number of its
  // connections; a client waits for each reply before it can try again, so guessing is
  // slowed to one attempt per interval per address. Correct credentials are never held,
  // and a success does not reset the count (on a shared address, such as loopback, a
  // guesser would otherwise get its free failures back whenever a real client logs in):
  // an address is forgotten forget_after its last failure.
  std::chrono::milliseconds Failed(const std::string& peer, std::string_view reason,
                                   Clock::time_point now = Clock::now());
  // A request without any credential: logged like a failure (rate-limited) but not counted
  // and never held; it guesses nothing (a browser before its token is typed in).
  void Missing(const std::string& peer, std::string_view reason,
               Clock::time_point now = Clock::now());
  int64_t failures_total() const;

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point last_failure;
    Clock::time_point next_release;  // when the next held failure reply may go out
    Clock::time_point last_logged;
    int unlogged = 0;  // failures since the last log line
    bool logged = false;
  };
  void Prune(Clock::time_point now);
  std::chrono::milliseconds Record(const std::string& peer, std::string_view reason,
                                   Clock::time_point now, bool counts);

  const std::string protocol_;
  const Options options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  int64_t failures_total_ = 0;
};

}  // namespace redge

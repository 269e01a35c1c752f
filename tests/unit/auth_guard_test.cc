// edge/auth_guard.h: constant-time secret comparison and the per-address failure backoff.
#include "edge/auth_guard.h"

#include <gtest/gtest.h>

#include <chrono>

namespace redge {
namespace {

using std::chrono::milliseconds;

TEST(SecretEquals, ComparesWholeValues) {
  EXPECT_TRUE(SecretEquals("", ""));
  EXPECT_TRUE(SecretEquals("s3cret", "s3cret"));
  EXPECT_FALSE(SecretEquals("s3cret", "s3creT"));
  EXPECT_FALSE(SecretEquals("s3cre", "s3cret"));
  EXPECT_FALSE(SecretEquals("s3cret", "s3cre"));
  EXPECT_FALSE(SecretEquals("", "x"));
  EXPECT_FALSE(SecretEquals(std::string("a\0b", 3), "a"));
}

TEST(PeerAddress, DropsThePort) {
  EXPECT_EQ(PeerAddress("127.0.0.1:5555"), "127.0.0.1");
  EXPECT_EQ(PeerAddress("::1:5555"), "::1");
  EXPECT_EQ(PeerAddress("[::1]:5555"), "::1");
  EXPECT_EQ(PeerAddress("nohost"), "nohost");
}

TEST(AuthThrottle, FreeFailuresThenDoublingHoldsPerAddress) {
  AuthThrottle t("test");
  auto now = AuthThrottle::Clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(t.Failed("10.0.0.1:1", "wrong", now), milliseconds(0));
  // One attempt at a time, as a client that waits for each reply: 100, 200, 400 ms ...
  EXPECT_EQ(t.Failed("10.0.0.1:2", "wrong", now), milliseconds(100));
  now += milliseconds(100);
  EXPECT_EQ(t.Failed("10.0.0.1:3", "wrong", now), milliseconds(200));
  now += milliseconds(200);
  EXPECT_EQ(t.Failed("10.0.0.1:4", "wrong", now), milliseconds(400));
  // Another address is not affected.
  EXPECT_EQ(t.Failed("10.0.0.2:1", "wrong", now), milliseconds(0));
  EXPECT_EQ(t.failures_total(), 9);
}

TEST(AuthThrottle, ParallelAttemptsAreReleasedOneIntervalApart) {
  AuthThrottle t("test");
  auto now = AuthThrottle::Clock::now();
  for (int i = 0; i < 5; ++i) t.Failed("10.0.0.1:1", "wrong", now);
  // Connections failing at the same instant get their replies one interval apart:
  // 100, +200, +400, +800, +1600, then +2000 each, up to max_wait (10 s).
  const int64_t expected[] = {100, 300, 700, 1500, 3100, 5100, 7100, 9100, 10000, 10000};
  for (int i = 0; i < 10; ++i) {
    milliseconds hold = t.Failed("10.0.0.1:" + std::to_string(100 + i), "wrong", now);
    EXPECT_EQ(hold, milliseconds(expected[i])) << i;
  }
}

TEST(AuthThrottle, MissingCredentialsAreNotCountedAndForgottenAfterAMinute) {
  AuthThrottle t("test");
  auto now = AuthThrottle::Clock::now();
  for (int i = 0; i < 50; ++i) t.Missing("10.0.0.1:1", "none", now);
  EXPECT_EQ(t.failures_total(), 0);
  for (int i = 0; i < 7; ++i) t.Failed("10.0.0.1:1", "wrong", now);
  now += std::chrono::seconds(61);
  EXPECT_EQ(t.Failed("10.0.0.1:1", "wrong", now), milliseconds(0));
}

}  // namespace
}  // namespace redge

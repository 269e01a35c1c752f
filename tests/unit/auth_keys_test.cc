// edge/auth: encodings, API key files, roles and the decisions of principal.h, stream
// tokens (mint, verify, rotation with a grace period).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "edge/auth/access_control.h"
#include "edge/auth/api_keys.h"
#include "edge/auth/crypto.h"
#include "edge/auth/principal.h"
#include "edge/auth/stream_tokens.h"

namespace redge::auth {
namespace {

TEST(AuthCrypto, KnownDigestsAndEncodings) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(*Base64UrlDecode("-_8="), "\xfb\xff");
  EXPECT_FALSE(Base64UrlDecode("-_9"));  // non-zero trailing bits: a second spelling
  EXPECT_FALSE(Base64UrlDecode("a+b/"));
  EXPECT_FALSE(Base64UrlDecode("a"));
  EXPECT_EQ(*Base64Decode("a+b/"), std::string("\x6b\xe6\xff", 3));
  EXPECT_EQ(*HexDecode("00Ff"), std::string("\x00\xff", 2));
  EXPECT_FALSE(HexDecode("0g"));
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
}

TEST(ApiKeysFile, ParsesGrantsNamesAndComments) {
  const std::string a = Sha256Hex("key-a"), b = Sha256Hex("key-b");
  auto keys = ApiKeys::Parse("# keys\n\nproducer chat* " + a + " backend  # app\nreader chat* " +
                                 a + " backend\nmetrics * " + b + "\n",
                             "keys.txt");
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 2u);
  const ApiKey* k = keys->Find("key-a");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->name, "backend");
  EXPECT_EQ(k->grants, (std::vector<Grant>{{Role::kProducer, "chat*"}, {Role::kReader, "chat*"}}));
  ASSERT_NE(keys->Find("key-b"), nullptr);
  EXPECT_EQ(keys->Find("key-b")->name, b.substr(0, 12));
  EXPECT_EQ(keys->Find("key-c"), nullptr);
  EXPECT_EQ(keys->Find(a), nullptr);  // the hash itself is not the key
}

TEST(ApiKeysFile, ErrorsNameTheLineNeverAKey) {
  const std::string h = Sha256Hex("k");
  auto err = [](const std::string& text) {
    auto r = ApiKeys::Parse(text, "f");
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(err("boss * " + h),
            "ERR f:1: unknown role 'boss' (admin, producer, worker, reader, metrics)");
  EXPECT_NE(err("\nreader * abc").find("f:2: the third field must be the SHA-256"),
            std::string::npos);
  EXPECT_NE(err("reader * " + h + " a b").find("f:1: expected"), std::string::npos);
  EXPECT_NE(err("reader * " + h + " a\nworker * " + h + " b").find("earlier line"),
            std::string::npos);
  EXPECT_NE(
      err("reader * " + h + " same\nworker * " + Sha256Hex("j") + " same").find("two different"),
      std::string::npos);
  EXPECT_NE(err("reader * " + h + " bad/name").find("names are"), std::string::npos);
}

TEST(ApiKeysFile, NewKeyLineRoundTrips) {
  auto k = MakeApiKey("worker", "gpu-*", "gpu-box-1");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->key.substr(0, 3), "rk_");
  EXPECT_EQ(k->key.size(), 3u + 43u);
  auto keys = ApiKeys::Parse(k->line + "\n", "x");
  ASSERT_TRUE(keys.ok());
  const ApiKey* found = keys->Find(k->key);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name, "gpu-box-1");
  EXPECT_EQ(found->grants, (std::vector<Grant>{{Role::kWorker, "gpu-*"}}));
  EXPECT_FALSE(MakeApiKey("root", "*", "").ok());
  EXPECT_FALSE(MakeApiKey("reader", "a b", "").ok());
  EXPECT_NE(MakeApiKey("reader", "*", "")->key, MakeApiKey("reader", "*", "")->key);
}

Principal With(std::vector<Grant> grants, std::string owner = "") {
  Principal p;
  p.kind = Principal::Kind::kApiKey;
  p.owner = std::move(owner);
  p.grants = std::move(grants);
  return p;
}

TEST(Decisions, EachRoleOnItsQueuesOnly) {
  const JobFacts mine{"j1", "chat", "key:alice"}, other{"j2", "chat", "key:bob"},
      elsewhere{"j3", "billing", "key:alice"}, ownerless{"j4", "chat", ""};
  Principal admin = With({{Role::kAdmin, "*"}});
  Principal producer = With({{Role::kProducer, "chat*"}}, "key:alice");
  Principal worker = With({{Role::kWorker, "chat"}});
  Principal reader = With({{Role::kReader, "ch?t"}});
  Principal metrics = With({{Role::kMetrics, "*"}});
  for (Permission p : {Permission::kRead, Permission::kCancel, Permission::kRetry,
                       Permission::kTrace, Permission::kWork}) {
    EXPECT_EQ(DecideJob(admin, p, other), Decision::kAllowed);
    EXPECT_EQ(DecideJob(metrics, p, mine), Decision::kInvisible);
  }
  EXPECT_EQ(DecideQueue(producer, Permission::kEnqueue, "chat-2"), Decision::kAllowed);
  EXPECT_EQ(DecideQueue(producer, Permission::kEnqueue, "billing"), Decision::kForbidden);
  EXPECT_EQ(DecideQueue(producer, Permission::kLease, "chat"), Decision::kForbidden);
  EXPECT_EQ(DecideJob(producer, Permission::kRead, mine), Decision::kAllowed);
  EXPECT_EQ(DecideJob(producer, Permission::kCancel, mine), Decision::kAllowed);
  EXPECT_EQ(DecideJob(producer, Permission::kRetry, mine), Decision::kForbidden);
  EXPECT_EQ(DecideJob(producer, Permission::kWork, mine), Decision::kForbidden);
  EXPECT_EQ(DecideJob(producer, Permission::kRead, other), Decision::kInvisible);
  EXPECT_EQ(DecideJob(producer, Permission::kRead, ownerless), Decision::kInvisible);
  // Its own job on a queue it no longer produces to is not its any more.
  EXPECT_EQ(DecideJob(producer, Permission::kRead, elsewhere), Decision::kInvisible);
  EXPECT_EQ(DecideQueue(worker, Permission::kLease, "chat"), Decision::kAllowed);
  EXPECT_EQ(DecideQueue(worker, Permission::kLease, "chat2"), Decision::kForbidden);
  EXPECT_EQ(DecideJob(worker, Permission::kWork, other), Decision::kAllowed);
  EXPECT_EQ(DecideJob(worker, Permission::kRead, other), Decision::kForbidden);
  EXPECT_EQ(DecideJob(worker, Permission::kWork, elsewhere), Decision::kInvisible);
  EXPECT_EQ(DecideJob(reader, Permission::kRead, other), Decision::kAllowed);
  EXPECT_EQ(DecideJob(reader, Permission::kTrace, other), Decision::kAllowed);
  EXPECT_EQ(DecideJob(reader, Permission::kCancel, other), Decision::kForbidden);
  EXPECT_EQ(DecideJob(reader, Permission::kRead, elsewhere), Decision::kInvisible);
  EXPECT_EQ(DecideGlobal(metrics, Permission::kMetrics), Decision::kAllowed);
  EXPECT_EQ(DecideGlobal(reader, Permission::kMetrics), Decision::kForbidden);
  EXPECT_EQ(DecideGlobal(producer, Permission::kList), Decision::kAllowed);
  EXPECT_EQ(DecideGlobal(worker, Permission::kList), Decision::kForbidden);
  EXPECT_EQ(DecideGlobal(worker, Permission::kQueues), Decision::kAllowed);
  EXPECT_TRUE(SeesQueue(worker, "chat"));
  EXPECT_FALSE(SeesQueue(worker, "billing"));
  EXPECT_FALSE(SeesQueue(producer, "chat"));
}

TEST(Decisions, StreamTokenReadsItsJobOnly) {
  Principal t;
  t.kind = Principal::Kind::kStreamToken;
  t.stream_job = "j1";
  EXPECT_EQ(DecideJob(t, Permission::kRead, {"j1", "chat", ""}), Decision::kAllowed);
  EXPECT_EQ(DecideJob(t, Permission::kCancel, {"j1", "chat", ""}), Decision::kForbidden);
  EXPECT_EQ(DecideJob(t, Permission::kRead, {"j2", "chat", ""}), Decision::kInvisible);
  EXPECT_EQ(DecideQueue(t, Permission::kEnqueue, "chat"), Decision::kForbidden);
  EXPECT_EQ(DecideGlobal(t, Permission::kList), Decision::kForbidden);
}

TEST(Grants, ParseRoleAndGlob) {
  EXPECT_EQ(*ParseGrant("reader"), (Grant{Role::kReader, "*"}));
  EXPECT_EQ(*ParseGrant("worker:gpu-*"), (Grant{Role::kWorker, "gpu-*"}));
  EXPECT_FALSE(ParseGrant("root"));
  EXPECT_FALSE(ParseGrant("reader:"));
  EXPECT_FALSE(ParseGrant("reader:a b"));
}

class StreamTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("redge-stream-keys-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(StreamTokenTest, KeyFileIsPrivateAndStable) {
  auto keys = StreamTokenKeys::LoadOrCreate(dir_);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / kStreamKeyFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto again = StreamTokenKeys::LoadOrCreate(dir_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->keys().front().secret, keys->keys().front().secret);
}

TEST_F(StreamTokenTest, BoundToJobAndExpiry) {
  auto keys = StreamTokenKeys::LoadOrCreate(dir_);
  ASSERT_TRUE(keys.ok());
  const int64_t now = 1'700'000'000'000;
  const std::string t = keys->Mint("job-a", now + 60'000);
  auto v = keys->Verify(t, now);
  ASSERT_EQ(v.check, StreamTokenKeys::Check::kOk);
  EXPECT_EQ(v.principal.stream_job, "job-a");
  EXPECT_EQ(v.principal.expires_at_ms, now + 60'000);
  EXPECT_EQ(keys->Verify(t, now + 60'000).check, StreamTokenKeys::Check::kExpired);
  // Another job, a later expiry or a flipped MAC byte: the MAC no longer matches.
  std::string other = t;
  other.replace(other.find("job-a"), 5, "job-b");
  EXPECT_EQ(keys->Verify(other, now).check, StreamTokenKeys::Check::kBadMac);
  std::string later = t;
  const std::string exp = std::to_string((now + 60'000) / 1000);
  later.replace(later.find(exp), exp.size(), std::to_string((now + 3'600'000) / 1000));
  EXPECT_EQ(keys->Verify(later, now).check, StreamTokenKeys::Check::kBadMac);
  std::string flipped = t;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_NE(keys->Verify(flipped, now).check, StreamTokenKeys::Check::kOk);
  EXPECT_EQ(keys->Verify("rst1.x", now).check, StreamTokenKeys::Check::kMalformed);
  EXPECT_EQ(keys->Verify("rst1.", now).check, StreamTokenKeys::Check::kMalformed);
  EXPECT_EQ(keys->Verify("rst1...", now).check, StreamTokenKeys::Check::kMalformed);
}

TEST_F(StreamTokenTest, RotationKeepsOldTokensForTheGracePeriod) {
  auto before = StreamTokenKeys::LoadOrCreate(dir_);
  ASSERT_TRUE(before.ok());
  const int64_t now = 1'700'000'000'000;
  const std::string old_token = before->Mint("j", now + 3'600'000);
  ASSERT_TRUE(StreamTokenKeys::Rotate(dir_, 10'000, now).ok());
  auto after = StreamTokenKeys::Load(dir_);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->keys().size(), 2u);
  EXPECT_NE(after->keys().front().kid, before->keys().front().kid);
  auto v = after->Verify(old_token, now + 5'000);
  EXPECT_EQ(v.check, StreamTokenKeys::Check::kOk);
  EXPECT_EQ(v.principal.expires_at_ms, now + 10'000);  // the grace ends it first
  EXPECT_EQ(after->Verify(old_token, now + 10'000).check, StreamTokenKeys::Check::kKeyRetired);
  EXPECT_EQ(after->Verify(after->Mint("j", now + 60'000), now).check, StreamTokenKeys::Check::kOk);
  // A second rotation after the grace drops the retired key altogether.
  ASSERT_TRUE(StreamTokenKeys::Rotate(dir_, 10'000, now + 20'000).ok());
  auto third = StreamTokenKeys::Load(dir_);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->keys().size(), 2u);
  EXPECT_EQ(third->Verify(old_token, now + 20'000).check, StreamTokenKeys::Check::kUnknownKey);
}

TEST_F(StreamTokenTest, RotationKeepsTheFilesOwner) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the key file another owner";
  ASSERT_TRUE(StreamTokenKeys::LoadOrCreate(dir_).ok());
  const std::string path = (dir_ / kStreamKeyFile).string();
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);  // the service's user (nobody here)
  ASSERT_TRUE(StreamTokenKeys::Rotate(dir_, 1000, 1'700'000'000'000).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(StreamTokenTest, AccessControlTellsCredentialsApart) {
  const std::string keyfile = (dir_ / "keys").string();
  std::ofstream(keyfile) << "producer chat " << Sha256Hex("k-producer") << " app\n";
  AccessOptions o;
  o.http_token = "admin-token";
  o.api_keys_file = keyfile;
  o.data_dir = dir_.string();
  auto ac = AccessControl::Create(o);
  ASSERT_TRUE(ac.ok()) << ac.status().message();
  const int64_t now = 1'700'000'000'000;
  using K = AccessControl::Outcome::Kind;
  EXPECT_EQ((*ac)->Authenticate(std::nullopt, now).kind, K::kMissing);
  EXPECT_EQ((*ac)->Authenticate("", now).kind, K::kInvalid);
  EXPECT_EQ((*ac)->Authenticate("nope", now).kind, K::kInvalid);
  auto admin = (*ac)->Authenticate("admin-token", now);
  ASSERT_EQ(admin.kind, K::kOk);
  EXPECT_TRUE(admin.principal->Has(Role::kAdmin));
  EXPECT_EQ(admin.principal->owner, "");
  auto producer = (*ac)->Authenticate("k-producer", now);
  ASSERT_EQ(producer.kind, K::kOk);
  EXPECT_EQ(producer.principal->owner, "key:app");
  int64_t expires = 0;
  const std::string st = (*ac)->MintStreamToken("job1", now, &expires);
  EXPECT_EQ(expires, now + 3'600'000);
  auto stream = (*ac)->Authenticate(st, now);
  ASSERT_EQ(stream.kind, K::kOk);
  EXPECT_EQ(stream.principal->stream_job, "job1");
  EXPECT_EQ((*ac)->Authenticate(st, expires).kind, K::kStale);
  // Revocation: the key leaves the file; a reload makes it invalid, and an earlier
  // principal of it no longer StillValid.
  EXPECT_TRUE((*ac)->StillValid(*producer.principal));
  std::ofstream(keyfile) << "# revoked\n";
  EXPECT_TRUE((*ac)->Reload().empty());
  EXPECT_EQ((*ac)->Authenticate("k-producer", now).kind, K::kInvalid);
  EXPECT_FALSE((*ac)->StillValid(*producer.principal));
  // A broken file keeps the previous keys and reports why.
  std::ofstream(keyfile) << "producer chat " << Sha256Hex("k2") << "\nbogus\n";
  auto errors = (*ac)->Reload();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(keyfile + ":2:"), std::string::npos) << errors[0];
  EXPECT_EQ((*ac)->Authenticate("k2", now).kind, K::kInvalid);
}

}  // namespace
}  // namespace redge::auth

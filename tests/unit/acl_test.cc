// edge/resp/acl: the command table (every command redge has is in it), key extraction from
// key specs, rules, descriptions and checks. The behaviour against a real Redis is tested
// in tests/compat/test_compat_acl.py.
#include "edge/resp/acl.h"

#include <gtest/gtest.h>

#include <sstream>

#include "edge/resp/acl_registry.h"
#include "edge/resp/command.h"

namespace redge::resp {
namespace {

std::vector<std::string> V(std::initializer_list<const char*> args) {
  return std::vector<std::string>(args.begin(), args.end());
}

std::vector<std::pair<int, uint32_t>> Keys(std::initializer_list<const char*> args) {
  auto argv = V(args);
  std::vector<std::pair<int, uint32_t>> out;
  for (const AclKeyRef& k : AclKeysOf(*AclCommandOf(argv), argv)) out.push_back({k.pos, k.flags});
  return out;
}

TEST(AclTable, EveryRedgeCommandHasAnEntryAndItsKeysCanBeFound) {
  RegisterAllCommands();
  for (const CommandSpec* spec : AllCommands()) {
    const AclCommand* cmd = FindAclCommand(spec->name);
    ASSERT_NE(cmd, nullptr) << spec->name << " has no ACL categories (regenerate acl_table.cc "
                            << "or add it to the table if Redis 7.0 lacks it)";
    // Commands whose key specs cannot find the keys need argument parsing in acl_keys.cc.
    bool needs_parsing = false;
    for (const AclKeySpec& s : cmd->key_specs) {
      needs_parsing = needs_parsing || (s.flags & (kKeyVariableFlags | kKeyIncomplete)) ||
                      s.begin == AclKeySpec::Begin::kUnknown ||
                      s.find == AclKeySpec::Find::kUnknown;
    }
    if (needs_parsing) {
      const std::string n = spec->name;
      EXPECT_TRUE(n == "set" || n == "sort" || n == "sort_ro" || n == "bitfield")
          << n << " needs its keys found by parsing its arguments (acl_keys.cc CustomKeys)";
    }
  }
  EXPECT_EQ(FindAclCommand("CONFIG|get")->parent, FindAclCommand("config"));
  EXPECT_EQ(FindAclCommand("config|get|x"), nullptr);
  EXPECT_EQ(AclCommandOf(V({"client", "LIST"}))->name, "client|list");
  EXPECT_EQ(AclCommandOf(V({"client", "nosuch"}))->name, "client");
  EXPECT_EQ(AclCategoryByName("SortedSet"), kAclSortedset);
  EXPECT_EQ(AclCategoryByName("all"), 0u);
}

TEST(AclKeys, FromKeySpecs) {
  const uint32_t ro = kKeyRO | kKeyAccess;
  EXPECT_EQ(Keys({"get", "k"}), (std::vector<std::pair<int, uint32_t>>{{1, ro}}));
  EXPECT_EQ(Keys({"mset", "a", "1", "b", "2"}).size(), 2u);
  EXPECT_EQ(Keys({"mset", "a", "1", "b", "2"})[1].first, 3);
  auto z = Keys({"zunionstore", "dst", "2", "a", "b", "WEIGHTS", "1", "2"});
  ASSERT_EQ(z.size(), 3u);
  EXPECT_EQ(z[0], (std::pair<int, uint32_t>{1, kKeyOW | kKeyUpdate}));
  EXPECT_EQ(z[1].first, 3);
  EXPECT_EQ(z[2].first, 4);
  EXPECT_EQ(Keys({"eval", "s", "2", "k1", "k2", "arg"}).size(), 2u);
  EXPECT_TRUE(Keys({"eval", "s", "0", "arg"}).empty());
  EXPECT_TRUE(Keys({"eval", "s", "x"}).empty());  // unreadable numkeys: the command refuses
  auto b = Keys({"blmpop", "0", "2", "l1", "l2", "LEFT"});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].first, 3);
  auto x = Keys({"xread", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"});
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[0].first, 4);
  EXPECT_EQ(x[1].first, 5);
  auto lm = Keys({"lmove", "src", "dst", "LEFT", "RIGHT"});
  ASSERT_EQ(lm.size(), 2u);
  EXPECT_TRUE(lm[0].second & kKeyDelete);
  EXPECT_TRUE(lm[1].second & kKeyInsert);
}

TEST(AclKeys, ByParsingArguments) {
  EXPECT_EQ(Keys({"set", "k", "v"}),
            (std::vector<std::pair<int, uint32_t>>{{1, kKeyOW | kKeyUpdate}}));
  EXPECT_TRUE(Keys({"set", "k", "v", "EX", "5", "get"})[0].second & kKeyAccess);
  auto s = Keys({"sort", "l", "BY", "w_*", "LIMIT", "0", "1", "GET", "#", "STORE", "dst"});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1], (std::pair<int, uint32_t>{10, kKeyOW | kKeyUpdate}));
  EXPECT_EQ(Keys({"sort_ro", "l", "STORE", "x"}).size(), 1u);
}

AclUser User(std::initializer_list<const char*> ops) {
  auto r = AclUser::WithRules(AclUser("u", false), V(ops), false);
  EXPECT_TRUE(std::holds_alternative<AclUser>(r)) << std::get<std::string>(r);
  return std::get<AclUser>(r);
}

AclDenial Check(const AclUser& u, std::initializer_list<const char*> args, int* pos = nullptr) {
  int p = 0;
  AclDenial d = AclCheck(u, V(args), &p);
  if (pos) *pos = p;
  return d;
}

TEST(AclRules, CommandsKeysChannels) {
  AclUser w = User({"on", "~q:*", "%R~r:*", "%W~w:*", "&progress:*", "-@all", "+@read", "+@write",
                    "+@pubsub", "-set", "+select|0"});
  EXPECT_EQ(Check(w, {"get", "q:1"}), AclDenial::kOk);
  EXPECT_EQ(Check(w, {"set", "q:1", "v"}), AclDenial::kCommand);
  int pos = 0;
  EXPECT_EQ(Check(w, {"mget", "q:1", "r:1", "w:1"}, &pos), AclDenial::kKey);
  EXPECT_EQ(pos, 3);  // write-only: not readable
  EXPECT_EQ(Check(w, {"rpush", "w:1", "x"}), AclDenial::kOk);
  EXPECT_EQ(Check(w, {"rpush", "r:1", "x"}), AclDenial::kKey);
  EXPECT_EQ(Check(w, {"publish", "progress:1", "m"}), AclDenial::kOk);
  EXPECT_EQ(Check(w, {"publish", "other", "m"}), AclDenial::kChannel);
  EXPECT_EQ(Check(w, {"psubscribe", "progress:*"}), AclDenial::kOk);
  EXPECT_EQ(Check(w, {"psubscribe", "progress:1*"}), AclDenial::kChannel);  // literal
  EXPECT_EQ(Check(w, {"select", "0"}), AclDenial::kOk);
  EXPECT_EQ(Check(w, {"select", "1"}), AclDenial::kCommand);
  EXPECT_EQ(Check(w, {"auth", "x", "y"}), AclDenial::kOk);  // no_auth commands
  EXPECT_EQ(AclNopermError(AclDenial::kCommand, V({"CONFIG", "GET", "x"})),
            "NOPERM this user has no permissions to run the 'config|get' command");
}

TEST(AclRules, Descriptions) {
  EXPECT_EQ(AclUser::Default().Describe(), "on nopass ~* &* +@all");
  EXPECT_EQ(AclUser("n", false).Describe(), "off resetchannels -@all");
  EXPECT_EQ(User({"+@all", "-@dangerous"}).Describe(), "off resetchannels +@all -@dangerous");
  EXPECT_EQ(User({"-@all", "+@read", "+get"}).selectors()[0].DescribeCommands(), "-@all +@read");
  EXPECT_EQ(User({"+@all", "-get"}).selectors()[0].DescribeCommands(), "+@all -get");
  EXPECT_EQ(User({"-@all", "+select|0"}).selectors()[0].DescribeCommands(), "-@all +select|0");
  // Replaying a description gives the same permissions.
  AclUser u = User({"-@all", "+@read", "+@write", "-@dangerous", "+flushdb", "+client|id"});
  std::string rules = u.selectors()[0].DescribeCommands();
  AclSelector replay(0);
  std::stringstream in(rules);
  for (std::string op; in >> op;) ASSERT_EQ(replay.Apply(op), AclRuleError::kNone) << op;
  EXPECT_EQ(replay.DescribeCommands(), rules);
}

TEST(AclRules, PasswordsAndFlags) {
  AclUser u = User({"on", ">one", ">two", "<one"});
  EXPECT_FALSE(u.Authenticates("one"));
  EXPECT_TRUE(u.Authenticates("two"));
  EXPECT_FALSE(User({"off", ">two"}).Authenticates("two"));
  EXPECT_TRUE(User({"on", "nopass"}).Authenticates("anything"));
  auto bad = AclUser::WithRules(AclUser("u", false), V({"on", "<missing"}), false);
  ASSERT_TRUE(std::holds_alternative<std::string>(bad));
  EXPECT_EQ(std::get<std::string>(bad),
            "Error in ACL SETUSER modifier '<missing': The password you are trying to remove "
            "from the user does not exist");
}

TEST(AclRegistry, DefaultUserFollowsRequirepassAndLogGroups) {
  AclRegistry r;
  EXPECT_TRUE(r.default_open());
  r.SetDefaultPassword("pw");
  EXPECT_FALSE(r.default_open());
  EXPECT_TRUE(r.Default()->Authenticates("pw"));
  r.SetDefaultPassword("");
  EXPECT_TRUE(r.default_open());
  for (int i = 0; i < 3; ++i) r.AddLog(AclDenial::kKey, "toplevel", "k", "u", "info");
  r.AddLog(AclDenial::kCommand, "toplevel", "get", "u", "info");
  auto log = r.Log(10);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].object, "get");
  EXPECT_EQ(log[1].count, 3);
  r.set_log_max_len(1);
  EXPECT_EQ(r.Log(10).size(), 1u);
}

}  // namespace
}  // namespace redge::resp

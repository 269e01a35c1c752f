// PlanFileDescriptors (edge/fd_budget.h): the store's descriptors come first, connections
// share the rest, and nothing is handed out that is not there.
#include "edge/fd_budget.h"

#include <gtest/gtest.h>

namespace redge {
namespace {

TEST(FdPlan, ConfiguredLimitsKeptWhenTheyFit) {
  FdPlan p = PlanFileDescriptors(65536, 10000, 11024);
  EXPECT_FALSE(p.reduced);
  EXPECT_EQ(p.resp_max_clients, 10000);
  EXPECT_EQ(p.http_max_connections, 11024);
  EXPECT_EQ(p.store_table_files, kMaxStoreTableFiles);
  EXPECT_LE(p.reserved + p.store_table_files + p.resp_max_clients + p.http_max_connections, 65536);
}

TEST(FdPlan, LowLimitShrinksConnectionsNotTheStore) {
  FdPlan p = PlanFileDescriptors(300, 10000, 11024);
  EXPECT_TRUE(p.reduced);
  EXPECT_EQ(p.store_table_files, kMinStoreTableFiles);
  EXPECT_EQ(p.reserved + p.store_table_files + p.resp_max_clients + p.http_max_connections, 300);
  EXPECT_GT(p.resp_max_clients, 0);
  EXPECT_GT(p.http_max_connections, 0);
  // In proportion to what was asked.
  EXPECT_NEAR(static_cast<double>(p.resp_max_clients) / p.http_max_connections, 10000.0 / 11024,
              0.05);
}

TEST(FdPlan, ListenersThatAreOffGetNothing) {
  FdPlan p = PlanFileDescriptors(1024, 0, 11024);
  EXPECT_EQ(p.resp_max_clients, 0);
  EXPECT_EQ(p.reserved + p.store_table_files + p.http_max_connections, 1024);
}

TEST(FdPlan, NoRoomAtAll) {
  FdPlan p = PlanFileDescriptors(100, 10000, 11024);
  EXPECT_EQ(p.resp_max_clients, 0);
  EXPECT_EQ(p.http_max_connections, 0);
}

}  // namespace
}  // namespace redge

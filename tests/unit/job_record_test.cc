// edge/jobs/job: the owner field of job records is optional, so records written before
// owners existed (or by anything that leaves it out) keep reading.
#include <gtest/gtest.h>

#include "edge/jobs/job.h"

namespace redge::jobs {
namespace {

TEST(JobRecord, OwnerRoundTripsAndOldRecordsRead) {
  Job job;
  job.id = "j1";
  job.queue = "chat";
  job.owner = "jwt:user-1";
  auto back = Job::FromRecord(job.ToRecord());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->owner, "jwt:user-1");
  EXPECT_EQ(back->ToApi()["owner"], "jwt:user-1");

  // A record as written before owners existed: no "owner" field at all.
  const std::string old =
      R"({"id":"j0","queue":"chat","correlation_id":"c","state":"queued","attempt":1,)"
      R"("max_attempts":3,"created_at":1,"updated_at":1,"started_at":0,"finished_at":0,)"
      R"("last_event_id":1,"lease_holder":"","lease_token":"","lease_expires_at":0,)"
      R"("former_holders":[],"payload":{"p":1},"result":null,"error":"","envelope":"",)"
      R"("idempotency_key":""})";
  auto parsed = Job::FromRecord(old);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->owner, "");
  EXPECT_TRUE(parsed->ToApi()["owner"].is_null());
  // And an ownerless job is written without the field, as before.
  EXPECT_EQ(parsed->ToRecord().find("\"owner\""), std::string::npos);
}

}  // namespace
}  // namespace redge::jobs

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
}

}  // namespace
}  // namespace redge::jobs

namespace redge::jobs {
namespace {

Job FullJob() {
  Job job;
  job.id = "018bcfe5680056fa4df45b78e748e0cdff07";
  job.queue = "chat";
  job.correlation_id = "c-1";
  job.state = JobState::kRunning;
  job.attempt = 2;
  job.max_attempts = 5;
  job.created_at = 1795940079000;
  job.updated_at = 1795940079123;
  job.started_at = 1795940079100;
  job.finished_at = 0;
  job.last_event_id = 7;
  job.lease_holder = "http:127.0.0.1:5555";
  job.lease_token = "tok";
  job.lease_expires_at = 1795940139100;
  job.former_holders = {"resp:3", ""};
  job.payload = {{"prompt", "h\xC3\xA9llo"}, {"n", -3}, {"f", 1.5}};
  job.result = nullptr;
  job.error = "";
  job.envelope = R"({"id":"x"})";
  job.idempotency_key = "k";
  job.celery = {{"task", "app.add"}, {"db", 0}};
  job.owner = "key:ci";
  return job;
}

TEST(JobRecord, EveryFieldRoundTripsThroughTheBinaryRecord) {
  const Job job = FullJob();
  const std::string record = job.ToRecord();
  ASSERT_GE(record.size(), 2u);
  EXPECT_NE(record[0], '{');  // not the JSON of earlier versions
  auto back = Job::FromRecord(record);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, job.id);
  EXPECT_EQ(back->queue, job.queue);
  EXPECT_EQ(back->correlation_id, job.correlation_id);
  EXPECT_EQ(back->state, job.state);
  EXPECT_EQ(back->attempt, job.attempt);
  EXPECT_EQ(back->max_attempts, job.max_attempts);
  EXPECT_EQ(back->created_at, job.created_at);
  EXPECT_EQ(back->updated_at, job.updated_at);
  EXPECT_EQ(back->started_at, job.started_at);
  EXPECT_EQ(back->finished_at, job.finished_at);
  EXPECT_EQ(back->last_event_id, job.last_event_id);
  EXPECT_EQ(back->lease_holder, job.lease_holder);
  EXPECT_EQ(back->lease_token, job.lease_token);
  EXPECT_EQ(back->lease_expires_at, job.lease_expires_at);
  EXPECT_EQ(back->former_holders, job.former_holders);
  EXPECT_EQ(back->payload, job.payload);
  EXPECT_TRUE(back->result.is_null());
  EXPECT_EQ(back->error, job.error);
  EXPECT_EQ(back->envelope, job.envelope);
  EXPECT_EQ(back->idempotency_key, job.idempotency_key);
  EXPECT_EQ(back->celery, job.celery);
  EXPECT_EQ(back->owner, job.owner);
  // Negative numbers and every state survive too.
  Job other = job;
  other.state = JobState::kCanceled;
  other.created_at = -1;
  other.result = {{"ok", true}};
  other.celery = nullptr;
  auto again = Job::FromRecord(other.ToRecord());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->state, JobState::kCanceled);
  EXPECT_EQ(again->created_at, -1);
  EXPECT_EQ(again->result, other.result);
  EXPECT_FALSE(again->is_celery());
}

// An upgrade: the JSON records of earlier versions still read, field for field, and the
// next save writes the binary form.
TEST(JobRecord, JsonRecordsOfEarlierVersionsStillRead) {
  const std::string old =
      R"({"id":"j0","queue":"chat","correlation_id":"c","state":"completed","attempt":2,)"
      R"("max_attempts":3,"created_at":1,"updated_at":5,"started_at":2,"finished_at":5,)"
      R"("last_event_id":4,"lease_holder":"","lease_token":"","lease_expires_at":0,)"
      R"("former_holders":["w1"],"payload":{"p":1},"result":{"answer":42},"error":"",)"
      R"("envelope":"","idempotency_key":"idem","owner":"jwt:u"})";
  auto job = Job::FromRecord(old);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->state, JobState::kCompleted);
  EXPECT_EQ(job->attempt, 2);
  EXPECT_EQ(job->former_holders, std::vector<std::string>{"w1"});
  EXPECT_EQ(job->result, nlohmann::json({{"answer", 42}}));
  EXPECT_EQ(job->idempotency_key, "idem");
  EXPECT_EQ(job->owner, "jwt:u");
  auto resaved = Job::FromRecord(job->ToRecord());
  ASSERT_TRUE(resaved.has_value());
  EXPECT_EQ(resaved->ToApi(), job->ToApi());
}

TEST(JobRecord, DamagedOrUnknownRecordsAreRefusedNotMisread) {
  const std::string record = FullJob().ToRecord();
  // Every truncation is refused (the fields are read in order; none is optional).
  for (size_t n = 0; n < record.size(); ++n) {
    EXPECT_FALSE(Job::FromRecord(record.substr(0, n)).has_value()) << "prefix " << n;
  }
  // A later version's record is not guessed at.
  std::string later = record;
  later[1] = '\x02';
  EXPECT_FALSE(Job::FromRecord(later).has_value());
  // Extensions appended by a later version 1 writer are skipped.
  std::string extended = record;
  extended += std::string("\x05\x03xyz", 5);
  auto read = Job::FromRecord(extended);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->owner, "key:ci");
  // A state byte out of range, and garbage, are refused.
  std::string bad_state = Job{}.ToRecord();
  EXPECT_FALSE(Job::FromRecord(bad_state).has_value());  // no id
  EXPECT_FALSE(Job::FromRecord(std::string("\xB7\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 12))
                   .has_value());
  EXPECT_FALSE(Job::FromRecord("not a record").has_value());
}

}  // namespace
}  // namespace redge::jobs

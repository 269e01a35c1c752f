// ChannelsApi: browsers read durable channels (edge/jobs/durable_channels.h) over HTTP:
//   GET /v1/channels/{channel}/events          SSE: `id:` = the message's stream id,
//                                              Last-Event-ID / ?after= resume, heartbeats,
//                                              `retry:`, an explicit `missed` event
//   GET /v1/channels/{channel}/messages?after=ID&wait=S   the long-poll fallback
// docs/channels.md is the user's view. Both readers are parked exchanges woken by the
// channel's watcher (never a timer re-reading the store); they share --sse-max-streams,
// the heartbeat, graceful drain and the HTTP auth (the server filter) with the job routes.
//
// Thread-safety: Register() once before the server starts.
#pragma once

#include <memory>
#include <string>

#include "edge/http/http_server.h"
#include "edge/http/jobs_api.h"
#include "edge/jobs/durable_channels.h"

namespace redge::http {

class ChannelsApi {
 public:
  // `channels` and `jobs_api` must outlive the HTTP server.
  ChannelsApi(jobs::DurableChannels* channels, JobsApi* jobs_api, JobsApiOptions options);
  void Register(HttpServer& server);

 private:
  void Events(Request& req, std::shared_ptr<Exchange> ex);
  void Messages(Request& req, std::shared_ptr<Exchange> ex);
  // Replies 404/400 and returns false when `channel` is not a durable channel.
  bool CheckChannel(const std::string& channel, Exchange& ex, const std::string& corr);

  jobs::DurableChannels* channels_;
  JobsApi* api_;
  JobsApiOptions options_;
};

}  // namespace redge::http

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "edge/http/static_assets.h"

namespace redge::http {
namespace {

constexpr std::string_view kClientJs = "client.js";
constexpr std::string_view kIndexHtml = "index.html";

// True when an If-None-Match list names `etag` (or is "*"). Weak tags match too
// (RFC 9110 13.1.2: If-None-Match uses the weak comparison).
bool NoneMatchHits(std::string_view header, std::string_view etag) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    std::string_view tag =
        header.substr(pos, comma == std::string_view::npos ? header.npos : comma - pos);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

void Serve(const StaticAsset* asset, Request& req, Exchange& ex) {
  Response r;
  if (asset == nullptr) {
    r.status = 404;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"error":{"code":"not_found","message":"no such file"}})"
             "\n";
    ex.Reply(std::move(r));
    return;
  }
  r.headers = {{"ETag", std::string(asset->etag)},
               {"Cache-Control", "no-cache"},
               {"X-Content-Type-Options", "nosniff"}};
  if (asset->content_type.rfind("text/html", 0) == 0) {
    r.headers.emplace_back("Content-Security-Policy", std::string(kDashboardCsp));
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  if (auto inm = req.Header("if-none-match"); inm && NoneMatchHits(*inm, asset->etag)) {
    r.status = 304;
  } else {
    r.headers.emplace_back("Content-Type", std::string(asset->content_type));
    r.body = std::string(asset->body);
  }
  ex.Reply(std::move(r));
}

bool IsPreflight(const Request& req) {
  return req.method == "OPTIONS" && req.Header("origin") &&
         req.Header("access-control-request-method");
}

}  // namespace

const StaticAsset* FindStaticAsset(std::string_view name) {
  for (size_t i = 0; i < kStaticAssetCount; ++i) {
    if (kStaticAssets[i].name == name) return &kStaticAssets[i];
  }
  return nullptr;
}

bool IsStaticPath(std::string_view path) {
  return path == "/v1/client.js" || path == "/ui" || path == "/ui/" ||
         (path.substr(0, 4) == "/ui/" && path.find('/', 4) == std::string_view::npos);
}

void RegisterStaticRoutes(HttpServer& server) {
  server.Route("GET", "/v1/client.js", [](Request& req, std::shared_ptr<Exchange> ex) {
    Serve(FindStaticAsset(kClientJs), req, *ex);
  });
  server.Route("GET", "/ui", [](Request& req, std::shared_ptr<Exchange> ex) {
    Serve(FindStaticAsset(kIndexHtml), req, *ex);
  });
  server.Route("GET", "/ui/", [](Request& req, std::shared_ptr<Exchange> ex) {
    Serve(FindStaticAsset(kIndexHtml), req, *ex);
  });
  server.Route("GET", "/ui/{file}", [](Request& req, std::shared_ptr<Exchange> ex) {
    const std::string& file = req.params[0];
    Serve(FindStaticAsset(file.empty() ? kIndexHtml : std::string_view(file)), req, *ex);
  });
}

std::optional<Response> ApplyCors(const std::vector<std::string>& allowed_origins, Request& req) {
  auto origin = req.Header("origin");
  bool allowed = origin && std::find(allowed_origins.begin(), allowed_origins.end(), *origin) !=
                               allowed_origins.end();
  // With CORS off (empty list) nothing varies by Origin and no header is added.
  if (!allowed_origins.empty()) req.response_headers.emplace_back("Vary", "Origin");
  if (allowed) {
    req.response_headers.emplace_back("Access-Control-Allow-Origin", std::string(*origin));
    req.response_headers.emplace_back("Access-Control-Expose-Headers", "X-Correlation-ID");
  }
  if (!IsPreflight(req)) return std::nullopt;
  Response r;
  if (!allowed) {
    r.status = 403;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"error":{"code":"forbidden","message":"origin not allowed"}})"
             "\n";
    return r;
  }
  r.status = 204;
  r.headers = {{"Access-Control-Allow-Methods", "GET, POST, DELETE"},
               {"Access-Control-Allow-Headers",
                "Authorization, Content-Type, Idempotency-Key, X-Correlation-ID, Last-Event-ID"},
               {"Access-Control-Max-Age", "600"}};
  return r;
}

}  // namespace redge::http

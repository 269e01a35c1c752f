// Static browser files (edge/http/static/*: client.js, the /ui dashboard) compiled into
// the binary by embed_static.cmake, and the routes and CORS filter that serve them.
//
// Thread-safety: the asset table is immutable; the functions keep no state.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edge/http/http_server.h"

namespace redge::http {

struct StaticAsset {
  std::string_view name;          // file name under edge/http/static/, e.g. "client.js"
  std::string_view content_type;  // from the extension, with charset for text
  std::string_view etag;          // quoted strong validator: a prefix of the SHA-256
  std::string_view body;
};

// The embedded files, in file-name order (defined in the generated static_assets_data.cc).
extern const StaticAsset kStaticAssets[];
extern const size_t kStaticAssetCount;

// The asset called `name`, or null.
const StaticAsset* FindStaticAsset(std::string_view name);

// The handler of one of the static routes: "/v1/client.js", "/ui" and "/ui/" (index.html)
// and "/ui/{file}". Responses carry ETag, `Cache-Control: no-cache` (revalidate;
// If-None-Match gets 304) and, for HTML, the Content-Security-Policy kDashboardCsp. The
// routes are public (JobsApi registers them so): a browser navigating to /ui cannot send a
// token, and the files hold no data.
Handler StaticRouteHandler(std::string_view route);

inline constexpr std::string_view kDashboardCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'";

// CORS for the `cors-origins` allow-list (exact origins such as "https://app.example").
// A request whose Origin is listed gets Access-Control-Allow-Origin (that origin),
// Access-Control-Expose-Headers: X-Correlation-ID, through req.response_headers; every
// request gets `Vary: Origin` while the list is non-empty. A preflight (OPTIONS with
// Origin and Access-Control-Request-Method) is answered here, before auth: 204 with the
// allowed methods and headers for a listed origin, 403 otherwise (also with CORS off). Returns that
// answer, or nullopt to go on.
std::optional<Response> ApplyCors(const std::vector<std::string>& allowed_origins, Request& req);

}  // namespace redge::http

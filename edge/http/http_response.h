// Response serialization for HttpServer: status lines, the server-owned headers (Date,
// Content-Length, Transfer-Encoding, Connection), chunk framing and the JSON error bodies
// of the server's own error statuses. Internal to edge/http.
#pragma once

#include <string>
#include <string_view>

#include "edge/http/http_server.h"

namespace redge::http::internal {

// "OK", "Not Found", ...; "Unknown" for codes without a standard phrase.
std::string_view ReasonPhrase(int status);

// `{"error":{"code":code,"message":message}}` as application/json.
Response ErrorResponse(int status, std::string_view code, std::string_view message);

// True if `headers` holds "Connection: close" (the handler asks to close after replying).
bool WantsClose(const Headers& headers);

// Appends a complete response. `close` adds "Connection: close"; HTTP/1.0 keep-alive
// responses get "Connection: keep-alive". `head` keeps Content-Length but omits the body.
void AppendResponse(std::string* out, const Response& response, int minor_version, bool close,
                    bool head);
// Appends the head of a streamed response: chunked for HTTP/1.1, raw body until close for
// HTTP/1.0; always "Connection: close" (a stream is a connection's last response).
void AppendStreamHead(std::string* out, int status, const Headers& headers, int minor_version);
// Appends one stream write: a chunk for HTTP/1.1, the bytes as they are for HTTP/1.0.
void AppendChunk(std::string* out, std::string_view bytes, bool chunked);

}  // namespace redge::http::internal

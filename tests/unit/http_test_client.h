// A blocking HTTP/1.1 test client for the edge/http tests: sends raw bytes, reads
// responses (Content-Length, chunked, or until close) and notices when the server closes.
// Sockets have a 5 s receive timeout, so a broken server fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redge::http::testing_http {

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::vector<std::string> chunks;  // a chunked body's chunks, in order

  std::optional<std::string> Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

class Client {
 public:
  // `rcvbuf` > 0 shrinks the receive buffer (set before connect so the window is small).
  explicit Client(int port, int rcvbuf = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { Close(); }

  bool connected() const { return connected_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads more bytes into the buffer; false on EOF, error or timeout.
  bool ReadMore() {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    buf_.append(buf, static_cast<size_t>(n));
    return true;
  }

  // Exactly `n` bytes (fewer if the connection ends).
  std::string ReadExactly(size_t n) {
    while (buf_.size() < n && ReadMore()) {
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, out.size());
    return out;
  }

  // Everything until the peer closes.
  std::string ReadUntilEof() {
    while (ReadMore()) {
    }
    return std::exchange(buf_, "");
  }

  // True if the server closes the connection (EOF or reset) within the receive timeout,
  // discarding what arrives before.
  bool WaitEof() {
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

  // One response; nullopt if the connection ended first. `head`: a response to HEAD.
  std::optional<ClientResponse> ReadResponse(bool head = false) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore()) return std::nullopt;
    }
    ClientResponse r;
    std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    if (status_line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      size_t start = line_end + 2;
      line_end = head_text.find("\r\n", start);
      std::string line = head_text.substr(start, line_end - start);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(tolower(c));
      r.headers.emplace_back(name, line.substr(line.find_first_not_of(' ', colon + 1)));
    }
    if (head || r.status < 200 || r.status == 204 || r.status == 304) return r;
    if (r.Header("transfer-encoding") == "chunked") {
      while (true) {
        size_t nl;
        while ((nl = buf_.find("\r\n")) == std::string::npos) {
          if (!ReadMore()) return std::nullopt;
        }
        size_t size = std::stoul(buf_.substr(0, nl), nullptr, 16);
        buf_.erase(0, nl + 2);
        std::string data = ReadExactly(size + 2);
        if (data.size() != size + 2 || data.substr(size) != "\r\n") return std::nullopt;
        if (size == 0) break;
        r.chunks.push_back(data.substr(0, size));
        r.body += r.chunks.back();
      }
    } else if (auto cl = r.Header("content-length")) {
      r.body = ReadExactly(std::stoul(*cl));
    } else {
      r.body = ReadUntilEof();
    }
    return r;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

}  // namespace redge::http::testing_http

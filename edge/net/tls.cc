#include "edge/net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>

#include "edge/log.h"

namespace redge::net {

using store::Status;

namespace {

// The oldest queued OpenSSL error as text, and the queue cleared (it is per thread: a
// stale entry would be blamed on the next connection of this loop).
std::string TakeSslError() {
  unsigned long e = ERR_get_error();
  std::string out;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out = buf;
  }
  ERR_clear_error();
  return out.empty() ? "unknown OpenSSL error" : out;
}

// Mozilla's "intermediate" TLS 1.2 suites: ECDHE key exchange, AEAD ciphers.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace

store::Result<std::shared_ptr<SSL_CTX>> TlsContext::Build() const {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Status::InvalidArgument("TLS: cannot create a context: " + TakeSslError());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                             SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes and a moving buffer: connections write from a growing std::string and
  // resume where the socket stopped. Idle connections give their buffers back.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) {
    return Status::InvalidArgument("TLS: cipher list refused: " + TakeSslError());
  }
  if (SSL_CTX_use_certificate_chain_file(c, options_.cert_file.c_str()) != 1) {
    return Status::InvalidArgument("TLS: cannot load the certificate " + options_.cert_file + ": " +
                                   TakeSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(c, options_.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::InvalidArgument("TLS: cannot load the private key " + options_.key_file + ": " +
                                   TakeSslError());
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return Status::InvalidArgument("TLS: the private key " + options_.key_file +
                                   " does not match the certificate " + options_.cert_file);
  }
  static const unsigned char kSessionContext[] = "redge";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof(kSessionContext) - 1);
  if (!options_.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, options_.client_ca_file.c_str(), nullptr) != 1) {
      return Status::InvalidArgument("TLS: cannot load the client CA " + options_.client_ca_file +
                                     ": " + TakeSslError());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options_.client_ca_file.c_str());
    if (names == nullptr) {
      return Status::InvalidArgument("TLS: no CA certificate in " + options_.client_ca_file);
    }
    SSL_CTX_set_client_CA_list(c, names);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  ERR_clear_error();
  return ctx;
}

store::Result<std::shared_ptr<TlsContext>> TlsContext::Create(Options options) {
  std::shared_ptr<TlsContext> tls(new TlsContext(std::move(options)));
  auto ctx = tls->Build();
  if (!ctx.ok()) return ctx.status();
  tls->ctx_ = std::move(ctx.value());
  return tls;
}

Status TlsContext::Reload() {
  auto ctx = Build();
  if (!ctx.ok()) return ctx.status();
  std::lock_guard lock(mu_);
  ctx_ = std::move(ctx.value());
  return Status::OK();
}

SSL* TlsContext::NewSession(int fd) const {
  std::shared_ptr<SSL_CTX> ctx;
  {
    std::lock_guard lock(mu_);
    ctx = ctx_;
  }
  SSL* ssl = SSL_new(ctx.get());  // holds its own reference to the context
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    Log(spdlog::level::err, "TLS: cannot create a session", {{"error", TakeSslError()}});
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  return ssl;
}

std::string TlsContext::Describe() const {
  std::shared_ptr<SSL_CTX> ctx;
  {
    std::lock_guard lock(mu_);
    ctx = ctx_;
  }
  X509* cert = SSL_CTX_get0_certificate(ctx.get());
  if (cert == nullptr) return "?";
  char name[256] = "?";
  X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof(name));
  std::string out = name;
  struct tm t {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) == 1) {
    char when[32];
    std::strftime(when, sizeof(when), "%Y-%m-%d", &t);
    out += std::string(" (expires ") + when + ")";
  }
  if (!options_.client_ca_file.empty()) out += ", client certificates required";
  return out;
}

Transport::~Transport() { Reset(); }

void Transport::Init(int fd, SSL* ssl) {
  Reset();
  fd_ = fd;
  ssl_ = ssl;
}

void Transport::Reset() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  ssl_ = nullptr;
  read_wants_write_ = write_wants_read_ = false;
}

ssize_t Transport::Read(char* buf, size_t len) {
  if (ssl_ == nullptr) {
    while (true) {
      ssize_t n = ::recv(fd_, buf, len, 0);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? kWouldBlock : kError;
    }
  }
  read_wants_write_ = false;
  size_t got = 0;
  while (got < len) {
    const int n = SSL_read(ssl_, buf + got, static_cast<int>(std::min<size_t>(len - got, 1 << 30)));
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ) break;
    if (err == SSL_ERROR_WANT_WRITE) {
      read_wants_write_ = true;
      break;
    }
    if (got > 0) break;  // deliver what came; the error shows on the next read
    if (err == SSL_ERROR_ZERO_RETURN) {
      ERR_clear_error();
      return kEof;
    }
    if (err == SSL_ERROR_SYSCALL && errno == EINTR) continue;
    // A failed handshake (a plain-text client, an untrusted client certificate, an old
    // protocol) or a broken connection: the peer gets nothing more.
    if (LogEnabled(spdlog::level::debug)) {
      Log(spdlog::level::debug, "TLS: connection failed", {{"error", TakeSslError()}});
    }
    ERR_clear_error();
    return kError;
  }
  return got > 0 ? static_cast<ssize_t>(got) : kWouldBlock;
}

bool Transport::SendPending(const std::string& out, size_t* pos, int64_t* sent) {
  if (ssl_ == nullptr) {
    while (*pos < out.size()) {
      ssize_t n = ::send(fd_, out.data() + *pos, out.size() - *pos, MSG_NOSIGNAL);
      if (n > 0) {
        *pos += static_cast<size_t>(n);
        if (sent) *sent += n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    return true;
  }
  write_wants_read_ = false;
  while (*pos < out.size()) {
    // The same bytes are offered again after WANT_*: *pos only moves on success.
    const size_t left = std::min<size_t>(out.size() - *pos, 1 << 30);
    const int n = SSL_write(ssl_, out.data() + *pos, static_cast<int>(left));
    if (n > 0) {
      *pos += static_cast<size_t>(n);
      if (sent) *sent += n;
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_WRITE) return true;
    if (err == SSL_ERROR_WANT_READ) {
      write_wants_read_ = true;
      return true;
    }
    if (err == SSL_ERROR_SYSCALL && errno == EINTR) continue;
    ERR_clear_error();
    return false;
  }
  return true;
}

uint32_t Transport::ExtraInterest() const {
  return (read_wants_write_ ? EPOLLOUT : 0u) | (write_wants_read_ ? EPOLLIN : 0u);
}

bool Transport::HasBufferedInput() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

void Transport::ShutdownWrite() {
  if (ssl_ != nullptr && SSL_is_init_finished(ssl_)) {
    (void)SSL_shutdown(ssl_);  // queues close_notify; a full socket just loses it
    ERR_clear_error();
  }
  ::shutdown(fd_, SHUT_WR);
}

}  // namespace redge::net

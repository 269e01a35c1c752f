// TLS for both listeners (--tls-cert, --tls-key, --tls-client-ca): a reloadable server
// context, and Transport, the non-blocking byte pipe every connection reads and writes
// through (plain socket calls, or OpenSSL over them).
//
// TLS 1.2 and 1.3 only; TLS 1.2 with ECDHE and AEAD ciphers only (forward secrecy), no
// renegotiation, no compression. With a client CA, a client must present a certificate it
// signed (mutual TLS): that admits the connection; what it may do is still decided by its
// credentials (ACL user, bearer token).
//
// Nothing blocks an event loop: the handshake runs inside the first reads and writes, and a
// step that needs the socket the other way round (a read that must write handshake bytes,
// a write waiting for the peer's) is reported through ExtraInterest() so the connection asks
// epoll for it.
//
// Thread-safety: TlsContext is safe from any thread (Reload swaps the context under a mutex;
// connections keep the context they started with). A Transport belongs to its connection's
// loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "store/status.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace redge::net {

class TlsContext {
 public:
  struct Options {
    std::string cert_file;       // PEM chain, leaf first
    std::string key_file;        // PEM private key of the leaf
    std::string client_ca_file;  // PEM CAs for client certificates; empty: none asked for
  };
  // Loads the files; errors name the file and OpenSSL's reason.
  static store::Result<std::shared_ptr<TlsContext>> Create(Options options);
  // Re-reads the files (SIGHUP: a renewed certificate). On error the previous context
  // stays in use and the error is returned. New connections use the new one.
  store::Status Reload();
  // A server-side session for the accepted socket `fd`, or null (logged) when OpenSSL
  // cannot make one. The caller owns it (Transport frees it).
  SSL* NewSession(int fd) const;
  // "CN=... (expires 2026-01-01)" of the certificate in use, for logs.
  std::string Describe() const;

 private:
  explicit TlsContext(Options options) : options_(std::move(options)) {}
  store::Result<std::shared_ptr<SSL_CTX>> Build() const;

  const Options options_;
  mutable std::mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_;
};

class Transport {
 public:
  // Results of Read() besides a byte count.
  static constexpr ssize_t kEof = 0;          // the peer closed its side
  static constexpr ssize_t kWouldBlock = -1;  // nothing now; wait for ExtraInterest() | EPOLLIN
  static constexpr ssize_t kError = -2;       // the connection is broken (or TLS failed)

  Transport() = default;
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Plain socket `fd`, or TLS over it when `ssl` is not null (takes ownership).
  void Init(int fd, SSL* ssl);
  // Frees the TLS session (at close; the caller closes the socket).
  void Reset();
  bool tls() const { return ssl_ != nullptr; }

  // Reads up to `len` bytes into `buf` (filling it when more is there).
  ssize_t Read(char* buf, size_t len);
  // Sends out[*pos, end) until done or the socket would block, advancing *pos and adding
  // the bytes sent to *sent (if given); false when the connection is broken.
  bool SendPending(const std::string& out, size_t* pos, int64_t* sent = nullptr);
  // Epoll events TLS needs besides the connection's own: EPOLLOUT while a read waits to
  // write handshake bytes, EPOLLIN while a write waits for the peer's.
  uint32_t ExtraInterest() const;
  // The last Read() stopped because TLS must write first: retry it once writable.
  bool read_wants_write() const { return read_wants_write_; }
  // Decrypted bytes held inside OpenSSL, which epoll cannot signal: read them without
  // waiting for the socket.
  bool HasBufferedInput() const;
  // Our side is done writing: a TLS close_notify (best effort), then shutdown(SHUT_WR).
  void ShutdownWrite();

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool read_wants_write_ = false;
  bool write_wants_read_ = false;
};

}  // namespace redge::net

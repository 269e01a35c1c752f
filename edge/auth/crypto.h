// The few cryptographic primitives access control needs, over OpenSSL's libcrypto:
// SHA-256 (API keys and ACL passwords are stored as their hashes), HMAC-SHA256 (stream
// tokens, JWT HS256), random bytes (keys, ids) and the encodings tokens use.
//
// Thread-safety: pure functions; OpenSSL 3's one-shot digests and RAND_bytes are
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace redge::auth {

// The raw 32-byte SHA-256 of `data`.
std::string Sha256(std::string_view data);
// Lower-case hex of SHA-256(`data`) (64 characters), the form API key files and
// ACL passwords (`#<hash>`) use.
std::string Sha256Hex(std::string_view data);
// The raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);
// `n` bytes from the OS's cryptographic generator (OpenSSL's RAND_bytes). Aborts the
// process if the generator fails: a guessable key must never be handed out.
std::string RandomBytes(size_t n);

std::string HexEncode(std::string_view bytes);
// Lower- or upper-case hex; nullopt for an odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view hex);
// True for exactly 64 lower-case hex characters (a SHA-256 as API key files hold it).
bool IsSha256Hex(std::string_view s);

// Base64url without padding (RFC 4648 section 5), as JWTs use it.
std::string Base64UrlEncode(std::string_view bytes);
// Decodes base64url; padding ('=') is accepted at the end only. nullopt for any other
// character, a bad length or non-zero trailing bits.
std::optional<std::string> Base64UrlDecode(std::string_view text);
// Standard base64 (RFC 4648 section 4, with padding), as x5c certificates use it.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace redge::auth

// SHA-1 (FIPS 180-4), for the script cache: Redis names a Lua script by the SHA-1 of its
// body (EVALSHA, SCRIPT LOAD) and exposes the same digest as redis.sha1hex(). Not for
// security uses.
//
// Thread-safety: Sha1 objects are not shared; Sha1Hex is a pure function.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace redge::base {

class Sha1 {
 public:
  Sha1();
  void Update(const void* data, size_t len);
  // The 20-byte digest; the object must not be updated afterwards.
  std::array<uint8_t, 20> Final();

 private:
  void Block(const uint8_t* p);

  uint32_t h_[5];
  uint64_t bytes_ = 0;
  uint8_t buf_[64];
  size_t used_ = 0;
};

// The digest of `data` as 40 lower-case hexadecimal characters.
std::string Sha1Hex(std::string_view data);

}  // namespace redge::base

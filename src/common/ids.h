// Identifiers: ULIDs for server message ids, derived 1:1 conversation ids,
// and validation of user-supplied ids.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>

namespace flare {

// Randomness behind a seam, like time.
class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t Next() = 0;
};

class SystemRandom final : public Random {
 public:
  SystemRandom();
  uint64_t Next() override { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

// 26-character Crockford base32 ULID: 48-bit millisecond time + 80 random bits.
std::string MakeUlid(int64_t time_ms, Random& random);

// User, device and tenant ids: 1..128 chars of [A-Za-z0-9_.@-].
bool IsValidId(std::string_view id);

// A client's request_id: at most kMaxRequestIdBytes of printable ASCII
// (space to '~'); empty is allowed (no reply is correlated).
inline constexpr size_t kMaxRequestIdBytes = 128;
bool IsValidRequestId(std::string_view id);

// The id of the 1:1 conversation between two users, the same from both
// sides: "single:<lower>:<higher>".
std::string SingleConversationId(std::string_view a, std::string_view b);

// The two users of a 1:1 conversation id, or nullopt if `id` is not one.
std::optional<std::pair<std::string, std::string>> ParseSingleConversationId(std::string_view id);

// tenant + "\n" + conversation id: a map key for a conversation of a tenant.
std::string ConversationKey(const std::string& tenant, const std::string& conversation_id);

}  // namespace flare

#include "common/ids.h"

namespace flare {

SystemRandom::SystemRandom() : engine_(std::random_device{}()) {}

std::string MakeUlid(int64_t time_ms, Random& random) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string out(26, '0');
  uint64_t t = static_cast<uint64_t>(time_ms) & ((uint64_t{1} << 48) - 1);
  for (int i = 9; i >= 0; --i) {
    out[i] = kAlphabet[t & 31];
    t >>= 5;
  }
  // 80 random bits: 16 characters of 5 bits.
  uint64_t hi = random.Next(), lo = random.Next();
  for (int i = 0; i < 16; ++i) {
    uint64_t& src = i < 12 ? hi : lo;
    out[10 + i] = kAlphabet[src & 31];
    src >>= 5;
  }
  return out;
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidRequestId(std::string_view id) {
  if (id.size() > kMaxRequestIdBytes) return false;
  for (char c : id) {
    if (c < ' ' || c > '~') return false;
  }
  return true;
}

std::string SingleConversationId(std::string_view a, std::string_view b) {
  if (b < a) std::swap(a, b);
  std::string id = "single:";
  id.append(a).append(":").append(b);
  return id;
}

std::optional<std::pair<std::string, std::string>> ParseSingleConversationId(std::string_view id) {
  constexpr std::string_view kPrefix = "single:";
  if (id.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  id.remove_prefix(kPrefix.size());
  auto colon = id.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string a(id.substr(0, colon)), b(id.substr(colon + 1));
  if (!IsValidId(a) || !IsValidId(b) || !(a <= b)) return std::nullopt;
  return std::make_pair(std::move(a), std::move(b));
}

std::string ConversationKey(const std::string& tenant, const std::string& conversation_id) {
  std::string key;
  key.reserve(tenant.size() + conversation_id.size() + 1);
  key.append(tenant).append(1, '\n').append(conversation_id);
  return key;
}

}  // namespace flare

#include "common/redis_url.h"

#include <charconv>

namespace flare {
namespace {

bool ParseInt(const std::string& s, int min, int max, int& out) {
  if (s.empty()) return false;
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max) return false;
  out = v;
  return true;
}

}  // namespace

Result<RedisUrl> ParseRedisUrl(const std::string& url) {
  static const std::string kScheme = "redis://";
  auto bad = [&](const std::string& why) {
    return InvalidArgument("redis url '" + url + "': " + why +
                           " (expected redis://[[user]:password@]host[:port][/db])");
  };
  if (url.rfind(kScheme, 0) != 0) return bad("must start with redis://");
  std::string rest = url.substr(kScheme.size());
  RedisUrl out;
  auto at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string::npos) return bad("credentials need ':' before the password");
    out.user = userinfo.substr(0, colon);
    out.password = userinfo.substr(colon + 1);
  }
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    if (!db.empty() && !ParseInt(db, 0, 1'000'000, out.db)) return bad("bad database number");
  }
  auto colon = hostport.rfind(':');
  if (colon != std::string::npos && hostport.find(']') == std::string::npos) {
    if (!ParseInt(hostport.substr(colon + 1), 1, 65535, out.port)) return bad("bad port");
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return bad("missing host");
  out.host = hostport;
  return out;
}

}  // namespace flare

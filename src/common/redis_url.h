// Parses presence.redis.url: redis://[[user]:password@]host[:port][/db].
// Shared by config validation and the Redis adapter.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace flare {

struct RedisUrl {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;      // empty: AUTH with the password alone
  std::string password;  // empty: no AUTH
};

Result<RedisUrl> ParseRedisUrl(const std::string& url);

}  // namespace flare

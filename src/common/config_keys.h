// The table of every configuration key: its name, what it sets in Config,
// its bounds or choices and any extra check. Used by config.cc (loading,
// FLARE_* variables, `flare config`); kept apart because it is long and
// only grows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/endpoints.h"

namespace flare::config_internal {

struct KeyDef {
  const char* key;
  const char* description;
  // Exactly one of these is set.
  int64_t Config::*int_field = nullptr;
  std::string Config::*string_field = nullptr;
  int64_t min = 0;
  int64_t max = 0;
  std::vector<std::string> choices = {};          // empty: any string
  Status (*check)(const std::string&) = nullptr;  // extra validation of a string
  ServiceEndpoints Config::*services_field = nullptr;
};

const std::vector<KeyDef>& Keys();

}  // namespace flare::config_internal

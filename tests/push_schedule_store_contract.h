// The contract every PushScheduleStore adapter passes (the TEST_Ps are in
// push_schedule_store_contract.cc). A test binary instantiates
// PushScheduleStoreContract with a name and a factory per adapter; each
// factory call returns an empty store of its own.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "ports/push_schedule_store.h"

namespace flare {

using PushScheduleStoreFactory = std::function<std::shared_ptr<PushScheduleStore>()>;

inline void PrintTo(const PushScheduleStoreFactory&, std::ostream* os) { *os << "factory"; }

class PushScheduleStoreContract
    : public ::testing::TestWithParam<std::pair<std::string, PushScheduleStoreFactory>> {
 protected:
  void SetUp() override { ASSERT_NE(store_, nullptr) << "backend " << GetParam().first; }

  std::shared_ptr<PushScheduleStore> store_ = GetParam().second();
};

}  // namespace flare

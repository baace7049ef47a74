// The contract every DeviceStore adapter passes (the TEST_Ps are in
// device_store_contract.cc). A test binary instantiates DeviceStoreContract
// with a name and a factory per adapter; each factory call returns an empty
// store of its own.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "ports/device_store.h"

namespace flare {

using DeviceStoreFactory = std::function<std::shared_ptr<DeviceStore>()>;

inline void PrintTo(const DeviceStoreFactory&, std::ostream* os) { *os << "factory"; }

class DeviceStoreContract
    : public ::testing::TestWithParam<std::pair<std::string, DeviceStoreFactory>> {
 protected:
  void SetUp() override { ASSERT_NE(store_, nullptr) << "backend " << GetParam().first; }

  std::shared_ptr<DeviceStore> store_ = GetParam().second();
};

}  // namespace flare

// The contract every ObjectStore adapter passes (the TEST_Ps are in
// object_store_contract.cc). A test binary instantiates ObjectStoreContract
// with a name and a factory per adapter; each factory call returns an
// empty store of its own.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "ports/object_store.h"

namespace flare {

using ObjectStoreFactory = std::function<std::shared_ptr<ObjectStore>()>;

inline void PrintTo(const ObjectStoreFactory&, std::ostream* os) { *os << "factory"; }

class ObjectStoreContract
    : public ::testing::TestWithParam<std::pair<std::string, ObjectStoreFactory>> {
 protected:
  void SetUp() override { ASSERT_NE(store_, nullptr) << "backend " << GetParam().first; }

  std::shared_ptr<ObjectStore> store_ = GetParam().second();
};

}  // namespace flare

// The contract every ObjectStore adapter passes (the TEST_Ps are in
// object_store_contract.cc). A test binary instantiates ObjectStoreContract
// with a name and a factory per adapter; each factory call returns an
// empty store of its own.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "ports/object_store.h"

namespace flare {

using ObjectStoreFactory = std::function<std::shared_ptr<ObjectStore>()>;

inline void PrintTo(const ObjectStoreFactory&, std::ostream* os) { *os << "factory"; }

// Contract tests a backend's test server cannot run, by {backend name,
// test name}, with why (e.g. s3rver lacks ListParts). A test binary fills
// it before the tests run; they are skipped, saying why.
inline std::map<std::pair<std::string, std::string>, std::string>& ObjectStoreContractGaps() {
  static std::map<std::pair<std::string, std::string>, std::string> gaps;
  return gaps;
}

class ObjectStoreContract
    : public ::testing::TestWithParam<std::pair<std::string, ObjectStoreFactory>> {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    test = test.substr(0, test.find('/'));
    auto gap = ObjectStoreContractGaps().find({GetParam().first, test});
    if (gap != ObjectStoreContractGaps().end()) GTEST_SKIP() << gap->second;
    ASSERT_NE(store_, nullptr) << "backend " << GetParam().first;
  }

  std::shared_ptr<ObjectStore> store_ = GetParam().second();
};

}  // namespace flare

// The contract every MediaStore adapter passes (the TEST_Ps are in
// media_store_contract.cc). A test binary instantiates MediaStoreContract
// with a name and a factory per adapter; each factory call returns an
// empty store of its own.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "ports/media_store.h"

namespace flare {

using MediaStoreFactory = std::function<std::shared_ptr<MediaStore>()>;

inline void PrintTo(const MediaStoreFactory&, std::ostream* os) { *os << "factory"; }

class MediaStoreContract
    : public ::testing::TestWithParam<std::pair<std::string, MediaStoreFactory>> {
 protected:
  void SetUp() override { ASSERT_NE(store_, nullptr) << "backend " << GetParam().first; }

  std::shared_ptr<MediaStore> store_ = GetParam().second();
};

}  // namespace flare

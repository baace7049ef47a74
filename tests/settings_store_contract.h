// The contract every SettingsStore adapter passes (the TEST_Ps are in
// settings_store_contract.cc). A test binary instantiates
// SettingsStoreContract with a name and a factory per adapter; each
// factory call returns an empty store of its own, and `reopen` (when set)
// a second handle on the same storage, as another process would have.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "ports/settings_store.h"

namespace flare {

struct SettingsStoreBackend {
  std::string name;
  // An empty store of its own, and a function that opens another handle
  // on that same storage (null for memory, which has no second handle).
  std::function<
      std::pair<std::shared_ptr<SettingsStore>, std::function<std::shared_ptr<SettingsStore>()>>()>
      open;
};

inline void PrintTo(const SettingsStoreBackend& b, std::ostream* os) { *os << b.name; }

class SettingsStoreContract : public ::testing::TestWithParam<SettingsStoreBackend> {
 protected:
  void SetUp() override {
    auto [store, reopen] = GetParam().open();
    store_ = std::move(store);
    reopen_ = std::move(reopen);
    ASSERT_NE(store_, nullptr) << "backend " << GetParam().name;
  }

  std::shared_ptr<SettingsStore> store_;
  std::function<std::shared_ptr<SettingsStore>()> reopen_;
};

}  // namespace flare

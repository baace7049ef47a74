// How a server that never listens is reported (app/spawn.h): with why it
// stopped, so a failed restart in a long run says what happened.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "app/spawn.h"

namespace flare {
namespace {

TEST(SpawnServe, ABinaryThatCannotRunIsReportedWithItsExitStatus) {
  auto p = SpawnServe("/nonexistent/flare", ::testing::TempDir(), 0, 0, {});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("exited before listening (exit status 127)"),
            std::string::npos)
      << p.status().message();
}

TEST(SpawnServe, AServerThatExitsBeforeListeningIsReportedWithItsExitStatus) {
  // Refused at start-up: an unknown config key in the environment.
  auto p = SpawnServe(FLARE_BINARY, ::testing::TempDir(), 0, 0, {{"FLARE_NO_SUCH_KEY", "1"}});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("exited before listening (exit status"), std::string::npos)
      << p.status().message();
  EXPECT_EQ(p.status().message().find("exit status 0)"), std::string::npos);
}

}  // namespace
}  // namespace flare

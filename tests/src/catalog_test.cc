// The pure parts of src/catalog.h: which server versions partwatch refuses,
// and what it says.
#include "src/catalog.h"

#include <gtest/gtest.h>

namespace partwatch {
namespace {

TEST(UnsupportedServerVersionTest, AcceptsFifteenAndLater) {
  EXPECT_EQ(UnsupportedServerVersion(150000, "15.0"), std::nullopt);
  EXPECT_EQ(UnsupportedServerVersion(150020, "15.20 (Debian 15.20-0+deb12u1)"), std::nullopt);
  EXPECT_EQ(UnsupportedServerVersion(170012, "17.12"), std::nullopt);
  EXPECT_EQ(UnsupportedServerVersion(180000, "18devel"), std::nullopt);
}

TEST(UnsupportedServerVersionTest, RefusesFourteenNamingTheVersion) {
  EXPECT_EQ(UnsupportedServerVersion(140010, "14.10"),
            "partwatch needs PostgreSQL 15 or later (publications with column lists); the server "
            "runs 14.10");
}

TEST(UnsupportedServerVersionTest, ShowsTheVersionWithoutThePackagersSuffix) {
  const auto err = UnsupportedServerVersion(140010, "14.10 (Debian 14.10-1.pgdg120+1)");
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->ends_with("; the server runs 14.10")) << *err;
}

TEST(UnsupportedServerVersionTest, FifteenBetaIsAccepted) {
  // 15beta1 reports 150000 like 15.0.
  EXPECT_EQ(UnsupportedServerVersion(150000, "15beta1"), std::nullopt);
}

TEST(UnsupportedServerVersionTest, FormatsTheNumberWhenTheTextIsMissing) {
  auto err = UnsupportedServerVersion(130011, "");
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->ends_with("the server runs 13.11")) << *err;
  err = UnsupportedServerVersion(90624, "");
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->ends_with("the server runs 9.6.24")) << *err;
}

TEST(UnsupportedServerVersionTest, UnknownVersionIsRefused) {
  // PQserverVersion is 0 when libpq cannot tell: no guess that it is new.
  const auto err = UnsupportedServerVersion(0, "");
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("PostgreSQL 15 or later"), std::string::npos) << *err;
  EXPECT_NE(err->find("a version partwatch cannot tell"), std::string::npos) << *err;
}

TEST(UnsupportedServerVersionTest, LastFourteenMinorIsStillRefused) {
  EXPECT_TRUE(UnsupportedServerVersion(149999, "14.9999"));
}

}  // namespace
}  // namespace partwatch

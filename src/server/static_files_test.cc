#include "server/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace diffsync::server {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::path(::testing::TempDir()) /
        ("static_files_test_" +
         std::string(
             ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "assets" / "fonts");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const fs::path& relative, std::string_view text) {
    std::ofstream(root_ / relative, std::ios::binary) << text;
  }

  fs::path root_;
};

TEST_F(StaticFilesTest, ServesThePageAtTheListAndAtEveryDocument) {
  Write("index.html", "<!doctype html>page");
  Write("assets/app.js", "export {};");
  Write("assets/fonts/a.css", "body{}");
  Write("secret.txt", "not under assets");
  Result<StaticFiles> files = StaticFiles::Load(root_.string());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->size(), 3u);
  for (const char* path : {"/", "/d/notes", "/d/a%20b", "/index.html"}) {
    const StaticFile* page = files->Find(path);
    ASSERT_NE(page, nullptr) << path;
    EXPECT_EQ(page->body, "<!doctype html>page");
    EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  }
  const StaticFile* js = files->Find("/assets/app.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->body, "export {};");
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  ASSERT_NE(files->Find("/assets/fonts/a.css"), nullptr);
  EXPECT_EQ(files->Find("/assets/fonts/a.css")->content_type,
            "text/css; charset=utf-8");
}

TEST_F(StaticFilesTest, ServesNothingElse) {
  Write("index.html", "page");
  Write("secret.txt", "not under assets");
  Result<StaticFiles> files = StaticFiles::Load(root_.string());
  ASSERT_TRUE(files.ok());
  for (const char* path : {"/secret.txt", "/d/", "/d", "/assets/../secret.txt",
                           "/assets/missing.js", "/ws", "/healthz"}) {
    EXPECT_EQ(files->Find(path), nullptr) << path;
  }
  EXPECT_EQ(StaticFiles().Find("/"), nullptr);
}

TEST_F(StaticFilesTest, MissingIndexIsNamed) {
  Result<StaticFiles> files = StaticFiles::Load(root_.string());
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kNotFound);
  EXPECT_NE(files.status().message().find("index.html"), std::string::npos);
  EXPECT_NE(files.status().message().find(root_.string()), std::string::npos);
}

TEST(ContentTypeForTest, KnownAndUnknownExtensions) {
  EXPECT_EQ(ContentTypeFor("a.png"), "image/png");
  EXPECT_EQ(ContentTypeFor("app.js.map"), "application/json");
  EXPECT_EQ(ContentTypeFor("blob.bin"), "application/octet-stream");
}

}  // namespace
}  // namespace diffsync::server

// Conformance with toml-test (TOML 1.0, the files `files-toml-1.0.0` lists): every invalid
// file is refused by the loader as a config error (exit 78) with a located message, never a
// crash; every valid one parses as TOML (the TOML layer: they are not pipelines), but for one
// that the TOML library mishandles and that is refused with a message instead. The limits
// on size and nesting must not refuse any valid file.

#include "conveyor/config/loader.hpp"
#include "conveyor/registry/registry.hpp"
#include "support/paths.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <vector>

namespace conveyor {
namespace {

namespace fs = std::filesystem;

/// The corpus root. CONVEYOR_SHARED_DIR in the environment replaces the built-in ../shared
/// (a checkout elsewhere can point at the corpora).
fs::path corpus_root() {
    const char* env = std::getenv("CONVEYOR_SHARED_DIR");
    const fs::path shared = env && *env ? fs::path(env) : fs::path(test::shared_dir());
    return shared / "corpora" / "toml-test" / "tests";
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

TEST(TomlTestCorpus, Toml10InvalidFilesAreRefusedAndValidFilesParse) {
    const fs::path root = corpus_root();
    std::ifstream list(root / "files-toml-1.0.0");
    if (!list) GTEST_SKIP() << "toml-test corpus not found at " << root;

    Registry registry; // the TOML checks come before any function is looked up
    std::size_t invalid = 0;
    std::size_t valid = 0;
    std::string line;
    while (std::getline(list, line)) {
        if (!line.ends_with(".toml")) continue; // the .json twins of valid files
        const std::string text = slurp(root / line);
        if (line.starts_with("invalid/")) {
            ++invalid;
            LoadResult r = load_pipeline_text(text, line, registry);
            EXPECT_FALSE(r.pipeline.has_value()) << line;
            EXPECT_EQ(r.failure, ErrorKind::Config) << line;
            // Refused as TOML, not merely as a pipeline that lacks stages.
            const Diagnostics d = check_toml_text(text, line);
            ASSERT_TRUE(d.has_errors()) << line << " was accepted as TOML";
            EXPECT_EQ(d.all().front().where.file, line);
            EXPECT_GT(d.all().front().where.line, 0u) << line << ": " << d.to_string();
        } else if (line.starts_with("valid/")) {
            ++valid;
            const Diagnostics d = check_toml_text(text, line);
            if (line == "valid/string/start-mb.toml") {
                // Valid TOML that toml++ 3.3 mishandles (undefined behaviour, its issue 190: a
                // character such as U+00A7 right after a line-ending backslash): refused, with
                // a message saying how to write it, instead of handed to the parser.
                ASSERT_TRUE(d.has_errors()) << line;
                EXPECT_NE(d.to_string().find("line-ending backslash"), std::string::npos)
                    << d.to_string();
                continue;
            }
            EXPECT_FALSE(d.has_errors()) << line << ": " << d.to_string();
        }
    }
    EXPECT_EQ(invalid, 499u);
    EXPECT_EQ(valid, 210u);
}

} // namespace
} // namespace conveyor

// lib/'s modules form layers (docs/ARCHITECTURE.md): each includes only the modules below it,
// so that no two modules use each other. This test reads every include in lib/ and fails on
// one that points up or sideways, naming the file and the line.

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace conveyor {
namespace {

namespace fs = std::filesystem;

/// Each module and the modules it may include (besides itself). Keep in step with
/// docs/ARCHITECTURE.md's layer list.
const std::map<std::string, std::set<std::string>>& allowed() {
    static const std::map<std::string, std::set<std::string>> m = {
        {"core", {}},
        {"format", {"core"}},
        {"graph", {}},
        {"option", {"core"}},
        {"expr", {"core", "format"}},
        {"obs", {"core", "format", "io"}},
        {"io", {"core"}},
        {"net", {"core", "expr", "format"}},
        {"stage", {"core", "expr", "format", "io", "net", "obs", "option"}},
        {"registry", {"core", "format", "io", "option", "stage"}},
        {"config", {"core", "graph", "obs", "option", "registry", "stage"}},
        {"queue", {"core"}},
        {"exec",
         {"config", "core", "format", "graph", "io", "net", "obs", "option", "registry", "stage"}},
        {"recordio",
         {"config", "core", "exec", "expr", "format", "io", "obs", "option", "registry", "stage"}},
    };
    return m;
}

TEST(Layers, LibModulesIncludeOnlyTheModulesBelowThem) {
    const fs::path lib = fs::path(CONVEYOR_SOURCE_DIR) / "lib";
    const std::regex include(R"re(^\s*#\s*include\s*"conveyor/([a-z_]+)/)re");
    std::size_t files = 0;
    for (const fs::path& root : {lib / "include" / "conveyor", lib / "src"}) {
        ASSERT_TRUE(fs::is_directory(root)) << root;
        for (const auto& entry : fs::recursive_directory_iterator(root)) {
            if (!entry.is_regular_file()) continue;
            const fs::path rel = fs::relative(entry.path(), root);
            const std::string module = rel.begin()->string();
            if (rel.begin() == rel.end() || std::next(rel.begin()) == rel.end()) continue;
            const auto it = allowed().find(module);
            ASSERT_NE(it, allowed().end())
                << "lib module '" << module << "' (" << entry.path()
                << ") has no place in the layers: add it to this test and ARCHITECTURE.md";
            ++files;
            std::ifstream in(entry.path());
            std::string line;
            for (std::size_t n = 1; std::getline(in, line); ++n) {
                std::smatch m;
                if (!std::regex_search(line, m, include)) continue;
                const std::string used = m[1];
                if (used == module) continue;
                EXPECT_TRUE(it->second.count(used))
                    << entry.path().string() << ":" << n << ": module '" << module << "' includes '"
                    << used << "', which is not below it";
            }
        }
    }
    EXPECT_GT(files, 50u);
}

} // namespace
} // namespace conveyor

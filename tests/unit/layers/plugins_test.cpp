// Plugins never include each other (docs/ARCHITECTURE.md, "Where a new function goes"): what
// two plugins share lives in lib/ (as lib/recordio does for csv, json, stdin, stdout and
// file). This test reads every include in plugins/<name>/ and fails on one that names a header
// of another plugin's folder, and reads every plugin's CMakeLists.txt and fails on a link to
// another plugin's library (conveyor_add_plugin(... DEPENDS conveyor_plugin_<other>)).

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace conveyor {
namespace {

namespace fs = std::filesystem;

fs::path plugins_dir() {
    return fs::path(CONVEYOR_SOURCE_DIR) / "plugins";
}

std::set<std::string> plugin_names() {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(plugins_dir()))
        if (entry.is_directory()) names.insert(entry.path().filename().string());
    return names;
}

TEST(PluginIsolation, NoPluginIncludesAHeaderOfAnotherPlugin) {
    const std::set<std::string> names = plugin_names();
    ASSERT_GT(names.size(), 10u);
    const std::regex include(R"re(^\s*#\s*include\s*"([^"]+)")re");
    std::size_t includes = 0;
    for (const std::string& name : names) {
        const fs::path own = plugins_dir() / name;
        for (const auto& entry : fs::recursive_directory_iterator(own)) {
            if (!entry.is_regular_file()) continue;
            std::ifstream in(entry.path());
            std::string line;
            for (std::size_t n = 1; std::getline(in, line); ++n) {
                std::smatch m;
                if (!std::regex_search(line, m, include)) continue;
                ++includes;
                const std::string header = m[1];
                const std::string where = entry.path().string() + ":" + std::to_string(n);
                EXPECT_EQ(header.find("plugins/"), std::string::npos)
                    << where << ": includes '" << header << "' by a path into plugins/";
                EXPECT_EQ(header.find(".."), std::string::npos)
                    << where << ": includes '" << header << "' by a path out of its folder";
                // A header of the plugin's own folder (or of lib/, "conveyor/...") is fine; one
                // that only another plugin's folder has is that plugin's: move it to lib/.
                if (fs::exists(entry.path().parent_path() / header) || fs::exists(own / header))
                    continue;
                for (const std::string& other : names) {
                    if (other == name) continue;
                    EXPECT_FALSE(fs::exists(plugins_dir() / other / header))
                        << where << ": plugin '" << name << "' includes '" << header
                        << "', a header of plugin '" << other
                        << "'; what two plugins share goes into lib/";
                }
            }
        }
    }
    EXPECT_GT(includes, 100u);
}

TEST(PluginIsolation, NoPluginLinksAnotherPlugin) {
    const std::regex target(R"re(conveyor_plugin_([A-Za-z0-9_]+))re");
    for (const std::string& name : plugin_names()) {
        const fs::path cmake = plugins_dir() / name / "CMakeLists.txt";
        ASSERT_TRUE(fs::is_regular_file(cmake)) << cmake;
        std::ifstream in(cmake);
        std::stringstream text;
        text << in.rdbuf();
        const std::string s = text.str();
        for (auto it = std::sregex_iterator(s.begin(), s.end(), target);
             it != std::sregex_iterator(); ++it) {
            EXPECT_EQ((*it)[1].str(), name)
                << cmake.string() << ": plugin '" << name << "' names '" << (*it)[0].str()
                << "'; plugins do not depend on each other (what they share goes into lib/)";
        }
    }
}

} // namespace
} // namespace conveyor

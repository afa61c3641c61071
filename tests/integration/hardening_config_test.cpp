// What the binary does with hostile or mistaken configuration and input: nesting that would
// overflow the TOML parser, pipeline names that look like paths, values too large or small
// to honour, and text in UTF-16/UTF-32.

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/exec/run_lock.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace conveyor {
namespace {

namespace fs = std::filesystem;
using test::run_conveyor;
using test::TempDir;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

test::ProcessOptions in_dir(const std::string& dir) {
    test::ProcessOptions o;
    o.cwd = dir;
    o.unset_env = {"CONVEYOR_LOG"};
    return o;
}

std::string repeat(std::string_view piece, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i)
        s += piece;
    return s;
}

/// csv.read of `input` into json.write of `output`, with `head` before the stages.
std::string copy_pipeline(const std::string& head, const std::string& reader,
                          const std::string& input) {
    return head + R"(
[[stages]]
id = "load"
function = ")" +
           reader + R"("
[stages.config]
path = ")" +
           input + R"("

[[stages]]
id = "save"
function = "json.write"
inputs = ["load"]
[stages.config]
path = "out.json"
)";
}

/// Every run lock (`*.lock`, not a journal's `*.journal.lock`) under `root`, relative to it.
std::vector<std::string> run_locks(const std::string& root) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        const std::string path = e.path().string();
        if (path.ends_with(".lock") && !path.ends_with(".journal.lock"))
            out.push_back(fs::relative(e.path(), root).string());
    }
    return out;
}

TEST(HardeningConfig, DeeplyNestedTomlExits78WithItsPositionInsteadOfCrashing) {
    TempDir dir;
    dir.write("headers.toml", "[" + repeat("a.", 299999) + "a]\n");
    dir.write("arrays.toml", "a = " + repeat("[", 300000) + "\n");
    dir.write("tables.toml", "a = " + repeat("{ b = ", 300000) + "\n");
    dir.write("dotted.toml", repeat("k.", 300000) + "k = 1\n");
    // Before the limits, headers.toml and dotted.toml ended in SIGSEGV (exit 139).
    for (const char* file : {"headers.toml", "arrays.toml", "tables.toml", "dotted.toml"}) {
        auto r = run_conveyor({"validate", file}, in_dir(dir.path()));
        EXPECT_EQ(r.exit_code, 78) << file << ": " << r.err;
        EXPECT_THAT(r.err, HasSubstr(std::string(file) + ":1:"));
        EXPECT_THAT(r.err, HasSubstr("nest deeper than 128 levels"));
    }
    // `run` reads the file the same way.
    auto r = run_conveyor({"run", "arrays.toml"}, in_dir(dir.path()));
    EXPECT_EQ(r.exit_code, 78) << r.err;
}

TEST(HardeningConfig, APipelineFileOverFourMibExits78) {
    TempDir dir;
    dir.write("big.toml", "# " + std::string(5 * 1024 * 1024, 'x') + "\n");
    auto r = run_conveyor({"validate", "big.toml"}, in_dir(dir.path()));
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("big.toml"));
    EXPECT_THAT(r.err, HasSubstr("larger than 4 MiB"));
}

TEST(HardeningConfig, APipelineNameNeverPlacesStateFilesOutsideTheStateDirectory) {
    TempDir dir;
    const std::string home = dir.path() + "/a/b/c";
    dir.write("a/b/c/in.csv", "id\n1\n");
    dir.write("a/b/c/p.toml",
              copy_pipeline("[pipeline]\nname = \"../../../escaped\"\n[global]\nlock = true\n",
                            "csv.read", "in.csv"));
    dir.write("a/b/c/q.toml",
              copy_pipeline("[pipeline]\nname = \"\"\"line\nbreak\"\"\"\n[global]\nlock = true\n",
                            "csv.read", "in.csv"));
    dir.write("a/b/c/r.toml", copy_pipeline("[pipeline]\nname = \"" + dir.path() +
                                                "/absolute\"\n[global]\nlock = true\n",
                                            "csv.read", "in.csv"));
    for (const char* file : {"p.toml", "q.toml", "r.toml"}) {
        auto r = run_conveyor({"run", file, "-q"}, in_dir(home));
        ASSERT_EQ(r.exit_code, 0) << file << ": " << r.err;
    }
    // Every lock is inside a/b/c/.conveyor, one per pipeline, named after the cleaned name.
    std::vector<std::string> locks = run_locks(dir.path());
    ASSERT_EQ(locks.size(), 3u) << ::testing::PrintToString(locks);
    for (const std::string& lock : locks)
        EXPECT_THAT(lock, StartsWith("a/b/c/.conveyor/")) << "outside the state directory";
    EXPECT_THAT(locks, Contains(MatchesRegex(
                           "a/b/c/.conveyor/_\\._\\.\\._\\.\\._escaped-[0-9a-f]{8}\\.lock")));
    EXPECT_THAT(locks, Contains(MatchesRegex("a/b/c/.conveyor/line_break-[0-9a-f]{8}\\.lock")));
    EXPECT_THAT(locks, Contains(MatchesRegex("a/b/c/.conveyor/_[^/]*-[0-9a-f]{8}\\.lock")));
}

TEST(HardeningConfig, SameNamedPipelinesInTwoDirectoriesSharingAStateDirDoNotShareALock) {
    TempDir dir;
    const std::string global =
        "[pipeline]\nname = \"orders\"\n[global]\nlock = true\nstate_dir = \"" + dir.path() +
        "/state\"\n";
    for (const char* sub : {"one", "two"}) {
        dir.write(std::string(sub) + "/in.csv", "id\n1\n");
        dir.write(std::string(sub) + "/p.toml", copy_pipeline(global, "csv.read", "in.csv"));
        auto r = run_conveyor({"run", "p.toml", "-q"}, in_dir(dir.file(sub)));
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    const std::vector<std::string> locks = run_locks(dir.file("state"));
    ASSERT_EQ(locks.size(), 2u) << ::testing::PrintToString(locks);
    EXPECT_NE(locks[0], locks[1]);
    for (const std::string& lock : locks)
        EXPECT_THAT(lock, MatchesRegex("orders-[0-9a-f]{8}\\.lock"));
}

TEST(HardeningConfig, TheStateFileStemIsTheCleanNameAndAHashOfTheCanonicalPath) {
    TempDir dir;
    dir.write("p.toml", "");
    PipelineSpec p;
    p.name = "orders";
    p.file = dir.file("p.toml");
    const std::string stem = state_file_stem(p);
    EXPECT_THAT(stem, MatchesRegex("orders-[0-9a-f]{8}"));
    p.file = dir.path() + "/./sub/../p.toml"; // the same file
    fs::create_directories(dir.file("sub"));
    EXPECT_EQ(state_file_stem(p), stem);
    p.file = dir.file("sub/p.toml");
    EXPECT_NE(state_file_stem(p), stem);
    p.name = std::string(200, 'n');
    EXPECT_THAT(state_file_stem(p), MatchesRegex("n{64}-[0-9a-f]{8}"));
    p.name = "..";
    EXPECT_THAT(state_file_stem(p), MatchesRegex("_\\.-[0-9a-f]{8}"));
}

TEST(HardeningConfig, ARateLimitOrTimeoutThatCannotBeHonouredExits78NamingStageAndKey) {
    TempDir dir;
    const auto pipeline = [](const std::string& option) {
        return R"(
[[stages]]
id = "load"
function = "csv.read"
[stages.config]
path = "in.csv"

[[stages]]
id = "call"
function = "http.fetch"
inputs = ["load"]
[stages.config]
url = "http://127.0.0.1:9/{{ id }}"
)" + option + R"(

[[stages]]
id = "save"
function = "json.write"
inputs = ["call"]
[stages.config]
path = "out.json"
)";
    };
    for (const std::string option :
         {"rate_limit_per_second = 1e-10", "rate_limit_per_second = 0",
          "rate_limit_per_second = 1e300", "timeout_seconds = 1e300", "timeout_seconds = 1e-9"}) {
        dir.write("p.toml", pipeline(option));
        auto r = run_conveyor({"validate", "p.toml"}, in_dir(dir.path()));
        EXPECT_EQ(r.exit_code, 78) << option << ": " << r.err;
        EXPECT_THAT(r.err, HasSubstr("p.toml:14:"));
        EXPECT_THAT(r.err, HasSubstr("stage 'call'"));
        EXPECT_THAT(r.err,
                    HasSubstr("key '" + option.substr(0, option.find(' ')) + "' must be between"));
    }
    dir.write("p.toml", pipeline("rate_limit_per_second = 0.001\ntimeout_seconds = 86400"));
    auto r = run_conveyor({"validate", "p.toml"}, in_dir(dir.path()));
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(HardeningConfig, AJitterTooLongToSleepExits64) {
    TempDir dir;
    dir.write("in.csv", "id\n1\n");
    dir.write("p.toml", copy_pipeline("", "csv.read", "in.csv"));
    for (const char* jitter : {"1e20s", "25h", "1441m", "86400001ms", "nan", "inf"}) {
        auto r = run_conveyor({"run", "p.toml", "--jitter", jitter}, in_dir(dir.path()));
        EXPECT_EQ(r.exit_code, 64) << jitter << ": " << r.err;
        EXPECT_THAT(r.err, HasSubstr("up to 24h"));
    }
    EXPECT_FALSE(test::file_exists(dir.file("out.json"))) << "nothing ran";
    auto r = run_conveyor({"run", "p.toml", "--jitter", "0.001s", "-q"}, in_dir(dir.path()));
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(HardeningConfig, Utf16AndUtf32InputIsADataErrorSayingHowToConvertIt) {
    using namespace std::string_literals;
    TempDir dir;
    dir.write("le16.csv", "\xFF\xFE"
                          "i\0d\0\n\0001\0\n\0"s);
    dir.write("be16.json", "\xFE\xFF\0[\0]"s);
    dir.write("csv.toml", copy_pipeline("", "csv.read", "le16.csv"));
    dir.write("json.toml", copy_pipeline("", "json.read", "be16.json"));
    auto r = run_conveyor({"run", "csv.toml"}, in_dir(dir.path()));
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("le16.csv: not UTF-8 (UTF-16 LE byte-order mark); convert it with "
                                 "iconv -f UTF-16 -t UTF-8"));
    r = run_conveyor({"run", "json.toml"}, in_dir(dir.path()));
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("be16.json: not UTF-8 (UTF-16 BE byte-order mark)"));

    dir.write("stdin.toml", R"(
[[stages]]
id = "in"
function = "stdin.read"
[stages.config]
format = "lines"

[[stages]]
id = "save"
function = "json.write"
inputs = ["in"]
[stages.config]
path = "out.json"
)");
    test::ProcessOptions o = in_dir(dir.path());
    o.stdin_data = "\xFF\xFE\0\0a\0\0\0\n\0\0\0"s;
    r = run_conveyor({"run", "stdin.toml"}, o);
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("<stdin>: not UTF-8 (UTF-32 LE byte-order mark); convert it with "
                                 "iconv -f UTF-32 -t UTF-8"));
    EXPECT_FALSE(test::file_exists(dir.file("out.json")));
}

TEST(HardeningConfig, AUtf8ByteOrderMarkIsStillSkipped) {
    TempDir dir;
    dir.write("bom.csv", "\xEF\xBB\xBFid,name\n1,Ann\n");
    dir.write("p.toml", copy_pipeline("", "csv.read", "bom.csv"));
    auto r = run_conveyor({"run", "p.toml", "-q"}, in_dir(dir.path()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string out = test::read_file(dir.file("out.json"));
    EXPECT_THAT(out, HasSubstr("\"id\""));
    EXPECT_EQ(out.find("\xEF\xBB\xBF"), std::string::npos) << out;
}

} // namespace
} // namespace conveyor

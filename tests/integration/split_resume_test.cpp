// Rolled outputs (max_records_per_file) take part in checkpoints: a run writing a series of
// files is killed (-9) twice and resumed, and ends with exactly the files of an uninterrupted
// run, having asked the server again only for what was in flight at each kill (it carried on
// from its checkpoints, it did not start over); a kill never leaves a finished-looking file
// behind. A split by value takes no checkpoints: --resume writes it again from the start.

#include "support/http_test_server.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <string>

namespace conveyor {
namespace {

using namespace std::chrono_literals;
using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;
using ::testing::HasSubstr;

constexpr int kRows = 240;
constexpr int kConcurrency = 4;

/// The records go to out/items-NNNNN.jsonl, seven a file (or with `by_value`, to
/// out/<g>/items-NNNNN.jsonl, g one of five groups).
std::string split_pipeline(const HttpTestServer& server, const std::string& executor,
                           bool by_value = false) {
    std::string p =
        test::fetch_items_pipeline(server.url("/items/{{ id }}"), executor, kConcurrency);
    const std::string plain = "path = \"out/items.jsonl\"\n";
    p.replace(p.find(plain), plain.size(),
              std::string(by_value ? "path = \"out/{{ g }}/items.jsonl\"\n" : plain) +
                  "max_records_per_file = 7\n");
    return p;
}

std::string grouped_items(int rows) {
    std::string csv = "id,name,g\n";
    for (int i = 1; i <= rows; ++i)
        csv += std::to_string(i) + ",n" + std::to_string(i) + ",g" + std::to_string(i % 5) + "\n";
    return csv;
}

void serve_items(HttpTestServer& server) {
    server.route("/items/", [](const HttpTestRequest& r) {
        HttpTestReply reply = HttpTestReply::json(R"({"item":")" + r.path.substr(7) + R"("})");
        reply.delay = 3ms;
        return reply;
    });
}

/// Every file under `dir` (relative path -> content); `hidden`: also names starting with '.'.
std::map<std::string, std::string> files_under(const std::string& dir, bool hidden = false) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
        if (!e.is_regular_file()) continue;
        if (!hidden && e.path().filename().string().starts_with(".")) continue;
        out[std::filesystem::relative(e.path(), dir).string()] = test::read_file(e.path().string());
    }
    return out;
}

/// A server answering item requests and a folder holding items.csv and the pipeline p.toml.
struct Workplace {
    HttpTestServer server;
    test::TempDir dir;
    test::ProcessOptions o;
    Workplace(const std::string& executor, bool by_value) {
        serve_items(server);
        dir.write("items.csv", grouped_items(kRows));
        dir.write("p.toml", split_pipeline(server, executor, by_value));
        o.cwd = dir.path();
    }
};

class SplitResumeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SplitResumeTest, KilledRunsResumeToTheFilesOfAnUninterruptedRun) {
    std::map<std::string, std::string> clean;
    {
        Workplace w(GetParam(), false);
        auto r = test::run_conveyor({"run", "p.toml", "-q"}, w.o);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        clean = files_under(w.dir.file("out"), true);
        // 240 records, 7 a file.
        ASSERT_EQ(clean.size(), 35u);
        ASSERT_EQ(clean.count("items-00035.jsonl"), 1u);
    }

    Workplace w(GetParam(), false);
    HttpTestServer& server = w.server;
    const test::TempDir& dir = w.dir;
    const test::ProcessOptions& o = w.o;
    int kills = 0;
    for (std::size_t answered : {70u, 160u}) {
        auto child =
            test::spawn_conveyor(kills == 0 ? std::vector<std::string>{"run", "p.toml"}
                                            : std::vector<std::string>{"run", "p.toml", "--resume"},
                                 o);
        EXPECT_TRUE(server.wait_for_answered(answered, 60s));
        child->signal(SIGKILL);
        EXPECT_EQ(child->wait().exit_code, 128 + SIGKILL);
        ++kills;
        EXPECT_TRUE(files_under(dir.file("out")).empty()) << "never a file before the run ends";
    }
    auto r = test::run_conveyor({"run", "p.toml", "--resume"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("resuming:"));
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("cannot continue from checkpoint")));
    EXPECT_EQ(files_under(dir.file("out"), true), clean)
        << "the same files, byte for byte, and no temporary file left";
    // Carried on from the checkpoints: only requests in flight at a kill are asked again.
    EXPECT_LE(server.requests(), static_cast<std::size_t>(kRows + kills * kConcurrency));
}

TEST_P(SplitResumeTest, ASplitByValueStartsOverOnResumeAndStillEndsComplete) {
    Workplace w(GetParam(), true);
    HttpTestServer& server = w.server;
    const test::TempDir& dir = w.dir;
    const test::ProcessOptions& o = w.o;
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    EXPECT_TRUE(server.wait_for_answered(100, 60s));
    child->signal(SIGKILL);
    EXPECT_EQ(child->wait().exit_code, 128 + SIGKILL);
    EXPECT_TRUE(files_under(dir.file("out")).empty());
    auto r = test::run_conveyor({"run", "p.toml", "--resume"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto files = files_under(dir.file("out"), true);
    EXPECT_EQ(files.size(), 35u) << "48 records per group, 7 a file: 7 files each";
    std::size_t lines = 0;
    for (const auto& [name, text] : files)
        lines += static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    EXPECT_EQ(lines, static_cast<std::size_t>(kRows)) << "every record once, no temporary file";
}

INSTANTIATE_TEST_SUITE_P(Executors, SplitResumeTest, ::testing::Values("dag", "channel", "async"));

} // namespace
} // namespace conveyor

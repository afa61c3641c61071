// A run reading a glob (csv.read, json.read), killed (-9) while it is in the middle of the files
// and resumed with --resume, ends with exactly an uninterrupted run's output: the checkpoint
// says which file and where in it, so finished requests are not asked again.

#include "support/http_test_server.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using namespace std::chrono_literals;
using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kFiles = 6;
constexpr int kRowsPerFile = 40;
constexpr int kRows = kFiles * kRowsPerFile;
constexpr int kConcurrency = 4;

void serve_items(HttpTestServer& server) {
    server.route("/items/", [](const HttpTestRequest& r) {
        HttpTestReply reply =
            HttpTestReply::json(R"({"item":")" + r.path.substr(7) + R"(","ok":true})");
        reply.delay = 2ms;
        return reply;
    });
}

/// items/part-N files of `function`'s format (records 1..kRows in path order), and the fetch
/// pipeline reading them through a glob, in batches of 7 so that checkpoints fall inside files
/// as well as between them.
void write_inputs(const test::TempDir& dir, const HttpTestServer& server,
                  const std::string& function, const std::string& global = "") {
    const bool csv = function == "csv.read";
    for (int f = 0; f < kFiles; ++f) {
        std::string text = csv ? "id,name\n" : "";
        for (int i = f * kRowsPerFile + 1; i <= (f + 1) * kRowsPerFile; ++i)
            text += csv ? std::to_string(i) + ",n" + std::to_string(i) + "\n"
                        : R"({"id":)" + std::to_string(i) + R"(,"name":"n)" + std::to_string(i) +
                              "\"}\n";
        dir.write("items/part-" + std::to_string(f) + (csv ? ".csv" : ".jsonl"), text);
    }
    std::string p =
        test::fetch_items_pipeline(server.url("/items/{{ id }}"), "channel", kConcurrency);
    p.replace(p.find("[global]\n"), 9, "[global]\nbatch_size = 7\n" + global);
    p.replace(p.find("function = \"csv.read\""), 21, "function = \"" + function + "\"");
    p.replace(p.find("path = \"items.csv\""), 18,
              std::string("path = \"items/part-*.") + (csv ? "csv\"" : "jsonl\""));
    dir.write("p.toml", p);
}

class GlobResume : public ::testing::TestWithParam<std::string> {};

TEST_P(GlobResume, AKilledRunResumesInTheFileItWasReadingToTheCleanOutput) {
    std::string clean;
    {
        HttpTestServer server;
        serve_items(server);
        test::TempDir dir;
        write_inputs(dir, server, GetParam());
        test::ProcessOptions o;
        o.cwd = dir.path();
        const test::ProcessResult r = test::run_conveyor({"run", "p.toml", "-q"}, o);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        clean = test::read_file(dir.file("out/items.jsonl"));
        ASSERT_EQ(server.requests(), static_cast<std::size_t>(kRows));
    }

    HttpTestServer server;
    serve_items(server);
    test::TempDir dir;
    write_inputs(dir, server, GetParam());
    test::ProcessOptions o;
    o.cwd = dir.path();
    // Killed in the second file, then in the fourth (kRowsPerFile = 40 records a file).
    int kills = 0;
    for (const std::size_t answered : {55U, 150U}) {
        auto child =
            test::spawn_conveyor(kills == 0 ? std::vector<std::string>{"run", "p.toml"}
                                            : std::vector<std::string>{"run", "p.toml", "--resume"},
                                 o);
        EXPECT_TRUE(server.wait_for_answered(answered, 60s));
        child->signal(SIGKILL);
        const test::ProcessResult killed = child->wait();
        EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
        EXPECT_THAT(killed.err, Not(HasSubstr("cannot continue from checkpoint")));
        ++kills;
        EXPECT_FALSE(test::file_exists(dir.file("out/items.jsonl"))) << "never a partial output";
    }
    const test::ProcessResult r = test::run_conveyor({"run", "p.toml", "--resume"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("resuming: from checkpoint"));
    // The position in the glob was taken up, not refused (which starts from the first file).
    EXPECT_THAT(r.err, Not(HasSubstr("cannot continue from checkpoint")));
    EXPECT_EQ(test::read_file(dir.file("out/items.jsonl")), clean) << "byte for byte";
    // Each finished request is asked once; only those in flight at a kill are asked again.
    EXPECT_LE(server.requests(), static_cast<std::size_t>(kRows + kills * kConcurrency));
    EXPECT_GE(server.requests(), static_cast<std::size_t>(kRows));
}

TEST_P(GlobResume, AFilesShardKilledMidGlobAndResumedCommitsTheUninterruptedShardsPart) {
    const std::string files = "partition = \"files\"\n";
    const std::string part = "out/items.part-00001-of-00002.jsonl";
    std::string clean;
    {
        HttpTestServer server;
        serve_items(server);
        test::TempDir dir;
        write_inputs(dir, server, GetParam(), files);
        test::ProcessOptions o;
        o.cwd = dir.path();
        const test::ProcessResult r =
            test::run_conveyor({"run", "p.toml", "-q", "--shard", "1/2"}, o);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        clean = test::read_file(dir.file(part));
        ASSERT_EQ(server.requests(), static_cast<std::size_t>(kRows / 2)); // 3 files of 6
    }
    HttpTestServer server;
    serve_items(server);
    test::TempDir dir;
    write_inputs(dir, server, GetParam(), files);
    test::ProcessOptions o;
    o.cwd = dir.path();
    bool first = true;
    for (const std::size_t answered : {30U, 90U}) {
        std::vector<std::string> args{"run", "p.toml", "--shard", "1/2"};
        if (!first) args.emplace_back("--resume");
        first = false;
        auto child = test::spawn_conveyor(args, o);
        EXPECT_TRUE(server.wait_for_answered(answered, 60s));
        child->signal(SIGKILL);
        EXPECT_EQ(child->wait().exit_code, 128 + SIGKILL);
        EXPECT_FALSE(test::file_exists(dir.file(part))) << "never a partial part";
    }
    const test::ProcessResult r =
        test::run_conveyor({"run", "p.toml", "--shard", "1/2", "--resume"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("resuming: from checkpoint"));
    EXPECT_THAT(r.err, Not(HasSubstr("cannot continue from checkpoint")));
    EXPECT_EQ(test::read_file(dir.file(part)), clean) << "byte for byte";
}

INSTANTIATE_TEST_SUITE_P(Sources, GlobResume, ::testing::Values("csv.read", "json.read"),
                         [](const auto& source) {
                             return source.param == "csv.read" ? std::string("csv")
                                                               : std::string("json");
                         });

} // namespace
} // namespace conveyor

// Golden tests: every pipelines/examples/*.toml runs under every executor and must produce
// exactly the files (and standard output) recorded in pipelines/examples/expected/<name>/.
// Where fan-in interleaves inputs (an UNORDERED marker), files compare as sets of lines. An
// example that leaves records out on purpose records its exit code in `exit_code`; dead-letter
// timestamps ("timestamp":"...") are the one part of an output that may differ. An example
// that calls a local API (a SERVER file naming it) runs against the same answers served here
// on 127.0.0.1, its URL in API_URL.

#include "support/http_test_server.hpp"
#include "support/paths.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>
#include <regex>
#include <sstream>

namespace conveyor {
namespace {

namespace fs = std::filesystem;
using test::run_conveyor;

std::vector<std::string> example_names() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(test::source_dir() + "/pipelines/examples"))
        if (e.path().extension() == ".toml") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> sorted_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    std::sort(lines.begin(), lines.end());
    return lines;
}

/// What pipelines/examples/enrich_gather_server.py answers: /profile/ID at once, /risk/ID
/// after 3 s for ids divisible by 4, /geo/ID 500 for ids divisible by 5.
void serve_enrich_apis(test::HttpTestServer& server) {
    auto id_of = [](const test::HttpTestRequest& req) {
        return std::stoi(req.path.substr(req.path.rfind('/') + 1));
    };
    server.route("/profile/", [id_of](const test::HttpTestRequest& req) {
        return test::HttpTestReply::json(R"({"name": "user )" + std::to_string(id_of(req)) + "\"}");
    });
    server.route("/risk/", [id_of](const test::HttpTestRequest& req) {
        const int id = id_of(req);
        auto reply =
            test::HttpTestReply::json(R"({"score": )" + std::to_string(id * 7 % 100) + "}");
        if (id % 4 == 0) reply.delay = std::chrono::seconds(3);
        return reply;
    });
    server.route("/geo/", [id_of](const test::HttpTestRequest& req) {
        const int id = id_of(req);
        if (id % 5 == 0) return test::HttpTestReply::json(R"({"error": "geo backend down"})", 500);
        static const char* const kCountries[] = {"FR", "DE", "JP"};
        return test::HttpTestReply::json(std::string(R"({"country": ")") + kCountries[id % 3] +
                                         "\"}");
    });
}

/// The local API an example's SERVER file names, started for the run.
std::unique_ptr<test::HttpTestServer> start_server(const std::string& name) {
    auto server = std::make_unique<test::HttpTestServer>();
    if (name == "enrich_apis")
        serve_enrich_apis(*server);
    else
        ADD_FAILURE() << "unknown example server '" << name << "'";
    return server;
}

using Param = std::tuple<std::string, std::string>;

class ExamplesTest : public ::testing::TestWithParam<Param> {};

TEST_P(ExamplesTest, ProducesTheExpectedOutput) {
    const auto& [name, executor] = GetParam();
    const std::string expected_dir = test::source_dir() + "/pipelines/examples/expected/" + name;
    ASSERT_TRUE(fs::is_directory(expected_dir)) << "no expected output for " << name;
    const bool unordered = fs::exists(expected_dir + "/UNORDERED");

    test::TempDir out;
    test::ProcessOptions opts;
    opts.cwd = test::source_dir();
    opts.env["OUT_DIR"] = out.path();
    opts.unset_env = {"MIN_AMOUNT", "CONVEYOR_LOG"};
    std::unique_ptr<test::HttpTestServer> server;
    if (const std::string f = expected_dir + "/SERVER"; fs::exists(f)) {
        std::string server_name = test::read_file(f);
        server_name.erase(server_name.find_last_not_of(" \n") + 1);
        server = start_server(server_name);
        opts.env["API_URL"] = server->url();
    }
    auto r = run_conveyor(
        {"run", "pipelines/examples/" + name + ".toml", "--executor", executor, "-q"}, opts);
    const std::string exit_file = expected_dir + "/exit_code";
    const int want_exit = fs::exists(exit_file) ? std::stoi(test::read_file(exit_file)) : 0;
    ASSERT_EQ(r.exit_code, want_exit) << r.err;
    if (want_exit == 0) {
        EXPECT_EQ(r.err, "") << "a successful quiet run prints nothing on stderr";
    }

    static const std::regex timestamp(R"("timestamp":"[^"]*")");
    auto compare = [&](const std::string& file, const std::string& want_text,
                       const std::string& got_text) {
        const std::string want = std::regex_replace(want_text, timestamp, R"("timestamp":"")");
        const std::string got = std::regex_replace(got_text, timestamp, R"("timestamp":"")");
        if (unordered)
            EXPECT_EQ(sorted_lines(got), sorted_lines(want)) << file;
        else
            EXPECT_EQ(got, want) << file;
    };
    std::vector<std::string> expected_files;
    for (const auto& e : fs::directory_iterator(expected_dir)) {
        const std::string f = e.path().filename().string();
        if (f == "UNORDERED" || f == "stdout.txt" || f == "exit_code" || f == "SERVER") continue;
        expected_files.push_back(f);
        compare(f, test::read_file(e.path().string()), test::read_file(out.file(f)));
    }
    std::sort(expected_files.begin(), expected_files.end());
    EXPECT_EQ(test::list_dir(out.path()), expected_files) << "no extra or temporary files";
    const std::string stdout_file = expected_dir + "/stdout.txt";
    compare("stdout", fs::exists(stdout_file) ? test::read_file(stdout_file) : "", r.out);
}

INSTANTIATE_TEST_SUITE_P(Examples, ExamplesTest,
                         ::testing::Combine(::testing::ValuesIn(example_names()),
                                            ::testing::Values("dag", "channel", "async")),
                         [](const auto& param_info) {
                             return std::get<0>(param_info.param) + "_" +
                                    std::get<1>(param_info.param);
                         });

} // namespace
} // namespace conveyor

// Cron friendliness and crash safety: --lock, --jitter, and kill -9 never leaving a partial
// output in place (the next run also sweeps the dead run's temporary file).

#include "support/paths.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <csignal>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

const char* kFifoPipeline = R"([global]
lock = true

[[stages]]
id = "feed"
function = "csv.read"
inputs = []
[stages.config]
path = "feed.csv"

[[stages]]
id = "save"
function = "json.write"
inputs = ["feed"]
[stages.config]
path = "out.json"
)";

TEST(Lock, ASecondRunExits4WhileTheFirstHoldsTheLock) {
    test::TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("feed.csv").c_str(), 0600), 0);
    dir.write("p.toml", kFifoPipeline);
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto first = test::spawn_conveyor({"run", "p.toml"}, o);
    // The lock is taken before stages open; opening the FIFO's write end returns once the
    // first run has opened it, so from here on it holds the lock.
    const int fd = ::open(dir.file("feed.csv").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    auto second = test::run_conveyor({"run", "p.toml"}, o);
    EXPECT_EQ(second.exit_code, 4) << second.err;
    EXPECT_THAT(second.err, HasSubstr("another run of pipeline 'p' is in progress"));
    EXPECT_THAT(second.err, HasSubstr(".conveyor/p-")); // <name>-<hash of the file>.lock
    EXPECT_THAT(second.err, HasSubstr(".lock"));
    const std::string data = "a\n1\n";
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
    auto r = first->wait();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // Once the first run is over the lock is free again.
    dir.write("feed2.csv", "a\n2\n");
    std::string p = kFifoPipeline;
    p.replace(p.find("feed.csv"), 8, "feed2.csv");
    dir.write("p.toml", p);
    EXPECT_EQ(test::run_conveyor({"run", "p.toml"}, o).exit_code, 0);
}

TEST(Jitter, AcceptsDurationsAndRejectsNonsense) {
    test::TempDir dir;
    dir.write("in.csv", "a\n1\n");
    dir.write("p.toml", R"(
[[stages]]
id = "in"
function = "csv.read"
inputs = []
[stages.config]
path = "in.csv"

[[stages]]
id = "out"
function = "json.write"
inputs = ["in"]
[stages.config]
path = "out.json"
)");
    test::ProcessOptions o;
    o.cwd = dir.path();
    EXPECT_EQ(test::run_conveyor({"run", "p.toml", "--jitter", "0s"}, o).exit_code, 0);
    EXPECT_EQ(test::run_conveyor({"run", "p.toml", "--jitter", "1ms", "-q"}, o).exit_code, 0);
    auto bad = test::run_conveyor({"run", "p.toml", "--jitter", "soon"}, o);
    EXPECT_EQ(bad.exit_code, 64);
    EXPECT_THAT(bad.err, HasSubstr("duration"));
}

TEST(Crash, KillNineNeverLeavesAPartialOutputAndTheNextRunCleansUp) {
    test::TempDir dir;
    dir.write("big.csv", test::wide_rows_csv(5000));
    dir.write("p.toml",
              test::echo_and_save_pipeline("big.csv", "out/all.json", "executor = \"channel\"\n"));
    test::ProcessOptions o;
    o.cwd = dir.path();
    {
        auto child = test::spawn_conveyor({"run", "p.toml"}, o);
        // Output is flowing (and stdout, left unread, soon stalls the run mid-way).
        ASSERT_TRUE(child->read_line(std::chrono::seconds(30)).has_value());
        child->signal(SIGKILL);
        auto r = child->wait(std::chrono::seconds(30), /*read_stdout=*/false);
        EXPECT_EQ(r.exit_code, 128 + SIGKILL);
    }
    EXPECT_FALSE(test::file_exists(dir.file("out/all.json"))) << "no partial output in place";
    const auto leftovers = test::list_dir(dir.file("out"));
    ASSERT_EQ(leftovers.size(), 1u) << "the killed run's temporary file";
    EXPECT_THAT(leftovers[0], HasSubstr(".all.json.conveyor-"));

    // A complete run afterwards: full output, and the dead run's temporary file is gone.
    auto r = test::run_conveyor({"run", "p.toml", "-q"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::list_dir(dir.file("out")), std::vector<std::string>{"all.json"});
    const std::string all = test::read_file(dir.file("out/all.json"));
    EXPECT_EQ(all.substr(all.size() - 2), "]\n");
    EXPECT_THAT(all, HasSubstr("{\"id\":4999,"));
}

} // namespace
} // namespace conveyor

// csv.write checkpoints (`conveyor run --resume`): a run killed after a checkpoint and resumed
// from it writes the file an uninterrupted run writes, byte for byte. The killed run is a
// forked child ending with SIGKILL (no finish(), no abort(), no destructor), which also wrote
// records after the checkpoint that the resumed run must cut off.

#include "conveyor/core/run_context.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/csv_write.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "csv_test_support.hpp"
#include "support/killed_process.hpp"
#include "support/process.hpp"
#include "support/sink_driver.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <vector>

namespace conveyor::recordio::csv {
namespace {

constexpr std::size_t kBatches = 6;

/// Six batches of three records; odd batches list the fields in the other order (matched to
/// the header by name), and the names need quoting now and then.
std::vector<Batch> input() {
    static const char* const kNames[] = {"alpha", "b,c", "say \"hi\"", "line\nbreak", ""};
    const SchemaRef id_name = make_schema({"id", "name"});
    const SchemaRef name_id = make_schema({"name", "id"});
    std::vector<Batch> batches;
    for (std::size_t b = 0; b < kBatches; ++b) {
        Batch batch(b % 2 ? name_id : id_name);
        for (std::size_t r = 0; r < 3; ++r) {
            const auto n = static_cast<std::int64_t>(b * 3 + r);
            const Value id = Value::integer(n);
            const Value name = Value::string(kNames[n % 5]);
            batch.append_row(b % 2 ? std::vector<Value>{name, id} : std::vector<Value>{id, name});
        }
        batches.push_back(std::move(batch));
    }
    return batches;
}

/// An opened csv.write, driven as the executor drives it.
using Sink = conveyor::test::SinkDriver;

struct Case {
    bool headers = true;
    std::vector<std::string> columns;
    /// The input's schema as known at open (nullptr: from the first batch).
    SchemaRef input = make_schema({"id", "name"});
    bool append = false;
    ExecutionMode mode = ExecutionMode::Batch;
    std::int64_t flush_interval_ms = 0;
    /// What the file holds before the run (append mode).
    std::optional<std::string> existing;
};

CsvWriteConfig config_for(const Case& c, const std::string& path) {
    CsvWriteConfig config;
    config.path = path;
    config.headers = c.headers;
    config.columns = c.columns;
    config.writing.append = c.append;
    config.writing.flush_interval_ms = c.flush_interval_ms;
    config.writing.fsync_interval_ms = 3'600'000;
    return config;
}

/// The file an uninterrupted run writes (in a directory of its own).
std::string uninterrupted(const Case& c) {
    conveyor::test::TempDir dir;
    const std::string path = dir.file("out.csv");
    if (c.existing) dir.write("out.csv", *c.existing);
    auto stage = make_csv_write_stage(config_for(c, path));
    Sink sink;
    const Status s = sink.open(*stage, c.input, std::nullopt, c.mode);
    EXPECT_TRUE(s) << s.error().to_string();
    if (!s) return {};
    std::vector<Batch> in = input();
    EXPECT_TRUE(sink.push(in, 0, kBatches));
    const Status f = sink.finish();
    EXPECT_TRUE(f) << f.error().to_string();
    return conveyor::test::read_file(path);
}

/// In a killed child: opens `stage` (resuming from `resume` when given), pushes batches
/// [from, at), takes a checkpoint, pushes batch `at` and hands it to the file with a later
/// checkpoint the journal never committed, and dies. Returns the first checkpoint's text.
std::string checkpoint_and_die(const Stage& stage, const Case& c, std::size_t from, std::size_t at,
                               std::optional<std::string> resume = std::nullopt) {
    return conveyor::test::in_killed_process([&](const auto& die) {
        Sink sink;
        Status s = sink.open(stage, c.input, resume, c.mode);
        if (!s) die("ERROR " + s.error().to_string());
        if (!sink.checkpoints) die("ERROR checkpoints = false");
        std::vector<Batch> in = input();
        if (!sink.push(in, from, at)) die("ERROR push");
        auto text = sink.op->checkpoint(Checkpoint{1, at % 2 == 0});
        if (!text) die("ERROR " + text.error().to_string());
        if (!sink.push(in, at, at + 1)) die("ERROR push");
        if (!sink.op->checkpoint(Checkpoint{2, false})) die("ERROR second checkpoint");
        die(*text);
    });
}

/// Resumes from `text` (the input's schema as a resumed source may report it: that of the
/// first record it reads again), pushes batches [at, 6) and finishes.
void resume_and_finish(const Stage& stage, const Case& c, const std::string& text, std::size_t at) {
    Sink sink;
    const SchemaRef reported = c.input && at % 2 ? make_schema({"name", "id"}) : c.input;
    const Status s = sink.open(stage, reported, text, c.mode);
    EXPECT_TRUE(s) << s.error().to_string();
    if (!s) return;
    EXPECT_TRUE(sink.checkpoints);
    std::vector<Batch> in = input();
    EXPECT_TRUE(sink.push(in, at, kBatches));
    const Status f = sink.finish();
    EXPECT_TRUE(f) << f.error().to_string();
}

/// Killed after a checkpoint at batch `at`, resumed: the file, and checks on the way.
std::string interrupted(const Case& c, std::size_t at) {
    conveyor::test::TempDir dir;
    const std::string path = dir.file("out.csv");
    if (c.existing) dir.write("out.csv", *c.existing);
    auto stage = make_csv_write_stage(config_for(c, path));
    const std::string text = checkpoint_and_die(*stage, c, 0, at);
    EXPECT_FALSE(text.starts_with("ERROR")) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << "one line";
    auto cp = SinkResume::parse("csv.write", text, path, c.append);
    EXPECT_TRUE(cp.ok()) << text;
    if (!cp.ok()) return {};
    if (at < kBatches) {
        EXPECT_GT(std::filesystem::file_size(cp->position().file), cp->position().length)
            << "records after the checkpoint reached the file (and must be cut off)";
    }
    resume_and_finish(*stage, c, text, at);
    EXPECT_EQ(conveyor::test::list_dir(dir.path()), std::vector<std::string>{"out.csv"})
        << "no temporary file left";
    return conveyor::test::read_file(path);
}

void expect_resumes_identically(const Case& c) {
    const std::string expected = uninterrupted(c);
    ASSERT_FALSE(expected.empty());
    for (const std::size_t at : {0, 1, 4, 6})
        EXPECT_EQ(interrupted(c, at), expected) << "checkpoint after " << at << " batches";
}

TEST(CsvWriteCheckpoint, WithHeaderResumesByteForByte) {
    expect_resumes_identically({});
}

TEST(CsvWriteCheckpoint, AHeaderTakenFromTheFirstBatchIsKeptAcrossTheResume) {
    // The resumed run's first batch has the fields in the other order: the header (and the
    // column order) must still be the killed run's.
    expect_resumes_identically({.input = nullptr});
}

TEST(CsvWriteCheckpoint, WithoutHeaderAndWithColumns) {
    expect_resumes_identically({.headers = false, .input = nullptr});
    expect_resumes_identically({.columns = {"name", "id", "extra"}});
}

TEST(CsvWriteCheckpoint, StreamingResumesByteForByte) {
    expect_resumes_identically({.mode = ExecutionMode::Streaming});
}

TEST(CsvWriteCheckpoint, AppendCutsTheFileBackToTheCheckpoint) {
    // Under an existing header, after an unfinished line, with a flush interval that leaves
    // the records to the checkpoint.
    expect_resumes_identically({.append = true,
                                .mode = ExecutionMode::Streaming,
                                .flush_interval_ms = 3'600'000,
                                .existing = "name,id\nold,1\ncut"});
    // A new file: the header is written by the run.
    expect_resumes_identically({.input = nullptr, .append = true});
}

TEST(CsvWriteCheckpoint, KilledTwiceResumesFromTheLaterCheckpoint) {
    const Case c{.input = nullptr};
    const std::string expected = uninterrupted(c);
    conveyor::test::TempDir dir;
    const std::string path = dir.file("out.csv");
    auto stage = make_csv_write_stage(config_for(c, path));
    const std::string first = checkpoint_and_die(*stage, c, 0, 1);
    ASSERT_FALSE(first.starts_with("ERROR")) << first;
    const std::string second = checkpoint_and_die(*stage, c, 1, 3, first);
    ASSERT_FALSE(second.starts_with("ERROR")) << second;
    resume_and_finish(*stage, c, second, 3);
    EXPECT_EQ(conveyor::test::read_file(path), expected);
}

TEST(CsvWriteCheckpoint, OnlyFilesTakePartInCheckpoints) {
    conveyor::test::TempDir dir;
    auto file_stage = make_csv_write_stage(config_for({}, dir.file("a.csv")));
    Sink to_file;
    ASSERT_TRUE(to_file.open(*file_stage, nullptr, std::nullopt));
    EXPECT_TRUE(to_file.checkpoints);

    auto stdout_stage = make_csv_write_stage(config_for({}, "-"));
    Sink to_stdout;
    ASSERT_TRUE(to_stdout.open(*stdout_stage, nullptr, std::nullopt));
    EXPECT_FALSE(to_stdout.checkpoints);
    Sink resumed_stdout;
    EXPECT_FALSE(resumed_stdout.open(*stdout_stage, nullptr, std::string("{}")));
}

TEST(CsvWriteCheckpoint, ACharacterDeviceOrFifoTakesNoPartInCheckpoints) {
    conveyor::test::TempDir dir;
    // A copy of /dev/null where a device node can be made, else the system's.
    std::string null = dir.file("null");
    if (::mknod(null.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) null = "/dev/null";
    auto device_stage = make_csv_write_stage(config_for({}, null));
    Sink to_device;
    ASSERT_TRUE(to_device.open(*device_stage, nullptr, std::nullopt));
    EXPECT_FALSE(to_device.checkpoints) << "written directly: a resumed run cannot continue it";

    const std::string fifo = dir.file("pipe");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    conveyor::test::FifoReader reader(fifo);
    Case appending;
    appending.append = true;
    auto fifo_stage = make_csv_write_stage(config_for(appending, fifo));
    Sink to_fifo;
    ASSERT_TRUE(to_fifo.open(*fifo_stage, nullptr, std::nullopt));
    EXPECT_FALSE(to_fifo.checkpoints);
}

TEST(CsvWriteCheckpoint, MalformedTextIsAClearErrorAndTouchesNothing) {
    conveyor::test::TempDir dir;
    const std::string path = dir.file("out.csv");
    auto stage = make_csv_write_stage(config_for({.columns = {"id", "name"}}, path));
    const Case c{.columns = {"id", "name"}};
    const std::string text = checkpoint_and_die(*stage, c, 0, 2);
    ASSERT_FALSE(text.starts_with("ERROR")) << text;
    const OutputFile::Position at = SinkResume::parse("csv.write", text, path, false)->position();
    const std::string written = conveyor::test::read_file(at.file);

    const std::string common = "{\"sink\":\"csv.write\",\"target\":\"" + path +
                               "\",\"append\":false,\"file\":\"" + at.file +
                               "\",\"length\":" + std::to_string(at.length);
    const std::vector<std::string> texts = {
        "",
        "{\"sink\":\"csv.write\"}\n",
        "\"csv.write\"",
        text.substr(0, text.size() - 1),
        common + "}",
        common + ",\"header_written\":1,\"header\":null}",
        common + ",\"header_written\":true,\"header\":[1,2]}",
        common + ",\"header_written\":true,\"header\":\"id,name\"}",
        common + ",\"header_written\":true,\"header\":[\"name\",\"id\"]}", // not 'columns'
    };
    for (const std::string& t : texts) {
        Sink sink;
        const Status s = sink.open(*stage, nullptr, t);
        ASSERT_FALSE(s) << t;
        EXPECT_EQ(s.error().kind, ErrorKind::Runtime) << t;
        EXPECT_NE(s.error().message.find("conveyor run --fresh"), std::string::npos)
            << s.error().message;
        EXPECT_EQ(conveyor::test::read_file(at.file), written)
            << "refused before the output is touched";
    }

    ASSERT_EQ(::truncate(at.file.c_str(), static_cast<off_t>(at.length - 1)), 0);
    Sink shorter;
    const Status s = shorter.open(*stage, nullptr, text);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().kind, ErrorKind::CantCreate);
    EXPECT_NE(s.error().message.find("shorter"), std::string::npos) << s.error().message;

    std::filesystem::remove(at.file);
    Sink gone;
    const Status g = gone.open(*stage, nullptr, text);
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().kind, ErrorKind::CantCreate);
    EXPECT_NE(g.error().message.find("conveyor run --fresh"), std::string::npos);
}

} // namespace
} // namespace conveyor::recordio::csv

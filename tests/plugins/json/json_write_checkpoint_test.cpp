// json.write checkpoints (`conveyor run --resume`): a run killed after a checkpoint and resumed
// from it writes the file an uninterrupted run writes, byte for byte. The killed run is a
// forked child ending with SIGKILL (no finish(), no abort(), no destructor), which also wrote
// records after the checkpoint that the resumed run must cut off.

#include "conveyor/registry/sink_options.hpp"
#include "json_test_util.hpp"
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

namespace conveyor::plugins::json {
namespace {

using test_util::batch_of;

/// Six batches of three records of varied shapes.
std::vector<Batch> input() {
    std::vector<Batch> batches;
    for (int b = 0; b < 6; ++b) {
        std::vector<std::string> records;
        for (int r = 0; r < 3; ++r) {
            const int n = b * 3 + r;
            records.push_back(n % 2
                                  ? R"({"id":)" + std::to_string(n) + R"(,"tags":["x",{"y":null}]})"
                                  : R"({"id":)" + std::to_string(n) + R"(,"name":"line\nbreak"})");
        }
        batches.push_back(batch_of(records));
    }
    return batches;
}

/// An opened json.write, driven as the executor drives it (no input schema: records carry
/// their own).
struct Sink : conveyor::test::SinkDriver {
    Sink() : SinkDriver("write") {}
    Status open(const Stage& stage, std::optional<std::string> resume,
                ExecutionMode mode = ExecutionMode::Batch) {
        return SinkDriver::open(stage, nullptr, std::move(resume), mode);
    }
};

struct Case {
    JsonFormat format = JsonFormat::Jsonl;
    bool pretty = false;
    bool append = false;
    ExecutionMode mode = ExecutionMode::Batch;
    std::int64_t flush_interval_ms = 0;
    /// What the file holds before the run (append mode).
    std::optional<std::string> existing;
};

JsonWriteConfig config_for(const Case& c, const std::string& path) {
    JsonWriteConfig config{path, c.format, c.pretty, {}};
    config.writing.append = c.append;
    config.writing.flush_interval_ms = c.flush_interval_ms;
    config.writing.fsync_interval_ms = 3'600'000;
    return config;
}

/// The file an uninterrupted run writes (in a directory of its own).
std::string uninterrupted(const Case& c, std::size_t batches = 6) {
    test::TempDir dir;
    const std::string path = dir.file("out.json");
    if (c.existing) dir.write("out.json", *c.existing);
    auto stage = make_json_write(config_for(c, path));
    Sink sink;
    EXPECT_TRUE(sink.open(*stage, std::nullopt, c.mode));
    std::vector<Batch> in = input();
    EXPECT_TRUE(sink.push(in, 0, batches));
    const Status s = sink.finish();
    EXPECT_TRUE(s) << s.error().to_string();
    return test::read_file(path);
}

/// In a killed child: opens `stage` (resuming from `resume` when given), pushes batches
/// [from, at), takes a checkpoint, pushes batch `at` and hands it to the file with a later
/// checkpoint the journal never committed, and dies. Returns the first checkpoint's text.
std::string checkpoint_and_die(const Stage& stage, const Case& c, std::size_t from, std::size_t at,
                               std::optional<std::string> resume = std::nullopt) {
    return test::in_killed_process([&](const auto& die) {
        Sink sink;
        Status s = sink.open(stage, resume, c.mode);
        if (!s) die("ERROR " + s.error().to_string());
        if (!sink.checkpoints) die("ERROR checkpoints = false");
        std::vector<Batch> in = input();
        if (!sink.push(in, from, at)) die("ERROR push");
        auto text = sink.op->checkpoint(Checkpoint{1, true});
        if (!text) die("ERROR " + text.error().to_string());
        if (!sink.push(in, at, at + 1)) die("ERROR push");
        if (!sink.op->checkpoint(Checkpoint{2, false})) die("ERROR second checkpoint");
        die(*text);
    });
}

/// Resumes from `text`, pushes batches [at, 6) and finishes; the file's text.
std::string resume_and_finish(const Stage& stage, const Case& c, const std::string& text,
                              std::size_t at, const std::string& path) {
    Sink sink;
    const Status s = sink.open(stage, text, c.mode);
    EXPECT_TRUE(s) << s.error().to_string();
    if (!s) return {};
    EXPECT_TRUE(sink.checkpoints);
    std::vector<Batch> in = input();
    EXPECT_TRUE(sink.push(in, at, in.size()));
    const Status f = sink.finish();
    EXPECT_TRUE(f) << f.error().to_string();
    return test::read_file(path);
}

/// Killed after a checkpoint at batch `at`, resumed: the file, and checks on the way.
std::string interrupted(const Case& c, std::size_t at) {
    test::TempDir dir;
    const std::string path = dir.file("out.json");
    if (c.existing) dir.write("out.json", *c.existing);
    auto stage = make_json_write(config_for(c, path));
    const std::string text = checkpoint_and_die(*stage, c, 0, at);
    EXPECT_FALSE(text.starts_with("ERROR")) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << "one line";
    auto cp = SinkResume::parse("json.write", text, path, c.append);
    EXPECT_TRUE(cp.ok()) << text;
    if (!cp.ok()) return {};
    if (at < 6) {
        EXPECT_GT(std::filesystem::file_size(cp->position().file), cp->position().length)
            << "records after the checkpoint reached the file (and must be cut off)";
    }
    std::string out = resume_and_finish(*stage, c, text, at, path);
    EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"out.json"})
        << "no temporary file left";
    return out;
}

void expect_resumes_identically(const Case& c) {
    const std::string expected = uninterrupted(c);
    ASSERT_FALSE(expected.empty());
    for (const std::size_t at : {0, 1, 4, 6})
        EXPECT_EQ(interrupted(c, at), expected) << "checkpoint after " << at << " batches";
}

TEST(JsonWriteCheckpoint, JsonLinesResumeByteForByte) {
    expect_resumes_identically({.format = JsonFormat::Jsonl});
}

TEST(JsonWriteCheckpoint, ArrayResumesWithTheRightSeparatorsAndClosingBracket) {
    expect_resumes_identically({.format = JsonFormat::Records});
}

TEST(JsonWriteCheckpoint, PrettyArrayResumesByteForByte) {
    expect_resumes_identically({.format = JsonFormat::Records, .pretty = true});
}

TEST(JsonWriteCheckpoint, EmptyArrayAfterACheckpointBeforeAnyRecord) {
    const Case c{.format = JsonFormat::Records};
    test::TempDir dir;
    const std::string path = dir.file("out.json");
    auto stage = make_json_write(config_for(c, path));
    const std::string text = test::in_killed_process([&](const auto& die) {
        Sink sink;
        if (!sink.open(*stage, std::nullopt)) die("ERROR open");
        auto t = sink.op->checkpoint(Checkpoint{1, false});
        die(t ? *t : "ERROR checkpoint");
    });
    Sink sink;
    ASSERT_TRUE(sink.open(*stage, text));
    ASSERT_TRUE(sink.finish());
    EXPECT_EQ(test::read_file(path), "[]\n");
}

TEST(JsonWriteCheckpoint, StreamingStillWritesAsBatchesArrive) {
    expect_resumes_identically({.format = JsonFormat::Jsonl, .mode = ExecutionMode::Streaming});
}

TEST(JsonWriteCheckpoint, AppendCutsTheFileBackToTheCheckpoint) {
    // flush_interval_ms long enough that only the checkpoint writes the records out.
    expect_resumes_identically({.format = JsonFormat::Jsonl,
                                .append = true,
                                .mode = ExecutionMode::Streaming,
                                .flush_interval_ms = 3'600'000,
                                .existing = "{\"old\":true}\n{\"cut\":"});
    expect_resumes_identically({.format = JsonFormat::Jsonl, .append = true});
}

TEST(JsonWriteCheckpoint, KilledTwiceResumesFromEitherCheckpoint) {
    const Case c{.format = JsonFormat::Records};
    const std::string expected = uninterrupted(c);
    test::TempDir dir;
    const std::string path = dir.file("out.json");
    auto stage = make_json_write(config_for(c, path));
    const std::string first = checkpoint_and_die(*stage, c, 0, 2);
    ASSERT_FALSE(first.starts_with("ERROR")) << first;
    const std::string second = checkpoint_and_die(*stage, c, 2, 4, first);
    ASSERT_FALSE(second.starts_with("ERROR")) << second;
    EXPECT_EQ(SinkResume::parse("json.write", second, path, false)->position().file,
              SinkResume::parse("json.write", first, path, false)->position().file)
        << "the resumed run writes on in the same file";
    // The journal may hold either: the second run's checkpoint, or (if it was killed before
    // committing one) the first.
    const std::string file = SinkResume::parse("json.write", first, path, false)->position().file;
    const std::string at_second_kill = test::read_file(file);
    EXPECT_EQ(resume_and_finish(*stage, c, first, 2, path), expected);
    ASSERT_TRUE(test::file_exists(path));
    std::filesystem::remove(path);
    {
        std::FILE* f = std::fopen(file.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fwrite(at_second_kill.data(), 1, at_second_kill.size(), f);
        std::fclose(f);
    }
    EXPECT_EQ(resume_and_finish(*stage, c, second, 4, path), expected);
}

TEST(JsonWriteCheckpoint, OnlyFilesTakePartInCheckpoints) {
    test::TempDir dir;
    auto file_stage = make_json_write({dir.file("a.jsonl"), JsonFormat::Jsonl, false, {}});
    Sink to_file;
    ASSERT_TRUE(to_file.open(*file_stage, std::nullopt));
    EXPECT_TRUE(to_file.checkpoints);

    auto stdout_stage = make_json_write({"-", JsonFormat::Jsonl, false, {}});
    Sink to_stdout;
    ASSERT_TRUE(to_stdout.open(*stdout_stage, std::nullopt));
    EXPECT_FALSE(to_stdout.checkpoints);
    Sink resumed_stdout;
    EXPECT_FALSE(resumed_stdout.open(*stdout_stage, std::string("{}")));
}

TEST(JsonWriteCheckpoint, ACharacterDeviceOrFifoTakesNoPartInCheckpoints) {
    test::TempDir dir;
    // A copy of /dev/null where a device node can be made, else the system's.
    std::string null = dir.file("null");
    if (::mknod(null.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) null = "/dev/null";
    auto device_stage = make_json_write({null, JsonFormat::Jsonl, false, {}});
    Sink to_device;
    ASSERT_TRUE(to_device.open(*device_stage, std::nullopt));
    EXPECT_FALSE(to_device.checkpoints) << "written directly: a resumed run cannot continue it";

    const std::string fifo = dir.file("pipe");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    test::FifoReader reader(fifo);
    auto fifo_stage = make_json_write({fifo, JsonFormat::Jsonl, false, {}});
    Sink to_fifo;
    ASSERT_TRUE(to_fifo.open(*fifo_stage, std::nullopt));
    EXPECT_FALSE(to_fifo.checkpoints);
}

TEST(JsonWriteCheckpoint, MalformedTextIsAClearError) {
    test::TempDir dir;
    const std::string path = dir.file("out.json");
    const std::string bystander = dir.write("keep.json", "precious");
    auto stage = make_json_write({path, JsonFormat::Records, false, {}});
    const std::string target = "\"target\":\"" + path + "\"";
    const std::vector<std::string> texts = {
        "",
        "not json",
        "{\"sink\":",
        "[1,2]",
        "{}",
        "{\"sink\":\"csv.write\"," + target + ",\"append\":false,\"file\":\"x\",\"length\":0}",
        "{\"sink\":\"json.write\",\"target\":\"elsewhere.json\",\"append\":false,\"file\":\"x\","
        "\"length\":0}",
        "{\"sink\":\"json.write\"," + target + ",\"append\":true,\"file\":\"x\",\"length\":0}",
        "{\"sink\":\"json.write\"," + target + ",\"append\":false,\"file\":\"x\",\"length\":-1}",
        "{\"sink\":\"json.write\"," + target + ",\"append\":false,\"file\":\"x\",\"length\":\"1\"}",
        "{\"sink\":\"json.write\"," + target + ",\"append\":false,\"file\":\"" + bystander +
            "\",\"length\":0,\"format\":\"records\",\"pretty\":false,\"array_open\":false}",
        "{\"sink\":\"json.write\"," + target + ",\"append\":false,\"file\":\"x\",\"length\":0," +
            "\"format\":\"records\",\"pretty\":false}",
    };
    for (const std::string& text : texts) {
        Sink sink;
        const Status s = sink.open(*stage, text);
        ASSERT_FALSE(s) << text;
        EXPECT_EQ(s.error().kind, ErrorKind::Runtime) << text;
        EXPECT_NE(s.error().message.find("conveyor run --fresh"), std::string::npos)
            << s.error().message;
    }
    EXPECT_EQ(test::read_file(bystander), "precious");
    EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"keep.json"});
}

TEST(JsonWriteCheckpoint, OutputGoneOrShorterIsAClearErrorAndAMismatchKeepsIt) {
    const Case c{.format = JsonFormat::Records};
    test::TempDir dir;
    const std::string path = dir.file("out.json");
    auto stage = make_json_write(config_for(c, path));
    const std::string text = checkpoint_and_die(*stage, c, 0, 3);
    ASSERT_FALSE(text.starts_with("ERROR")) << text;
    const OutputFile::Position at = SinkResume::parse("json.write", text, path, false)->position();

    // Resumed with another format: refused before the output is touched.
    auto jsonl = make_json_write({path, JsonFormat::Jsonl, false, {}});
    Sink other;
    const Status mismatch = other.open(*jsonl, text);
    ASSERT_FALSE(mismatch);
    EXPECT_NE(mismatch.error().message.find("format"), std::string::npos);
    EXPECT_TRUE(test::file_exists(at.file));

    ASSERT_EQ(::truncate(at.file.c_str(), static_cast<off_t>(at.length - 1)), 0);
    Sink shorter;
    const Status s = shorter.open(*stage, text);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().kind, ErrorKind::CantCreate);
    EXPECT_NE(s.error().message.find("shorter"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("conveyor run --fresh"), std::string::npos);

    std::filesystem::remove(at.file);
    Sink gone;
    const Status g = gone.open(*stage, text);
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().kind, ErrorKind::CantCreate);
    EXPECT_NE(g.error().message.find("gone"), std::string::npos) << g.error().message;
    EXPECT_NE(g.error().message.find("conveyor run --fresh"), std::string::npos);
}

} // namespace
} // namespace conveyor::plugins::json

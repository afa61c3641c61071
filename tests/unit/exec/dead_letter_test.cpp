// The dead-letter queue under checkpoints: an entry waits until the checkpoint after its record
// is committed, so the file at a checkpoint holds exactly the entries of the records before it,
// and a resumed run carries on from that file.

#include "conveyor/core/bare_empty.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/dead_letter.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

namespace fs = std::filesystem;

/// The ids of the records in a dead-letter file, in order.
std::vector<std::int64_t> ids_in(const std::string& text) {
    std::vector<std::int64_t> ids;
    std::size_t pos = 0;
    while ((pos = text.find("\"record\":{\"id\":", pos)) != std::string::npos) {
        pos += 15;
        ids.push_back(std::stoll(text.substr(pos)));
    }
    return ids;
}

void add(DeadLetterQueue& q, std::int64_t id, std::uint64_t epoch) {
    const SchemaRef schema = make_schema({"id"});
    const Value row[] = {Value::integer(id)};
    ASSERT_TRUE(q.add("stage", *schema, row, Error(ErrorKind::Data, "bad"), 1, epoch));
}

TEST(DeadLetterQueue, WithoutCheckpointsEntriesAreWrittenInArrivalOrder) {
    test::TempDir dir;
    RunContext run;
    auto q = DeadLetterQueue::open(dir.file("dead.jsonl"), &run);
    ASSERT_TRUE(q);
    add(**q, 1, 5);
    add(**q, 2, 0);
    ASSERT_TRUE((*q)->commit());
    EXPECT_EQ(ids_in(test::read_file(dir.file("dead.jsonl"))), (std::vector<std::int64_t>{1, 2}));
}

TEST(DeadLetterQueue, AnEntrySaysWhatJsonTextChangesOfItsRecord) {
    // A Latin-1 field shows U+FFFD and a bare empty field shows "": the entry keeps the bytes
    // in hex and names the bare empty fields, for replay. Clean records carry neither member.
    test::TempDir dir;
    RunContext run;
    auto q = DeadLetterQueue::open(dir.file("dead.jsonl"), &run);
    ASSERT_TRUE(q);
    const SchemaRef schema = make_schema({"id", "name", "note", "city"});
    const Value odd[] = {Value::integer(1), Value::string("caf\xe9"), bare_empty(),
                         Value::string("")};
    ASSERT_TRUE((*q)->add("stage", *schema, odd, Error(ErrorKind::Data, "bad"), 1, 0));
    const Value clean[] = {Value::integer(2), Value::string("caf\xc3\xa9"), Value::null(),
                           Value::string("x")};
    ASSERT_TRUE((*q)->add("stage", *schema, clean, Error(ErrorKind::Data, "bad"), 1, 0));
    ASSERT_TRUE((*q)->add_raw("load", "1,\xff,2", Error(ErrorKind::Data, "row"), 0));
    ASSERT_TRUE((*q)->add_raw("load", "1,2", Error(ErrorKind::Data, "row"), 0));
    ASSERT_TRUE((*q)->commit());
    const std::string text = test::read_file(dir.file("dead.jsonl"));
    std::vector<std::string> lines;
    for (std::size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1)
        lines.push_back(text.substr(pos, nl - pos));
    ASSERT_EQ(lines.size(), 4u) << text;
    const auto tail = [](const std::string& line) { return line.substr(line.find("\"record\"")); };
    EXPECT_EQ(tail(lines[0]),
              "\"record\":{\"id\":1,\"name\":\"caf\xef\xbf\xbd\",\"note\":\"\",\"city\":\"\"},"
              "\"unquoted_empty\":[\"note\"],\"bytes\":{\"name\":\"636166e9\"}}");
    EXPECT_EQ(tail(lines[1]),
              "\"record\":{\"id\":2,\"name\":\"caf\xc3\xa9\",\"note\":null,\"city\":\"x\"}}");
    EXPECT_NE(lines[2].find("\"raw\":\"1,\xef\xbf\xbd,2\",\"raw_bytes\":\"312cff2c32\"}"),
              std::string::npos)
        << lines[2];
    EXPECT_EQ(lines[3].find("raw_bytes"), std::string::npos);
}

TEST(DeadLetterQueue, ACheckpointWritesTheEntriesOfTheRecordsBeforeItAndAResumeCarriesOn) {
    test::TempDir dir;
    const std::string path = dir.file("dead.jsonl");
    std::string state;
    std::string temp_copy;
    std::string temp_path;
    {
        RunContext run;
        auto q = DeadLetterQueue::open(path, &run);
        ASSERT_TRUE(q);
        (*q)->keep_back_for_checkpoints();
        add(**q, 1, 0);
        add(**q, 2, 1); // after checkpoint 1: waits for checkpoint 2
        add(**q, 3, 0); // a slower stage, still before checkpoint 1
        Result<std::string> s1 = (*q)->checkpoint(1, false);
        ASSERT_TRUE(s1) << s1.error().to_string();
        add(**q, 4, 2);
        Result<std::string> s2 = (*q)->checkpoint(2, true);
        ASSERT_TRUE(s2);
        state = *s2;
        add(**q, 5, 2); // after checkpoint 2, then the process dies
        auto parsed = SinkResume::parse(DeadLetterQueue::kCheckpointName, state, path, false);
        ASSERT_TRUE(parsed) << state;
        temp_path = parsed->position().file;
        ASSERT_TRUE(fs::exists(temp_path)) << state;
        EXPECT_EQ(ids_in(test::read_file(temp_path)), (std::vector<std::int64_t>{1, 3, 2}))
            << "checkpoint 1 covers 1 and 3, checkpoint 2 adds 2; 4 and 5 wait";
        // A killed process leaves its temporary file behind; keep a copy to put back.
        temp_copy = test::read_file(temp_path);
    }
    dir.write(fs::path(temp_path).filename().string(), temp_copy);
    RunContext run;
    auto q = DeadLetterQueue::open(path, &run, state);
    ASSERT_TRUE(q) << q.error().to_string();
    EXPECT_EQ((*q)->count(), 3u);
    add(**q, 4, 2); // the records after checkpoint 2 are processed again
    add(**q, 5, 2);
    ASSERT_TRUE((*q)->commit());
    EXPECT_EQ(ids_in(test::read_file(path)), (std::vector<std::int64_t>{1, 3, 2, 4, 5}))
        << "every entry once";
}

TEST(DeadLetterQueue, AMalformedOrMissingCheckpointStateIsAnError) {
    test::TempDir dir;
    RunContext run;
    EXPECT_FALSE(DeadLetterQueue::open(dir.file("dead.jsonl"), &run, std::string("nonsense")));
    const std::string path = dir.file("dead.jsonl");
    EXPECT_FALSE(DeadLetterQueue::open(
        path, &run,
        sink_checkpoint_text(DeadLetterQueue::kCheckpointName, path, false,
                             {dir.file(".dead.jsonl.conveyor-1-gone.tmp"), 10}, "\"entries\":1")));
}

} // namespace
} // namespace conveyor

#include "json_test_util.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <vector>

namespace conveyor::plugins::json {

using namespace recordio::json;
namespace {

using test_util::batch_of;
using test_util::build;
using test_util::SinkRun;
using test_util::to_jsonl;

/// Writes `batches` (all on port 0) with `config` and returns the file's text.
std::string write_all(const JsonWriteConfig& config, std::vector<Batch> batches) {
    auto stage = make_json_write(config);
    SinkRun sink;
    Status s = sink.open(*stage);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().to_string());
    if (!s.ok()) return {};
    for (Batch& b : batches)
        EXPECT_TRUE(sink.push(0, std::move(b)).ok());
    EXPECT_TRUE(sink.done(0).ok());
    s = sink.finish();
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().to_string());
    return test::read_file(config.path);
}

TEST(JsonWrite, RecordsLayout) {
    test::TempDir dir;
    std::vector<Batch> in;
    in.push_back(batch_of({R"({"a":1,"b":"x"})", R"({"a":2,"b":"y"})"}));
    in.push_back(batch_of({R"({"c":[1,{"d":null}]})"}));
    EXPECT_EQ(write_all({dir.file("out.json"), JsonFormat::Records, false}, std::move(in)),
              "[\n{\"a\":1,\"b\":\"x\"},\n{\"a\":2,\"b\":\"y\"},\n{\"c\":[1,{\"d\":null}]}\n]\n");
}

TEST(JsonWrite, EmptyInput) {
    test::TempDir dir;
    EXPECT_EQ(write_all({dir.file("e.json"), JsonFormat::Records, false}, {}), "[]\n");
    EXPECT_EQ(write_all({dir.file("e2.json"), JsonFormat::Records, true}, {}), "[]\n");
    const std::string jsonl = dir.file("e.jsonl");
    EXPECT_EQ(write_all({jsonl, JsonFormat::Jsonl, false}, {}), "");
    EXPECT_TRUE(test::file_exists(jsonl));
}

TEST(JsonWrite, JsonlLayout) {
    test::TempDir dir;
    std::vector<Batch> in;
    in.push_back(batch_of({R"({"a":1})", R"({"b":"line\nbreak"})"}));
    EXPECT_EQ(write_all({dir.file("out.jsonl"), JsonFormat::Jsonl, false}, std::move(in)),
              "{\"a\":1}\n{\"b\":\"line\\nbreak\"}\n");
}

TEST(JsonWrite, PrettyRecords) {
    test::TempDir dir;
    std::vector<Batch> in;
    in.push_back(batch_of({R"({"a":1,"b":{"c":[true]}})", R"({"b":{}})"}));
    EXPECT_EQ(write_all({dir.file("p.json"), JsonFormat::Records, true}, std::move(in)),
              "[\n"
              "  {\n"
              "    \"a\": 1,\n"
              "    \"b\": {\n"
              "      \"c\": [\n"
              "        true\n"
              "      ]\n"
              "    }\n"
              "  },\n"
              "  {\n"
              "    \"b\": {}\n"
              "  }\n"
              "]\n");
}

TEST(JsonWrite, AbsentFieldsAreOmittedAndNumbersKeepTheirText) {
    test::TempDir dir;
    std::vector<Batch> in;
    in.push_back(batch_of({R"({"a":1.0,"b":12345678901234567890})", R"({"c":-0,"a":2.50})"}));
    EXPECT_EQ(write_all({dir.file("n.jsonl"), JsonFormat::Jsonl, false}, std::move(in)),
              "{\"a\":1.0,\"b\":12345678901234567890}\n{\"a\":2.50,\"c\":-0}\n");
}

TEST(JsonWrite, InputsAreWrittenAsTheyArriveWithoutHoldingAnyBack) {
    test::TempDir dir;
    const std::string path = dir.file("merged.jsonl");
    auto stage = make_json_write({path, JsonFormat::Jsonl, false});
    SinkRun sink;
    ASSERT_TRUE(sink.open(*stage, 3).ok());
    // Batches arrive interleaved, as under the channel executor, and are written at once.
    ASSERT_TRUE(sink.push(2, batch_of({R"({"p":2,"i":0})"})).ok());
    ASSERT_TRUE(sink.push(1, batch_of({R"({"p":1,"i":0})"})).ok());
    ASSERT_TRUE(sink.push(0, batch_of({R"({"p":0,"i":0})"})).ok());
    ASSERT_TRUE(sink.done(2).ok());
    ASSERT_TRUE(sink.push(0, batch_of({R"({"p":0,"i":1})"})).ok());
    ASSERT_TRUE(sink.done(0).ok());
    ASSERT_TRUE(sink.done(1).ok());
    ASSERT_TRUE(sink.finish().ok());
    EXPECT_EQ(test::read_file(path), "{\"p\":2,\"i\":0}\n{\"p\":1,\"i\":0}\n"
                                     "{\"p\":0,\"i\":0}\n{\"p\":0,\"i\":1}\n");
}

TEST(JsonWrite, OutputAppearsOnlyOnFinish) {
    test::TempDir dir;
    const std::string path = dir.file("sub/out.json");
    auto stage = make_json_write({path, JsonFormat::Records, false});
    SinkRun sink;
    ASSERT_TRUE(sink.open(*stage).ok());
    // Enough to pass the writer's internal chunk size, so bytes really reach the temp file.
    std::vector<std::string> rows;
    for (int i = 0; i < 20000; ++i)
        rows.push_back("{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(60, 'p') +
                       "\"}");
    ASSERT_TRUE(sink.push(0, batch_of(rows)).ok());
    EXPECT_FALSE(test::file_exists(path));
    const auto during = test::list_dir(dir.file("sub"));
    ASSERT_EQ(during.size(), 1u); // the temporary file
    EXPECT_NE(during[0], "out.json");
    ASSERT_TRUE(sink.done(0).ok());
    ASSERT_TRUE(sink.finish().ok());
    EXPECT_EQ(test::list_dir(dir.file("sub")), std::vector<std::string>{"out.json"});
    EXPECT_EQ(sink.metrics.bytes_written.load(), test::read_file(path).size());
}

TEST(JsonWrite, AbortLeavesNothing) {
    test::TempDir dir;
    const std::string path = dir.file("out.json");
    auto stage = make_json_write({path, JsonFormat::Records, false});
    SinkRun sink;
    ASSERT_TRUE(sink.open(*stage).ok());
    ASSERT_TRUE(sink.push(0, batch_of({R"({"a":1})"})).ok());
    sink.op->abort();
    EXPECT_TRUE(test::list_dir(dir.path()).empty());
    sink.op.reset();
    EXPECT_TRUE(test::list_dir(dir.path()).empty());
}

TEST(JsonWrite, ExistingFileIsReplacedOnlyOnSuccess) {
    test::TempDir dir;
    const std::string path = dir.write("out.json", "old contents\n");
    {
        auto stage = make_json_write({path, JsonFormat::Records, false});
        SinkRun sink;
        ASSERT_TRUE(sink.open(*stage).ok());
        ASSERT_TRUE(sink.push(0, batch_of({R"({"a":1})"})).ok());
        sink.op->abort();
    }
    EXPECT_EQ(test::read_file(path), "old contents\n");
    EXPECT_EQ(write_all({path, JsonFormat::Records, false}, {}), "[]\n");
}

TEST(JsonWrite, CannotCreateNamesThePath) {
    test::TempDir dir;
    const std::string file = dir.write("plain.txt", "x");
    const std::string path = file + "/out.json"; // a file where a directory must be
    auto stage = make_json_write({path, JsonFormat::Records, false});
    SinkRun sink;
    Status s = sink.open(*stage);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::CantCreate);
    EXPECT_NE(s.error().to_string().find(path), std::string::npos) << s.error().to_string();
}

TEST(JsonWrite, ABatchThatCannotBeWrittenCountsAllItsRecordsAsFailed) {
    test::TempDir dir;
    // A copy of /dev/full where a device node can be made, else the system's.
    std::string full = dir.file("full");
    if (::mknod(full.c_str(), S_IFCHR | 0666, makedev(1, 7)) != 0) full = "/dev/full";
    JsonWriteConfig config{full, JsonFormat::Jsonl, false, {}};
    config.writing.append = true; // each batch is written as it comes
    auto stage = make_json_write(config);
    SinkRun sink;
    ASSERT_TRUE(sink.open(*stage).ok());
    const Status s = sink.push(0, batch_of({R"({"a":1})", R"({"a":2})"}));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::CantCreate);
    EXPECT_EQ(sink.metrics.records_failed.load(), 2u) << "in = out + failed";
}

TEST(JsonWrite, StdoutIsWrittenThroughTheRunsStream) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    auto stage = make_json_write({"-", JsonFormat::Jsonl, false});
    SinkRun sink;
    sink.run.stdout_fd = fds[1];
    ASSERT_TRUE(sink.open(*stage).ok());
    ASSERT_TRUE(sink.push(0, batch_of({R"({"a":1})"})).ok());
    ASSERT_TRUE(sink.done(0).ok());
    ASSERT_TRUE(sink.finish().ok());
    ::close(fds[1]);
    char buf[64];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    ::close(fds[0]);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "{\"a\":1}\n");
}

TEST(JsonWrite, OptionsThroughTheRegistry) {
    test::TempDir dir;
    auto write_via_registry = [&](const std::map<std::string, OptionValue>& given) {
        auto built = build("json.write", given);
        EXPECT_TRUE(built.stage) << built.diagnostics.to_string();
        SinkRun sink;
        EXPECT_TRUE(sink.open(*built.stage).ok());
        EXPECT_TRUE(sink.push(0, batch_of({R"({"a":1})", R"({"a":2})"})).ok());
        EXPECT_TRUE(sink.done(0).ok());
        EXPECT_TRUE(sink.finish().ok());
        return test::read_file(given.at("path").as_string());
    };
    EXPECT_EQ(write_via_registry({{"path", dir.file("a.jsonl")}}), "{\"a\":1}\n{\"a\":2}\n");
    EXPECT_EQ(write_via_registry({{"path", dir.file("a.NDJSON")}}), "{\"a\":1}\n{\"a\":2}\n");
    EXPECT_EQ(write_via_registry({{"path", dir.file("a.json")}}), "[\n{\"a\":1},\n{\"a\":2}\n]\n");
    EXPECT_EQ(write_via_registry({{"path", dir.file("b.jsonl")}, {"format", "records"}}),
              "[\n{\"a\":1},\n{\"a\":2}\n]\n");
    EXPECT_EQ(write_via_registry({{"path", dir.file("b.json")}, {"format", "jsonl"}}),
              "{\"a\":1}\n{\"a\":2}\n");
    EXPECT_EQ(write_via_registry({{"path", dir.file("c.json")}, {"pretty", true}}),
              "[\n  {\n    \"a\": 1\n  },\n  {\n    \"a\": 2\n  }\n]\n");

    auto built = build("json.write", {{"path", dir.file("d.jsonl")}, {"pretty", true}});
    EXPECT_TRUE(built.stage);
    ASSERT_EQ(built.diagnostics.all().size(), 1u);
    EXPECT_EQ(built.diagnostics.all()[0].severity, Diagnostic::Severity::Warning);
    EXPECT_NE(built.diagnostics.all()[0].message.find("pretty"), std::string::npos);

    Registry registry;
    register_json(registry);
    const FunctionDescriptor* fn = registry.find("json.write");
    ASSERT_NE(fn, nullptr);
    EXPECT_EQ(fn->role, StageRole::Sink);
    EXPECT_EQ(fn->min_inputs, 1u);
    EXPECT_EQ(fn->max_inputs, kUnboundedInputs);
}

// read -> write -> read gives the same records, in both formats, for heterogeneous input.
TEST(JsonRoundTrip, ReadWriteRead) {
    test::TempDir dir;
    const std::string records =
        "[\n{\"id\":1,\"name\":\"Kim\",\"score\":1.0},\n{\"id\":2,\"tags\":[\"a\",{\"b\":null}]},\n"
        "{\"name\":\"Lee \\\"L\\\"\",\"id\":3},\n{\"big\":123456789012345678901234567890,"
        "\"e\":1E+2,\"s\":\"\xED\x95\x9C\"}\n]\n";
    const std::string input = dir.write("in.json", records);
    for (const JsonFormat out_format : {JsonFormat::Records, JsonFormat::Jsonl}) {
        auto first = test_util::run_source(*make_json_read({input, JsonFormat::Records, 5}), 2);
        ASSERT_TRUE(first.ok()) << first.error().to_string();
        const std::string out =
            dir.file(out_format == JsonFormat::Jsonl ? "out.jsonl" : "out.json");
        const std::string written = write_all({out, out_format, false}, std::move(first->batches));
        if (out_format == JsonFormat::Records) {
            EXPECT_EQ(written, records);
        }
        auto again = test_util::run_source(*make_json_read({out, out_format, 7}));
        ASSERT_TRUE(again.ok()) << again.error().to_string();
        auto original = test_util::run_source(*make_json_read({input, JsonFormat::Records}));
        ASSERT_TRUE(original.ok());
        EXPECT_EQ(to_jsonl(again->batches), to_jsonl(original->batches));
    }
}

} // namespace
} // namespace conveyor::plugins::json

#include "conveyor/core/batch.hpp"
#include "conveyor/obs/tap.hpp"
#include "support/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace conveyor::obs {
namespace {

Batch numbers(std::int64_t from, std::size_t n) {
    Batch b(make_schema({"id", "name"}));
    for (std::size_t i = 0; i < n; ++i) {
        auto row = b.append_row();
        row[0] = Value::integer(from + static_cast<std::int64_t>(i));
        row[1] = Value::string("x\"y"); // a literal: static storage outlives the batch
    }
    return b;
}

/// Captures what is written to fd 2 while it lives.
class StderrCapture {
public:
    StderrCapture() : dir_(), path_(dir_.file("stderr.txt")) {
        saved_ = ::dup(2);
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 2);
        ::close(fd);
    }
    ~StderrCapture() { restore(); }
    std::string finish() {
        restore();
        return test::read_file(path_);
    }

private:
    void restore() {
        if (saved_ < 0) return;
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }
    test::TempDir dir_;
    std::string path_;
    int saved_ = -1;
};

TEST(Tap, ParsesStageAndCount) {
    auto a = parse_tap("filter");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->stage, "filter");
    EXPECT_EQ(a->limit, 10u);
    auto b = parse_tap("filter:3");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->limit, 3u);
    auto c = parse_tap("ns:stage:2"); // the count is after the last ':'
    ASSERT_TRUE(c);
    EXPECT_EQ(c->stage, "ns:stage");
    for (const char* bad : {"filter:0", "filter:x", "filter:", ":3", ""}) {
        auto r = parse_tap(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().kind, ErrorKind::Usage);
    }
}

TEST(Tap, FileNamesAreSafe) {
    EXPECT_EQ(intermediate_file_name("load_orders-2"), "load_orders-2.jsonl");
    EXPECT_EQ(intermediate_file_name("../etc/passwd"), "_.._etc_passwd.jsonl");
    EXPECT_EQ(intermediate_file_name("a b/c"), "a_b_c.jsonl");
    EXPECT_EQ(intermediate_file_name(".hidden"), "_.hidden.jsonl");
}

TEST(Tap, PrintsExactlyTheFirstNRecordsAcrossBatches) {
    auto taps = Taps::create({{"f", 3}}, std::nullopt, {}, nullptr);
    ASSERT_TRUE(taps);
    EXPECT_TRUE((*taps)->observes("f"));
    EXPECT_FALSE((*taps)->observes("g"));
    StderrCapture cap;
    Batch first = numbers(1, 2);
    Batch second = numbers(3, 5);
    (*taps)->on_batch("f", first);
    (*taps)->on_batch("f", second);
    (*taps)->on_batch("f", numbers(100, 1));
    const std::string out = cap.finish();
    EXPECT_EQ(out, "{\"tap\":\"f\",\"n\":1,\"record\":{\"id\":1,\"name\":\"x\\\"y\"}}\n"
                   "{\"tap\":\"f\",\"n\":2,\"record\":{\"id\":2,\"name\":\"x\\\"y\"}}\n"
                   "{\"tap\":\"f\",\"n\":3,\"record\":{\"id\":3,\"name\":\"x\\\"y\"}}\n");
    EXPECT_EQ(first.rows(), 2u) << "the batch itself is untouched";
    EXPECT_EQ(second.rows(), 5u);
    EXPECT_TRUE((*taps)->finish());
}

TEST(Tap, KeepsEveryRecordOfEveryListedStageAndCommitsOnFinish) {
    test::TempDir dir;
    auto taps = Taps::create({}, dir.file("inter"), {"a", "b/c", "b_c"}, nullptr);
    ASSERT_TRUE(taps);
    (*taps)->on_batch("a", numbers(1, 2));
    (*taps)->on_batch("b/c", numbers(5, 1));
    (*taps)->on_batch("a", numbers(3, 1));
    EXPECT_FALSE(test::file_exists(dir.file("inter/a.jsonl"))) << "not visible before finish()";
    ASSERT_TRUE((*taps)->finish());
    EXPECT_EQ(test::read_file(dir.file("inter/a.jsonl")),
              "{\"id\":1,\"name\":\"x\\\"y\"}\n{\"id\":2,\"name\":\"x\\\"y\"}\n"
              "{\"id\":3,\"name\":\"x\\\"y\"}\n");
    EXPECT_EQ(test::read_file(dir.file("inter/b_c.jsonl")), "{\"id\":5,\"name\":\"x\\\"y\"}\n");
    EXPECT_EQ(test::read_file(dir.file("inter/b_c-2.jsonl")), "") << "two ids, one name: two files";
    EXPECT_EQ(test::list_dir(dir.file("inter")),
              (std::vector<std::string>{"a.jsonl", "b_c-2.jsonl", "b_c.jsonl"}));
}

TEST(Tap, KeepDirThatCannotBeCreatedFailsUpFront) {
    test::TempDir dir;
    dir.write("file", "x");
    auto taps = Taps::create({}, dir.file("file"), {"a"}, nullptr);
    ASSERT_FALSE(taps);
    EXPECT_EQ(taps.error().kind, ErrorKind::CantCreate);
}

} // namespace
} // namespace conveyor::obs

// ChunkedSource (stage/chunked_source.hpp) over a fake format: records are the lines of a
// file, a chunk hands the line "bad" to the serial reader, and the serial reader reads one line
// a call. What the driving decides: the order of chunk and serial records, where each stretch
// starts and ends, bytes_read, the end of the read and stop requests.

#include "conveyor/core/run_context.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/stage/chunked_source.hpp"
#include "support/process.hpp"
#include "support/thread_work_pool.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace conveyor {
namespace {

using ::testing::ElementsAre;

/// A chunk's batch: up to two lines.
struct Lines {
    std::vector<std::string> records;
    std::uint64_t end_offset = 0;
    std::uint64_t end_line = 0;

    void add_lines(std::uint64_t first_line) noexcept { end_line += first_line; }
};

/// The chunk parser: the lines that start in [from, limit), from the first line start at or
/// after `from`; the line "bad" hands off; a chunk whose nominal start is in `unreadable` cannot
/// tell where its first record starts.
ChunkOutcome<Lines> parse_lines(const std::string& text, const std::set<std::uint64_t>& unreadable,
                                std::uint64_t from, bool exact,
                                std::optional<std::uint64_t> limit) {
    ChunkOutcome<Lines> r;
    if (unreadable.contains(from)) return r;
    std::uint64_t p = from;
    while (!exact && p > 0 && p < text.size() && text[p - 1] != '\n')
        ++p;
    r.start = p;
    std::uint64_t line = 0;
    Lines batch;
    auto flush = [&] {
        if (!batch.records.empty()) r.batches.push_back(std::move(batch));
        batch = {};
    };
    while (p < text.size() && p < limit.value_or(text.size())) {
        const std::uint64_t eol = text.find('\n', p);
        std::string record = text.substr(p, eol - p);
        if (record == "bad") {
            flush();
            r.handoff = true;
            r.handoff_offset = p;
            r.handoff_line = line;
            return r;
        }
        batch.records.push_back(std::move(record));
        p = eol + 1;
        batch.end_offset = p;
        batch.end_line = ++line;
        if (batch.records.size() == 2) flush();
    }
    flush();
    r.end = p;
    r.lines = line;
    r.input_ended = p >= text.size();
    return r;
}

/// What the fake source did: its records as they went out, its serial reader, its progress.
struct Reading {
    const std::string& text;
    StageMetrics metrics{"read"};
    std::vector<std::string> records; ///< "c:<line>" from a chunk, "s:<line>" serially
    std::vector<std::string> events;  ///< stretches: "seek O L limit", "resume O L"
    std::vector<std::string> dead;    ///< "bad" lines the serial reader left out, with line
    std::uint64_t consumed = 0;       ///< progress counted up to here (json.read's way)
    std::uint64_t pos = 0;            ///< the serial reader
    std::uint64_t line = 1;
    std::uint64_t limit = 0;
    bool input_ended_at_end = false; ///< report the input's end as csv.read does
    bool fail_on_bad = false;
    bool finished = false;
};

constexpr std::uint64_t kReadAhead = 3;

struct FakeFormat {
    Reading& r;

    void emit(Lines&& b, Emitter& /*out*/) const {
        for (std::string& record : b.records)
            r.records.push_back("c:" + record);
        r.metrics.bytes_read.fetch_add(b.end_offset - r.consumed);
        r.consumed = b.end_offset;
    }
    Status seek_serial(std::uint64_t offset, std::uint64_t line,
                       std::optional<std::uint64_t> limit) const {
        r.events.push_back(fmt::format("seek {} {} {}", offset, line,
                                       limit ? std::to_string(*limit) : std::string("none")));
        r.pos = offset;
        r.line = line;
        r.limit = limit.value_or(std::numeric_limits<std::uint64_t>::max());
        return {};
    }
    Result<StretchRead> read_serial(Emitter& /*out*/) const {
        if (r.pos >= r.text.size() || r.pos >= r.limit) {
            // A block read runs past where the reader stops.
            r.metrics.bytes_read.fetch_add(kReadAhead);
            if (r.pos >= r.text.size() && r.input_ended_at_end) return StretchRead::InputEnded;
            return StretchRead::Ended;
        }
        const std::uint64_t eol = r.text.find('\n', r.pos);
        const std::string record = r.text.substr(r.pos, eol - r.pos);
        if (record == "bad" && r.fail_on_bad)
            return Error(ErrorKind::Data, "a bad line", fmt::format("file:{}", r.line));
        (record == "bad" ? r.dead : r.records)
            .push_back(record == "bad" ? fmt::format("bad:{}", r.line) : "s:" + record);
        r.metrics.bytes_read.fetch_add(eol + 1 - r.pos);
        r.pos = eol + 1;
        ++r.line;
        return StretchRead::More;
    }
    StretchEnd stretch_ended() const {
        r.events.push_back(fmt::format("resume {} {}", r.pos, r.line));
        r.consumed = r.pos;
        return {r.pos, r.line, kReadAhead};
    }
    Status finish() const {
        r.finished = true;
        return {};
    }
};

class NullEmitter final : public Emitter {
public:
    void emit(Batch&& /*batch*/) override {}
};

/// Lines "<line>" (two digits) for lines 1..n, but the lines in `bad` read "bad".
std::string numbered_lines(int n, const std::set<int>& bad = {}) {
    std::string text;
    for (int i = 1; i <= n; ++i)
        text += bad.contains(i) ? std::string("bad\n") : fmt::format("l{:02}\n", i);
    return text;
}

/// The records of `text` in order, as a serial read would see them.
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    for (std::uint64_t p = 0; p < text.size();) {
        const std::uint64_t eol = text.find('\n', p);
        if (text.compare(p, eol - p, "bad") != 0) out.push_back(text.substr(p, eol - p));
        p = eol + 1;
    }
    return out;
}

/// The records without where they came from.
std::vector<std::string> plain(const std::vector<std::string>& tagged) {
    std::vector<std::string> out;
    for (const std::string& t : tagged)
        out.push_back(t.substr(2));
    return out;
}

class ChunkedSourceTest : public ::testing::Test {
protected:
    /// Reads all of `text` (4-byte lines, 16-byte chunks: four lines a chunk) to the end, or
    /// to the first error; returns that error's message ("" when none).
    std::string read_all(const std::string& text, Reading& r,
                         const std::set<std::uint64_t>& unreadable = {},
                         const RunContext* run = nullptr,
                         const std::function<void(int)>& after_batch = {}) {
        const std::string path = dir_.write("lines.txt", text);
        Result<InputFile> file = InputFile::open(path, nullptr);
        EXPECT_TRUE(file.ok());
        ChunkedSource<Lines> source(
            [&text, unreadable](InputFile, std::uint64_t from, bool exact,
                                std::optional<std::uint64_t> limit) {
                return parse_lines(text, unreadable, from, exact, limit);
            },
            *file, pool_, 16, 0, 1, std::nullopt, run, &r.metrics);
        NullEmitter out;
        for (int n = 0; n < 1000; ++n) {
            Result<bool> more = source.next(out, FakeFormat{r});
            if (!more) return more.error().message;
            if (!*more) return "";
            if (after_batch) after_batch(n);
        }
        ADD_FAILURE() << "the read does not end";
        return "";
    }

    test::TempDir dir_;
    test::IdleWorkPool pool_{2}; // the source's thread parses every chunk itself
};

TEST_F(ChunkedSourceTest, WithoutHandOffsEveryRecordComesFromTheChunksInFileOrder) {
    const std::string text = numbered_lines(10);
    Reading r{text};
    EXPECT_EQ(read_all(text, r), "");
    EXPECT_EQ(r.records.front(), "c:l01");
    EXPECT_EQ(plain(r.records), lines_of(text));
    for (const std::string& rec : r.records)
        EXPECT_EQ(rec.substr(0, 2), "c:");
    EXPECT_TRUE(r.events.empty());
    EXPECT_TRUE(r.finished);
    EXPECT_EQ(r.metrics.bytes_read.load(), text.size());
}

TEST_F(ChunkedSourceTest, AHandOffIsReadSeriallyToItsChunksEndThenTheChunksGoOnThere) {
    // Line 6 is the second line of the second chunk (bytes 16..32).
    const std::string text = numbered_lines(12, {6});
    Reading r{text};
    EXPECT_EQ(read_all(text, r), "");
    EXPECT_EQ(plain(r.records), lines_of(text));
    EXPECT_THAT(r.records, ElementsAre("c:l01", "c:l02", "c:l03", "c:l04", "c:l05", "s:l07",
                                       "s:l08", "c:l09", "c:l10", "c:l11", "c:l12"));
    EXPECT_THAT(r.dead, ElementsAre("bad:6"));
    EXPECT_THAT(r.events, ElementsAre("seek 20 6 32", "resume 32 9"));
    EXPECT_TRUE(r.finished);
    // What the serial reader read past its stop is not counted twice.
    EXPECT_EQ(r.metrics.bytes_read.load(), text.size());
}

TEST_F(ChunkedSourceTest, AChunkThatCannotTellWhereItStartsIsReadSerially) {
    const std::string text = numbered_lines(12);
    Reading r{text};
    EXPECT_EQ(read_all(text, r, {16}), "");
    EXPECT_EQ(plain(r.records), lines_of(text));
    EXPECT_THAT(r.events, ElementsAre("seek 16 5 32", "resume 32 9"));
    EXPECT_EQ(r.records[4], "s:l05");
    EXPECT_EQ(r.records[8], "c:l09");
    EXPECT_EQ(r.metrics.bytes_read.load(), text.size());
}

TEST_F(ChunkedSourceTest, AStretchWithoutLimitEndsTheRead) {
    // In the last chunk: the serial reader reads to the end of the input, and nothing follows.
    const std::string text = numbered_lines(10, {9});
    for (const bool csv_way : {false, true}) {
        Reading r{text};
        r.input_ended_at_end = csv_way;
        EXPECT_EQ(read_all(text, r), "");
        EXPECT_EQ(plain(r.records), lines_of(text));
        EXPECT_THAT(r.events, ElementsAre("seek 32 9 none"));
        EXPECT_THAT(r.dead, ElementsAre("bad:9"));
        EXPECT_FALSE(r.finished); // the serial reader ended its input itself
    }
}

TEST_F(ChunkedSourceTest, TheSerialReadersErrorIsPassedOnAfterTheRecordsBeforeIt) {
    const std::string text = numbered_lines(12, {6});
    Reading r{text};
    r.fail_on_bad = true;
    EXPECT_EQ(read_all(text, r), "a bad line");
    EXPECT_THAT(r.records, ElementsAre("c:l01", "c:l02", "c:l03", "c:l04", "c:l05"));
}

TEST_F(ChunkedSourceTest, AfterAStopRequestTheChunksAheadAreNotPassedOn) {
    const std::string text = numbered_lines(12);
    Reading r{text};
    RunContext run;
    // Stopped after the first batch: the rest of its chunk goes out, then the read ends.
    EXPECT_EQ(read_all(text, r, {}, &run,
                       [&run](int n) {
                           if (n == 0) run.request_stop();
                       }),
              "");
    EXPECT_THAT(r.records, ElementsAre("c:l01", "c:l02", "c:l03", "c:l04"));
    EXPECT_TRUE(r.finished);
}

} // namespace
} // namespace conveyor

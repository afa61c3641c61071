// Spill runs (exec/spill.hpp): how many a merge opens within a memory budget, and merging them
// down in passes keeps every record, in order, stably.

#include "conveyor/core/bare_empty.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/exec/spill.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <utility>
#include <vector>

namespace conveyor::spill {
namespace {

TEST(SpillFanIn, AsManyReadersAsFitHalfTheBudgetBetweenFourAndTheCap) {
    EXPECT_EQ(fan_in_for(0), 4u);
    EXPECT_EQ(fan_in_for(std::uint64_t{1} << 20), 4u) << "a tiny budget still merges 4 at once";
    EXPECT_EQ(fan_in_for(16 * kReaderBytes), 8u);
    EXPECT_EQ(fan_in_for(std::uint64_t{1} << 40), kMaxFanIn);
    for (std::uint64_t mib = 4; mib <= 1024; mib *= 2) {
        const std::uint64_t budget = mib << 20;
        EXPECT_LE(fan_in_for(budget) * kReaderBytes, budget / 2) << mib << " MiB";
    }
}

/// Runs of (key, label) records: run r holds keys r, r + runs, r + 2 * runs, ... and, last, the
/// key 0 again labelled with its run (equal keys, to see that the merge is stable).
std::vector<std::string> write_runs(Files& files, int runs, int per_run) {
    const SchemaRef schema = make_schema({"key", "label"});
    std::vector<std::string> paths;
    for (int r = 0; r < runs; ++r) {
        auto w = files.create();
        EXPECT_TRUE(w) << w.error().to_string();
        const Value zero[] = {Value::integer(0)};
        const std::string tie = "tie" + std::to_string(r);
        const Value tie_row[] = {Value::integer(0), Value::string(tie)};
        EXPECT_TRUE(w->add(zero, *schema, tie_row));
        for (int i = 0; i < per_run; ++i) {
            const std::int64_t k = 1 + r + static_cast<std::int64_t>(i) * runs;
            const Value key[] = {Value::integer(k)};
            const Value row[] = {Value::integer(k), Value::string("x")};
            EXPECT_TRUE(w->add(key, *schema, row));
        }
        EXPECT_TRUE(w->close());
        paths.push_back(w->path());
    }
    return paths;
}

// A bare empty field (csv.read without type inference) comes back from a run still marked,
// an empty string still not, absent fields before it counted out, also after a merge copied
// the line into another run.
TEST(SpillRuns, BareEmptyFieldsComeBackMarked) {
    test::TempDir dir;
    Files files(dir.file("spill"), "s", nullptr);
    const SchemaRef schema = make_schema({"a", "b", "c", "d", "e"});
    auto w = files.create();
    ASSERT_TRUE(w) << w.error().to_string();
    const Value key[] = {Value::integer(1)};
    const Value row[] = {Value::absent(), bare_empty(), Value::string(""), Value::null(),
                         bare_empty()};
    ASSERT_TRUE(w->add(key, *schema, row));
    const Value plain[] = {Value::string("x"), Value::string(""), Value::absent(),
                           Value::integer(2), Value::string("y")};
    ASSERT_TRUE(w->add(key, *schema, plain));
    ASSERT_TRUE(w->close());

    auto copy = files.create();
    ASSERT_TRUE(copy) << copy.error().to_string();
    {
        auto r = RunReader::open(w->path(), 1);
        ASSERT_TRUE(r) << r.error().to_string();
        for (Result<bool> more = (*r)->next(); more && *more; more = (*r)->next())
            ASSERT_TRUE(copy->add_line((*r)->line()));
    }
    ASSERT_TRUE(copy->close());

    for (const std::string& path : {w->path(), copy->path()}) {
        auto r = RunReader::open(path, 1);
        ASSERT_TRUE(r) << r.error().to_string();
        ASSERT_TRUE(*(*r)->next());
        std::span<const Member> f = (*r)->record().as_object();
        ASSERT_EQ(f.size(), 4u) << path; // a is absent
        EXPECT_EQ(f[0].key, "b");
        EXPECT_TRUE(is_bare_empty(f[0].value)) << path;
        EXPECT_TRUE(f[1].value.is_string() && f[1].value.as_string().empty());
        EXPECT_FALSE(is_bare_empty(f[1].value)) << path;
        EXPECT_TRUE(f[2].value.is_null());
        EXPECT_TRUE(is_bare_empty(f[3].value)) << path;
        ASSERT_TRUE(*(*r)->next());
        f = (*r)->record().as_object();
        ASSERT_EQ(f.size(), 4u);
        for (const Member& m : f)
            EXPECT_FALSE(is_bare_empty(m.value)) << path << " " << m.key;
        EXPECT_FALSE(*(*r)->next());
    }
    // The run holds `[key,{record},[positions]]` only where a record had any.
    std::string text;
    {
        auto r = RunReader::open(w->path(), 1);
        ASSERT_TRUE(r);
        ASSERT_TRUE(*(*r)->next());
        text = std::string((*r)->line());
    }
    EXPECT_EQ(text, "[1,{\"b\":\"\",\"c\":\"\",\"d\":null,\"e\":\"\"},[0,3]]");
}

// Bytes that are not UTF-8 (a Latin-1 file read as text) come back from a run as they were,
// in a field and in a key; JSON text alone would hold U+FFFD in their place.
TEST(SpillRuns, BytesThatAreNotUtf8ComeBackAsTheyWere) {
    test::TempDir dir;
    Files files(dir.file("spill"), "s", nullptr);
    const SchemaRef schema = make_schema({"name", "city", "note"});
    auto w = files.create();
    ASSERT_TRUE(w) << w.error().to_string();
    const std::string latin = "caf\xe9";
    const std::string broken = "\xff\xfe\x80x";
    const Value key[] = {Value::string(latin), Value::integer(7)};
    const Value row[] = {Value::string(latin), Value::string("K\xc3\xb6ln"), Value::string(broken)};
    ASSERT_TRUE(w->add(key, *schema, row));
    ASSERT_TRUE(w->close());
    auto r = RunReader::open(w->path(), 2);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_TRUE(*(*r)->next());
    EXPECT_EQ((*r)->keys()[0].as_string(), latin);
    EXPECT_EQ((*r)->keys()[1].as_int(), 7);
    const std::span<const Member> f = (*r)->record().as_object();
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0].value.as_string(), latin);
    EXPECT_EQ(f[1].value.as_string(), "K\xc3\xb6ln"); // UTF-8 needs nothing
    EXPECT_EQ(f[2].value.as_string(), broken);
    EXPECT_EQ((*r)->line(), "[\"caf\xef\xbf\xbd\",7,{\"name\":\"caf\xef\xbf\xbd\",\"city\":"
                            "\"K\xc3\xb6ln\",\"note\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\"},"
                            "[[0,\"636166e9\"],[2,\"fffe8078\"],[-1,\"636166e9\"]]]");
}

// A key that is not UTF-8 beside a record that is (a sort key computed from other text):
// its bytes still come back.
TEST(SpillRuns, AKeyThatIsNotUtf8BesideACleanRecordComesBackAsItWas) {
    test::TempDir dir;
    Files files(dir.file("spill"), "s", nullptr);
    const SchemaRef schema = make_schema({"name"});
    auto w = files.create();
    ASSERT_TRUE(w) << w.error().to_string();
    const Value key[] = {Value::string("caf\xe9")};
    const Value row[] = {Value::string("cafe")};
    ASSERT_TRUE(w->add(key, *schema, row));
    ASSERT_TRUE(w->close());
    auto r = RunReader::open(w->path(), 1);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_TRUE(*(*r)->next());
    EXPECT_EQ((*r)->keys()[0].as_string(), "caf\xe9");
    EXPECT_EQ((*r)->record().as_object()[0].value.as_string(), "cafe");
}

TEST(SpillMergeDown, PassesLeaveAtMostFanInRunsHoldingEveryRecordInOrderStably) {
    test::TempDir dir;
    Files files(dir.file("spill"), "s", nullptr);
    constexpr int kRuns = 23;
    constexpr int kPerRun = 50;
    std::vector<std::string> runs = write_runs(files, kRuns, kPerRun);
    ASSERT_TRUE(merge_down(files, runs, 1, compare_sequence, 3));
    EXPECT_LE(runs.size(), 3u);
    // The merged-away runs are gone: what is left on disk is what `runs` names.
    std::size_t on_disk = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.file("spill")))
        ++on_disk;
    EXPECT_EQ(on_disk, runs.size());

    auto merger = Merger::open(runs, 1, compare_sequence);
    ASSERT_TRUE(merger) << merger.error().to_string();
    std::vector<std::pair<std::int64_t, std::string>> got;
    while (!(*merger)->done()) {
        const Value& rec = (*merger)->top().record();
        got.emplace_back(rec.find("key")->as_int(), std::string(rec.find("label")->as_string()));
        ASSERT_TRUE((*merger)->pop());
    }
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kRuns * (kPerRun + 1)));
    for (int r = 0; r < kRuns; ++r) // equal keys in the order of their runs
        EXPECT_EQ(got[static_cast<std::size_t>(r)],
                  std::make_pair(std::int64_t{0}, "tie" + std::to_string(r)));
    for (std::size_t i = kRuns; i < got.size(); ++i)
        EXPECT_EQ(got[i].first, static_cast<std::int64_t>(i - kRuns + 1));
}

} // namespace
} // namespace conveyor::spill

#include "conveyor/exec/journal.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

PipelineSpec pipeline_in(const test::TempDir& dir, const std::string& input_path) {
    dir.write("p.toml", "# pipeline\n");
    PipelineSpec p;
    p.name = "p";
    p.file = dir.file("p.toml");
    StageSpec src;
    src.id = "in";
    src.config.set("path", input_path, {}, true);
    p.stages.push_back(std::move(src));
    return p;
}

TEST(RunJournal, RecordsAreFoundAgainByAResumedRun) {
    test::TempDir dir;
    const std::string input = dir.write("in.csv", "a\n1\n");
    PipelineSpec p = pipeline_in(dir, input);
    {
        std::string note;
        auto j = RunJournal::open(p, RunJournal::Mode::Fresh, &note);
        ASSERT_TRUE(j);
        EXPECT_EQ(note, "");
        EXPECT_FALSE(std::filesystem::exists((*j)->directory()))
            << "nothing recorded, nothing created";
        ASSERT_TRUE((*j)->record("fetch", RunJournal::fingerprint("GET /1"), R"({"ok":1})"));
        ASSERT_TRUE((*j)->record("fetch", RunJournal::fingerprint("GET /2"), R"({"ok":2})"));
        // ... and the process dies here: no complete().
    }
    std::string note;
    auto j = RunJournal::open(p, RunJournal::Mode::Resume, &note);
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)->loaded(), 2u);
    EXPECT_NE(note.find("2 results"), std::string::npos) << note;
    EXPECT_EQ((*j)->lookup("fetch", RunJournal::fingerprint("GET /2")), R"({"ok":2})");
    EXPECT_FALSE((*j)->lookup("fetch", RunJournal::fingerprint("GET /3")));
    EXPECT_FALSE((*j)->lookup("other", RunJournal::fingerprint("GET /2"))) << "keys are per stage";
    EXPECT_EQ((*j)->reused(), 1u);
    (*j)->complete();
    EXPECT_FALSE(std::filesystem::exists((*j)->directory()));
}

TEST(RunJournal, ACutShortLastEntryIsIgnored) {
    test::TempDir dir;
    PipelineSpec p = pipeline_in(dir, dir.write("in.csv", "a\n"));
    std::string journal_dir;
    {
        auto j = RunJournal::open(p, RunJournal::Mode::Fresh, nullptr);
        ASSERT_TRUE((*j)->record("s", "k1", "v1"));
        journal_dir = (*j)->directory();
    }
    std::ofstream(journal_dir + "/entries", std::ios::app) << "s\tk2\tv2-without-newl";
    auto j = RunJournal::open(p, RunJournal::Mode::Resume, nullptr);
    EXPECT_EQ((*j)->loaded(), 1u);
    EXPECT_EQ((*j)->lookup("s", "k1"), "v1");
}

TEST(RunJournal, AChangedInputOrPipelineStartsAfresh) {
    test::TempDir dir;
    const std::string input = dir.write("in.csv", "a\n1\n");
    PipelineSpec p = pipeline_in(dir, input);
    {
        auto j = RunJournal::open(p, RunJournal::Mode::Fresh, nullptr);
        ASSERT_TRUE((*j)->record("s", "k", "v"));
    }
    dir.write("in.csv", "a\n1\n2\n");
    std::string note;
    auto j = RunJournal::open(p, RunJournal::Mode::Resume, &note);
    EXPECT_EQ((*j)->loaded(), 0u);
    EXPECT_NE(note.find("changed"), std::string::npos) << note;
    ASSERT_TRUE((*j)->record("s", "k", "v"));
    j->reset(); // this run is over (one journal owner at a time)

    dir.write("p.toml", "# edited pipeline\n");
    auto again = RunJournal::open(p, RunJournal::Mode::Resume, &note);
    EXPECT_EQ((*again)->loaded(), 0u);
}

TEST(RunJournal, FreshDiscardsAndSaysSo) {
    test::TempDir dir;
    PipelineSpec p = pipeline_in(dir, dir.write("in.csv", "a\n"));
    {
        auto j = RunJournal::open(p, RunJournal::Mode::Fresh, nullptr);
        ASSERT_TRUE((*j)->record("s", "k", "v"));
    }
    std::string note;
    auto j = RunJournal::open(p, RunJournal::Mode::Fresh, &note);
    EXPECT_NE(note.find("--resume"), std::string::npos);
    EXPECT_FALSE((*j)->lookup("s", "k"));
    auto nothing =
        RunJournal::open(pipeline_in(dir, dir.file("in.csv")), RunJournal::Mode::Resume, &note);
    EXPECT_NE(note.find("nothing to resume"), std::string::npos) << note;
}

TEST(RunJournal, TheLastWholeCheckpointIsTheOneResumedFrom) {
    test::TempDir dir;
    PipelineSpec p = pipeline_in(dir, dir.write("in.csv", "a\n1\n"));
    std::string journal_dir;
    {
        auto j = RunJournal::open(p, RunJournal::Mode::Fresh, nullptr);
        ASSERT_TRUE(j);
        ASSERT_TRUE((*j)->commit_checkpoint(1, {{"in", "csv1 offset=2"}, {"out", "{\"length\":0}"}},
                                            false));
        // States may hold tabs, backslashes and line breaks: they are escaped in the file.
        ASSERT_TRUE(
            (*j)->commit_checkpoint(2, {{"in", "a\tb\\c\nd"}, {"out", "{\"length\":9}"}}, true));
        ASSERT_TRUE((*j)->record_finished("side"));
        journal_dir = (*j)->directory();
    }
    std::ofstream(journal_dir + "/checkpoints", std::ios::app) << "c\t3\tin\tcut-sh";
    std::string note;
    auto j = RunJournal::open(p, RunJournal::Mode::Resume, &note);
    ASSERT_TRUE(j);
    const auto& cp = (*j)->resumed_checkpoint();
    ASSERT_TRUE(cp);
    EXPECT_EQ(cp->id, 2u);
    EXPECT_EQ(cp->states.at("in"), "a\tb\\c\nd");
    EXPECT_EQ(cp->states.at("out"), "{\"length\":9}");
    EXPECT_TRUE((*j)->finished_before("side"));
    EXPECT_FALSE((*j)->finished_before("out"));
    EXPECT_NE(note.find("from checkpoint 2"), std::string::npos) << note;
    (*j)->discard_checkpoints();
    j->reset();
    auto again = RunJournal::open(p, RunJournal::Mode::Resume, nullptr);
    ASSERT_TRUE(again);
    EXPECT_FALSE((*again)->resumed_checkpoint()) << "a failed or stopped run leaves none";
}

TEST(RunJournal, AnOverlappingRunLeavesTheOwnersJournalAlone) {
    test::TempDir dir;
    PipelineSpec p = pipeline_in(dir, dir.write("in.csv", "a\n1\n"));
    auto owner = RunJournal::open(p, RunJournal::Mode::Fresh, nullptr);
    ASSERT_TRUE(owner);
    ASSERT_TRUE((*owner)->record("fetch", "k1", "v1"));
    ASSERT_TRUE((*owner)->commit_checkpoint(1, {{"in", "csv1"}}, false));

    // A second run of the same pipeline while the first is going.
    std::string note;
    auto second = RunJournal::open(p, RunJournal::Mode::Fresh, &note);
    ASSERT_TRUE(second);
    EXPECT_FALSE((*second)->usable());
    EXPECT_NE(note.find("another run"), std::string::npos) << note;
    EXPECT_TRUE((*second)->record("fetch", "k2", "v2")) << "records nothing, fails nothing";
    (*second)->complete();
    EXPECT_TRUE(std::filesystem::exists((*owner)->directory())) << "not removed by the other run";
    auto resume_now = RunJournal::open(p, RunJournal::Mode::Resume, nullptr);
    ASSERT_FALSE(resume_now) << "the run to resume is still going";
    EXPECT_EQ(resume_now.error().kind, ErrorKind::TempFail);

    owner->reset(); // killed: the lock goes with the process
    auto resumed = RunJournal::open(p, RunJournal::Mode::Resume, nullptr);
    ASSERT_TRUE(resumed);
    EXPECT_EQ((*resumed)->loaded(), 1u);
    EXPECT_TRUE((*resumed)->resumed_checkpoint());
}

} // namespace
} // namespace conveyor

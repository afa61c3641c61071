// Glob paths of file sources (io/file_glob.hpp): what a pattern matches, in which order, and how
// partition = "files" deals the files to the shards.

#include "conveyor/io/file_glob.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <set>
#include <sys/stat.h>

namespace conveyor {
namespace {

std::vector<std::string> paths_of(const std::vector<MatchedFile>& files) {
    std::vector<std::string> out;
    for (const MatchedFile& f : files)
        out.push_back(f.path);
    return out;
}

TEST(FileGlob, RecognisesGlobCharactersInAnyComponent) {
    EXPECT_FALSE(is_glob("data/orders.csv"));
    EXPECT_FALSE(is_glob("-"));
    EXPECT_TRUE(is_glob("data/2026-*/part.csv"));
    EXPECT_TRUE(is_glob("data/part-?.csv"));
    EXPECT_TRUE(is_glob("data/part-[0-9].csv"));
}

TEST(FileGlob, MatchesInEveryComponentSortedBytewiseWithoutDirectories) {
    test::TempDir dir;
    dir.write("data/2026-02/part-a.csv", "12345");
    dir.write("data/2026-01/part-b.csv", "1");
    dir.write("data/2026-01/part-a.csv", "12");
    dir.write("data/2026-01/part-B.csv", "123"); // 'B' < 'a' byte-wise, whatever the locale
    dir.write("data/2026-01/other.csv", "x");
    dir.write("data/2025-12/part-a.csv", "x");
    ASSERT_EQ(::mkdir(dir.file("data/2026-01/part-dir.csv").c_str(), 0755), 0);
    auto files = expand_glob(dir.file("data/2026-*/part-*.csv"));
    ASSERT_TRUE(files) << files.error().to_string();
    EXPECT_EQ(paths_of(*files), (std::vector<std::string>{dir.file("data/2026-01/part-B.csv"),
                                                          dir.file("data/2026-01/part-a.csv"),
                                                          dir.file("data/2026-01/part-b.csv"),
                                                          dir.file("data/2026-02/part-a.csv")}));
    EXPECT_EQ((*files)[0].size, 3U);
    EXPECT_EQ((*files)[3].size, 5U);
    auto some = expand_glob(dir.file("data/2026-0[2]/part-?.csv"));
    ASSERT_TRUE(some);
    EXPECT_EQ(paths_of(*some), std::vector<std::string>{dir.file("data/2026-02/part-a.csv")});
}

TEST(FileGlob, NoMatchIsMissingInputNamingThePattern) {
    test::TempDir dir;
    const std::string pattern = dir.file("nothing/*.csv");
    auto files = expand_glob(pattern);
    ASSERT_FALSE(files);
    EXPECT_EQ(files.error().kind, ErrorKind::NoInput);
    EXPECT_NE(files.error().to_string().find(pattern), std::string::npos)
        << files.error().to_string();
    EXPECT_NE(files.error().to_string().find("no file matches"), std::string::npos);
}

TEST(FileGlob, AnExistingFileWhoseNameLooksLikeAGlobIsThatFile) {
    test::TempDir dir;
    const std::string literal = dir.write("data[1].csv", "a\n1\n");
    dir.write("data1.csv", "a\n2\n");
    auto files = expand_glob(literal);
    ASSERT_TRUE(files);
    EXPECT_EQ(paths_of(*files), std::vector<std::string>{literal});
}

TEST(FileGlob, FilesAreDealtByLeastLoadedShardLargestFirst) {
    // Sizes 70, 50, 40, 40, 30, 20, 10 to 3 shards: 70 -> 0; 50 -> 1; 40 (b) -> 2;
    // 40 (c) -> 2 (loads 70, 50, 40); 30 (a) -> 1 (70, 50, 80); 20 (g) -> 0 (70, 80, 80);
    // 10 (e) -> 1 (loads 90, 80, 80: the lowest index of the least loaded).
    const std::vector<MatchedFile> files = {{"a", 30}, {"b", 40}, {"c", 40}, {"d", 70},
                                            {"e", 10}, {"f", 50}, {"g", 20}};
    EXPECT_EQ(files_of_shard(files, {0, 3}), (std::vector<std::size_t>{3, 6}));
    EXPECT_EQ(files_of_shard(files, {1, 3}), (std::vector<std::size_t>{0, 4, 5}));
    EXPECT_EQ(files_of_shard(files, {2, 3}), (std::vector<std::size_t>{1, 2}));
}

TEST(FileGlob, EveryShardCountGivesDisjointSharesCoveringAllFiles) {
    std::vector<MatchedFile> files;
    for (int i = 0; i < 23; ++i)
        files.push_back({"f" + std::to_string(100 + i), static_cast<std::uint64_t>((i * 37) % 11)});
    for (std::uint32_t n = 1; n <= 30; ++n) {
        std::multiset<std::size_t> seen;
        for (std::uint32_t i = 0; i < n; ++i) {
            const std::vector<std::size_t> mine = files_of_shard(files, {i, n});
            EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
            seen.insert(mine.begin(), mine.end());
        }
        ASSERT_EQ(seen.size(), files.size()) << n << " shards";
        for (std::size_t f = 0; f < files.size(); ++f)
            EXPECT_EQ(seen.count(f), 1U) << n << " shards, file " << f;
    }
}

} // namespace
} // namespace conveyor

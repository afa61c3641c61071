#include "conveyor/core/suggest.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace conveyor {
namespace {

const std::vector<std::string> kKeys = {"path", "has_header", "delimiter", "columns"};

TEST(SuggestTest, FindsTypos) {
    EXPECT_EQ(closest_match("pth", kKeys), "path");            // deletion
    EXPECT_EQ(closest_match("paths", kKeys), "path");          // insertion
    EXPECT_EQ(closest_match("delimeter", kKeys), "delimiter"); // substitution
    EXPECT_EQ(closest_match("colunms", kKeys), "columns");     // transposition
    EXPECT_EQ(closest_match("PATH", kKeys), "path");           // case
}

TEST(SuggestTest, RejectsWordsThatAreTooDifferent) {
    EXPECT_EQ(closest_match("url", kKeys), std::nullopt);
    EXPECT_EQ(closest_match("x", kKeys), std::nullopt);
    EXPECT_EQ(closest_match("path", std::vector<std::string>{}), std::nullopt);
    // One-letter names: a different letter is no hint; a letter more or less still is.
    const std::vector<std::string> short_names = {"a", "b", "id"};
    EXPECT_EQ(closest_match("c", short_names), std::nullopt);
    EXPECT_EQ(closest_match("ab", std::vector<std::string>{"cd"}), std::nullopt);
    EXPECT_EQ(closest_match("idd", short_names), "id");
    EXPECT_EQ(closest_match("i", short_names), "id");
}

TEST(SuggestTest, PrefersTheClosestCandidate) {
    const std::vector<std::string> names = {"csv.read", "csv.write", "json.read"};
    EXPECT_EQ(closest_match("csv.writ", names), "csv.write");
    EXPECT_EQ(closest_match("jsn.read", names), "json.read");
    EXPECT_EQ(closest_match("csv.reed", names), "csv.read");
}

TEST(SuggestTest, AcceptsAPrefixOrSuffixTypedInFull) {
    const std::vector<std::string> names = {"csv.read", "http.fetch"};
    EXPECT_EQ(closest_match("http", names), "http.fetch");
    EXPECT_EQ(closest_match("fetch", names), "http.fetch");
    // Too short to be a useful hint.
    EXPECT_EQ(closest_match("cs", names), std::nullopt);
}

TEST(SuggestTest, DidYouMeanFormatsOrIsEmpty) {
    EXPECT_EQ(did_you_mean("pth", kKeys), " (did you mean 'path'?)");
    EXPECT_EQ(did_you_mean("zzzzzz", kKeys), "");
}

} // namespace
} // namespace conveyor

// Limits on pipeline text checked before the TOML parser runs: deep nesting (which made the
// parser overflow the stack) and huge files are refused with exit 78 and a location.

#include "conveyor/config/loader.hpp"
#include "conveyor/registry/registry.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

std::string repeat(std::string_view piece, std::size_t n) {
    std::string s;
    s.reserve(piece.size() * n);
    for (std::size_t i = 0; i < n; ++i)
        s += piece;
    return s;
}

/// `[a.a.a...]` with `parts` key parts.
std::string deep_header(std::size_t parts) {
    return "[" + repeat("a.", parts - 1) + "a]\nx = 1\n";
}

/// The single error of a refused load.
std::string refusal(const LoadResult& r) {
    EXPECT_FALSE(r.pipeline.has_value());
    EXPECT_EQ(r.failure, ErrorKind::Config);
    EXPECT_EQ(r.diagnostics.all().size(), 1u) << r.diagnostics.to_string();
    return r.diagnostics.all().empty() ? std::string() : r.diagnostics.all().front().to_string();
}

class TomlLimits : public ::testing::Test {
protected:
    LoadResult load(const std::string& text) {
        return load_pipeline_text(text, "deep.toml", registry_);
    }
    Registry registry_;
};

TEST_F(TomlLimits, InputsThatTomlPlusPlusMishandlesAreRefusedBeforeItRuns) {
    // Found by fuzz_pipeline_loader: toml++ 3.3 asserts (undefined behaviour in a release build)
    // on a nameless table header and on some non-ASCII bytes in a bare key.
    EXPECT_THAT(refusal(load("[\n")),
                HasSubstr("deep.toml:1:2: error: a table header needs a name"));
    EXPECT_THAT(refusal(load("x = 1\n[[ ]]\n")), HasSubstr("a table header needs a name"));
    for (const char* header : {"[.]\n", "[..]\n", "[!]\n", "[a..b]\n", "[ a . ]\n", "[[a.]]\n"})
        EXPECT_THAT(refusal(load(header)), HasSubstr("a table header")) << header;
    // A line-ending backslash at the very end of the text (found by the fuzzer: the scan read
    // past the end under ASan).
    EXPECT_THAT(refusal(load("bee = \"\"\"\nhee\ngee\\\t \n")), HasSubstr("deep.toml"));
    const LoadResult valid = load("[ a . \"b c\" . d-e_1 ]\nk = 1\n");
    for (const auto& d : valid.diagnostics.all())
        EXPECT_THAT(d.to_string(), ::testing::Not(HasSubstr("table header"))) << "valid TOML";
    EXPECT_THAT(refusal(load("\xce\xbc = \"greek small letter mu\"\n")),
                HasSubstr("deep.toml:1:1: error: the character U+03BC outside a quoted string"));
    EXPECT_THAT(refusal(load("a = 1 \xc3\xa9\n")), HasSubstr("the character U+00E9"));
    EXPECT_THAT(refusal(load("[caf\xc3\xa9]\n")),
                HasSubstr("the character U+00E9 in a table header outside quotes"));
    // Other characters reach the parser, whose message is about the syntax around them.
    EXPECT_THAT(refusal(load("- 1000\xea\xb0\x9c\n")),
                HasSubstr("deep.toml:1:3: error: invalid TOML"));
    // Quoted, and in strings and comments, such characters are fine.
    const LoadResult ok = load("# caf\xc3\xa9\n[pipeline]\nname = \"caf\xc3\xa9\"\n"
                               "description = '\xce\xbc'\n");
    for (const auto& d : ok.diagnostics.all())
        EXPECT_THAT(d.to_string(), ::testing::Not(HasSubstr("ASCII")));
}

TEST_F(TomlLimits, TwentyThousandNestedTableHeaderPartsAreRefusedWithTheirPosition) {
    const std::string error = refusal(load(deep_header(20000)));
    // The 129th part is where the limit is crossed: column 1 + 128 * 2.
    EXPECT_THAT(error, HasSubstr("deep.toml:1:257"));
    EXPECT_THAT(error, HasSubstr("nest deeper than 128 levels"));
}

TEST_F(TomlLimits, ThreeHundredThousandNestedArraysAreRefusedNotACrash) {
    const std::string error = refusal(load("x = 1\na = " + repeat("[", 300000)));
    EXPECT_THAT(error, HasSubstr("deep.toml:2:133")); // "a = " then the 129th bracket
    EXPECT_THAT(error, HasSubstr("nest deeper than 128"));
}

TEST_F(TomlLimits, DeeplyNestedInlineTablesAndDottedKeysAreRefused) {
    EXPECT_THAT(refusal(load("a = " + repeat("{b = ", 50000))), HasSubstr("nest deeper"));
    EXPECT_THAT(refusal(load(repeat("k.", 50000) + "k = 1\n")), HasSubstr("deep.toml:1:"));
    // Levels add up: a header, a dotted key and an inline table within it.
    EXPECT_THAT(refusal(load(deep_header(60) + repeat("b.", 40) + "c = " + repeat("{d = ", 40) +
                             "1" + repeat("}", 40) + "\n")),
                HasSubstr("nest deeper"));
}

TEST_F(TomlLimits, NestingUpToTheLimitIsStillTomlAndBracketsInStringsDoNotCount) {
    EXPECT_TRUE(check_toml_text(deep_header(kMaxPipelineNesting), "ok.toml").all().empty());
    EXPECT_FALSE(check_toml_text(deep_header(kMaxPipelineNesting + 1), "no.toml").all().empty());
    const std::string arrays =
        "a = " + repeat("[", kMaxPipelineNesting) + "1" + repeat("]", kMaxPipelineNesting) + "\n";
    EXPECT_TRUE(check_toml_text(arrays, "ok.toml").all().empty())
        << check_toml_text(arrays, "ok.toml").to_string();
    const std::string quoted = "s = \"" + repeat("[{.", 5000) + "\"\n" + //
                               "l = '" + repeat("[{.", 5000) + "'\n" +   //
                               "m = \"\"\"\n" + repeat("[{.\n", 5000) + "\"\"\"\n" + "# " +
                               repeat("[", 5000) + "\n" + //
                               "[\"" + repeat("a.", 5000) + "\".b]\nx = 1.5\n";
    EXPECT_TRUE(check_toml_text(quoted, "ok.toml").all().empty())
        << check_toml_text(quoted, "ok.toml").to_string();
}

TEST_F(TomlLimits, AFileLargerThanFourMibIsRefusedBeforeParsing) {
    test::TempDir dir;
    const std::string path =
        dir.write("huge.toml", "# " + std::string(kMaxPipelineFileBytes, 'x') + "\n");
    LoadResult r = load_pipeline_file(path, registry_);
    const std::string error = refusal(r);
    EXPECT_THAT(error, HasSubstr("huge.toml"));
    EXPECT_THAT(error, HasSubstr("larger than 4 MiB"));
    // Just under the limit the size is fine (a comment alone is valid TOML).
    EXPECT_TRUE(check_toml_text("# " + std::string(kMaxPipelineFileBytes - 3, 'x') + "\n", "big")
                    .all()
                    .empty());
}

} // namespace
} // namespace conveyor

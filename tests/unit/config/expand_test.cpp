// Variable expansion is private to lib/src/config; its edge cases are easier to pin down here
// than through whole pipeline files (loader_test covers where expansion applies).
#include "../../../lib/src/config/expand.hpp"

#include <gtest/gtest.h>
#include <map>
#include <string>

namespace conveyor::config {
namespace {

class ExpandTest : public ::testing::Test {
protected:
    std::string expand(std::string_view text) {
        Result<std::string> r = expand_variables(text, lookup_);
        EXPECT_TRUE(r.ok()) << text << ": " << r.error().message;
        return r.ok() ? *r : std::string("<error>");
    }
    std::string error(std::string_view text) {
        Result<std::string> r = expand_variables(text, lookup_);
        EXPECT_FALSE(r.ok()) << text << " expanded to " << (r.ok() ? *r : "");
        if (r.ok()) return {};
        EXPECT_EQ(r.error().kind, ErrorKind::Config);
        return r.error().message;
    }

    std::map<std::string, std::string> vars_ = {
        {"A", "1"}, {"B_2", "two"}, {"EMPTY", ""}, {"NESTED", "${A}"}};
    VariableLookup lookup_ = [this](std::string_view name) -> std::optional<std::string> {
        auto it = vars_.find(std::string(name));
        if (it == vars_.end()) return std::nullopt;
        return it->second;
    };
};

TEST_F(ExpandTest, LeavesPlainTextAlone) {
    EXPECT_EQ(expand(""), "");
    EXPECT_EQ(expand("no variables"), "no variables");
    EXPECT_EQ(expand("$"), "$");
    EXPECT_EQ(expand("cost $5, $$ and $A"), "cost $5, $$ and $A");
    EXPECT_EQ(expand("{{ id }} and {A} and }"), "{{ id }} and {A} and }");
    EXPECT_FALSE(needs_expansion("{{ id }} $A"));
    EXPECT_TRUE(needs_expansion("x${A}"));
}

TEST_F(ExpandTest, SubstitutesVariables) {
    EXPECT_EQ(expand("${A}"), "1");
    EXPECT_EQ(expand("a${A}b${B_2}c"), "a1btwoc");
    EXPECT_EQ(expand("${A}${A}"), "11");
    EXPECT_EQ(expand("${EMPTY}"), "");
    // Values are inserted as they are, not expanded again.
    EXPECT_EQ(expand("${NESTED}"), "${A}");
}

TEST_F(ExpandTest, DefaultsApplyWhenUnsetOrEmpty) {
    EXPECT_EQ(expand("${MISSING:-fallback}"), "fallback");
    EXPECT_EQ(expand("${MISSING:-}"), "");
    EXPECT_EQ(expand("${EMPTY:-used}"), "used");
    EXPECT_EQ(expand("${A:-unused}"), "1");
    // The default is literal text up to the first '}'.
    EXPECT_EQ(expand("${MISSING:-a:-b}"), "a:-b");
    EXPECT_EQ(expand("${MISSING:-${A}"), "${A");
    EXPECT_EQ(expand("${MISSING:-{{ id }}}"), "{{ id }}");
}

TEST_F(ExpandTest, ADefaultMayUseOtherVariables) {
    // As in the shell: `${A:-${B:-x}}` was the path "${B:-x}" (a default up to the first '}'
    // and a '}' after it), a file nobody meant.
    EXPECT_EQ(expand("${MISSING:-${B_2:-x}}"), "two");
    EXPECT_EQ(expand("${MISSING:-${ALSO_MISSING:-x}}/y"), "x/y");
    EXPECT_EQ(expand("${MISSING:-a${A}b${EMPTY:-c}}"), "a1bc");
    EXPECT_EQ(expand("${A:-${UNSET}}"), "1") << "an unused default is not expanded";
    EXPECT_EQ(expand("${MISSING:-$${A}}"), "${A}");
    EXPECT_EQ(error("${MISSING:-${UNSET}}"),
              "variable 'UNSET' is not set (used in \"${UNSET}\"); set it in the environment "
              "or in [global.variables], or give a default: ${UNSET:-value}");
    std::string deep = "x";
    for (int i = 0; i < 40; ++i)
        deep = "${MISSING:-" + deep + "}";
    EXPECT_NE(error(deep).find("nested more than 16 deep"), std::string::npos);
    // Still one reference, which takes the type of its option (`workers = "${W:-${N:-2}}"`).
    EXPECT_TRUE(is_single_reference("${W:-${N:-2}}"));
    EXPECT_TRUE(is_single_reference("${W:-2}"));
    EXPECT_FALSE(is_single_reference("${W:-${N:-2}}x"));
    EXPECT_FALSE(is_single_reference("${A}${B}"));
}

TEST_F(ExpandTest, DollarDollarBraceIsALiteral) {
    EXPECT_EQ(expand("$${A}"), "${A}");
    EXPECT_EQ(expand("$${"), "${");
    // Scanning is left to right: a lone '$' stays, then "$${" is the escape.
    EXPECT_EQ(expand("$$${A}"), "$${A}");
    // A '$' right before a value can still be written through a default.
    EXPECT_EQ(expand("${DOLLAR:-$}${A}"), "$1");
    EXPECT_EQ(expand("$${A} = ${A}"), "${A} = 1");
}

TEST_F(ExpandTest, ReportsProblems) {
    EXPECT_EQ(error("x/${UNSET}/y"),
              "variable 'UNSET' is not set (used in \"x/${UNSET}/y\"); set it in the "
              "environment or in [global.variables], or give a default: ${UNSET:-value}");
    EXPECT_EQ(error("${A"), "unterminated '${' in \"${A\": a variable reference ends with '}' "
                            "(write '$${' for a literal '${')");
    EXPECT_EQ(error("${}"), "invalid variable name '' in \"${}\": names are letters, digits "
                            "and '_', not starting with a digit (write '$${' for a literal '${')");
    EXPECT_EQ(error("${9LIVES}"),
              "invalid variable name '9LIVES' in \"${9LIVES}\": names are letters, digits and "
              "'_', not starting with a digit (write '$${' for a literal '${')");
    EXPECT_EQ(error("${A-B}"),
              "invalid variable name 'A-B' in \"${A-B}\": names are letters, digits and '_', "
              "not starting with a digit (write '$${' for a literal '${')");
    EXPECT_EQ(error("${A:b}"),
              "invalid variable name 'A:b' in \"${A:b}\": names are letters, digits and '_', not "
              "starting with a digit (for a default value write '${A:-b}')");
}

TEST_F(ExpandTest, LongValuesAreShortenedInMessages) {
    const std::string long_text = std::string(100, 'x') + "${UNSET}";
    const std::string msg = error(long_text);
    EXPECT_NE(msg.find("\"" + std::string(60, 'x') + "...\""), std::string::npos) << msg;
}

TEST(VariableNameTest, Grammar) {
    EXPECT_TRUE(is_variable_name("A"));
    EXPECT_TRUE(is_variable_name("_x9"));
    EXPECT_TRUE(is_variable_name("HOME"));
    EXPECT_FALSE(is_variable_name(""));
    EXPECT_FALSE(is_variable_name("9x"));
    EXPECT_FALSE(is_variable_name("a.b"));
    EXPECT_FALSE(is_variable_name("a b"));
}

} // namespace
} // namespace conveyor::config

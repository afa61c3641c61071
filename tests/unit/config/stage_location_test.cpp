// StageSpec::location_of: a configuration error a stage finds when it opens points at the option
// its text starts with, when the file gave that option, and at the stage's [[stages]] line
// otherwise.

#include "conveyor/config/pipeline_spec.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

StageSpec stage_with_options() {
    StageSpec s;
    s.id = "t";
    s.where = {"p.toml", 8, 1};
    s.config.set_default_location({"p.toml", 12, 1});
    s.config.set("columns", OptionValue("id"), {"p.toml", 13, 11}, true);
    s.config.set("aggregations", OptionValue(OptionValue::List{}), {"p.toml", 14, 16}, true);
    s.config.set("exclude", OptionValue(false), {"p.toml", 12, 1}, false); // its default
    return s;
}

std::string located(const StageSpec& s, std::string message, std::string where = {}) {
    return s.location_of(Error(ErrorKind::Config, std::move(message), std::move(where), s.id))
        .to_string();
}

TEST(StageLocationTest, AnErrorStartingWithAGivenOptionIsLocatedAtIt) {
    const StageSpec s = stage_with_options();
    EXPECT_EQ(located(s, "columns: field 'nmae' is not in the input"), "p.toml:13:11");
    EXPECT_EQ(located(s, "aggregations[0].column: field 'amout' is not in the input"),
              "p.toml:14:16");
    EXPECT_EQ(located(s, "columns.x: unknown field 'amout'"), "p.toml:13:11");
    // The error's `where` comes first in its text.
    EXPECT_EQ(located(s, "field 'nmae' is not in the input", "columns"), "p.toml:13:11");
}

TEST(StageLocationTest, AnyOtherErrorIsLocatedAtTheStage) {
    const StageSpec s = stage_with_options();
    EXPECT_EQ(located(s, "exclude: cannot be true here"), "p.toml:8:1") << "not given";
    EXPECT_EQ(located(s, "path: no such option"), "p.toml:8:1") << "not an option";
    EXPECT_EQ(located(s, "column 'nmae' is not in the input (columns: id)"), "p.toml:8:1");
    EXPECT_EQ(located(s, "columns"), "p.toml:8:1") << "no colon after the name";
    EXPECT_EQ(located(s, "columns and more: x"), "p.toml:8:1");
    EXPECT_EQ(located(s, "columns.x is wrong: y"), "p.toml:8:1") << "a space before the colon";
    EXPECT_EQ(located(s, ""), "p.toml:8:1");
}

} // namespace
} // namespace conveyor

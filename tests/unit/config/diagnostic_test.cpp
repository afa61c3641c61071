#include "conveyor/core/diagnostic.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(DiagnosticTest, LocationForms) {
    EXPECT_EQ((SourceLocation{"p.toml", 12, 5}).to_string(), "p.toml:12:5");
    EXPECT_EQ((SourceLocation{"p.toml", 12, 0}).to_string(), "p.toml:12");
    EXPECT_EQ((SourceLocation{"p.toml", 0, 0}).to_string(), "p.toml");
    EXPECT_EQ(SourceLocation{}.to_string(), "");
}

TEST(DiagnosticTest, MessageForms) {
    Diagnostic d;
    d.where.file = "p.toml";
    d.where.line = 3;
    d.where.column = 1;
    d.stage = "load";
    d.message = "unknown key 'pth'";
    EXPECT_EQ(d.to_string(), "p.toml:3:1: error: stage 'load': unknown key 'pth'");
    Diagnostic w;
    w.severity = Diagnostic::Severity::Warning;
    w.message = "nothing to do";
    EXPECT_EQ(w.to_string(), "warning: nothing to do");
}

TEST(DiagnosticTest, SortsByPositionKeepingEqualOnesInOrder) {
    Diagnostics diags;
    diags.error({"p.toml", 9, 1}, "", "third");
    diags.warning({"p.toml", 2, 7}, "", "second");
    diags.error({"p.toml", 2, 3}, "", "first");
    diags.error({"p.toml", 9, 1}, "", "fourth");
    diags.error({"p.toml", 0, 0}, "", "file-wide");
    EXPECT_TRUE(diags.has_errors());
    diags.sort();
    EXPECT_EQ(diags.to_string(), "p.toml: error: file-wide\n"
                                 "p.toml:2:3: error: first\n"
                                 "p.toml:2:7: warning: second\n"
                                 "p.toml:9:1: error: third\n"
                                 "p.toml:9:1: error: fourth\n");
}

TEST(DiagnosticTest, WarningsAloneAreNotErrors) {
    Diagnostics diags;
    EXPECT_FALSE(diags.has_errors());
    diags.warning({}, "x", "unused");
    EXPECT_FALSE(diags.has_errors());
    EXPECT_EQ(diags.all().size(), 1u);
}

} // namespace
} // namespace conveyor

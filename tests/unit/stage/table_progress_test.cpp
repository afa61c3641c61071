// The database sinks' resume arithmetic (stage/table_progress.hpp).

#include "conveyor/stage/table_progress.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

TEST(TableProgress, TextRoundTripsAndMalformedTextIsRefused) {
    const TableProgress p{"0123abcd", 4096};
    EXPECT_EQ(p.to_text(), "table1 run=0123abcd records=4096");
    auto back = TableProgress::parse(p.to_text(), "a test checkpoint");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->run, "0123abcd");
    EXPECT_EQ(back->records, 4096u);
    EXPECT_FALSE(TableProgress::parse("table1 run=x", "a test checkpoint").ok());
    EXPECT_FALSE(TableProgress::parse("csv1 run=x records=1", "a test checkpoint").ok());
    EXPECT_NE(TableProgress::new_run(), TableProgress::new_run());
    EXPECT_EQ(TableProgress::new_run().size(), 32u);
}

TEST(TableProgress, TheDatabaseAheadOfTheJournalIsSkippedAndAnythingElseRefused) {
    const TableProgress journal{"run1", 1000};
    auto same = records_to_skip(journal, TableProgress{"run1", 1000}, "t");
    ASSERT_TRUE(same.ok());
    EXPECT_EQ(*same, 0u);
    auto ahead = records_to_skip(journal, TableProgress{"run1", 2000}, "t");
    ASSERT_TRUE(ahead.ok());
    EXPECT_EQ(*ahead, 1000u);

    auto none = records_to_skip(journal, std::nullopt, "t");
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().kind, ErrorKind::Config);
    auto other = records_to_skip(journal, TableProgress{"run2", 5000}, "t");
    ASSERT_FALSE(other.ok());
    EXPECT_THAT(other.error().message, HasSubstr("another run"));
    auto behind = records_to_skip(journal, TableProgress{"run1", 10}, "t");
    ASSERT_FALSE(behind.ok());
    EXPECT_THAT(behind.error().message, HasSubstr("fewer"));
}

} // namespace
} // namespace conveyor

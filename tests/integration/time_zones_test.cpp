// Named time zones in pipelines: format_time and parse_time with a zone from a record's
// field, 'local' from TZ, and the errors of zones that do not exist (at load when written in
// the expression, per record when a field names them).

#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

/// csv.read of `in`, map.apply with `columns`, json.write to `out` (JSON lines).
std::string pipeline(const std::string& in, const std::string& columns, const std::string& out,
                     const std::string& extra = "") {
    return extra + "[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\ninputs = []\n" +
           "[stages.config]\npath = \"" + in +
           "\"\n\n[[stages]]\nid = \"m\"\nfunction = \"map.apply\"\ninputs = [\"in\"]\n" +
           "[stages.config]\ncolumns = " + columns +
           "\n\n[[stages]]\nid = \"out\"\nfunction = \"json.write\"\ninputs = [\"m\"]\n" +
           "[stages.config]\npath = \"" + out + "\"\nformat = \"jsonl\"\n";
}

TEST(TimeZonesRun, FormatTimeInTheZoneEachRecordNames) {
    // Before, a zone name was a record error: "time zone 'Europe/Berlin' is not UTC or an
    // offset such as +02:00". Expected texts: TZ=$zone date -d @$ts '+%F %H:%M %Z'.
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "ts,zone\n"
                                               "1711846799,Europe/Berlin\n"
                                               "1711846800,Europe/Berlin\n"
                                               "1730613600,America/New_York\n"
                                               "1728142200,Australia/Lord_Howe\n"
                                               "1728142200,Asia/Seoul\n"
                                               "1728142200,+05:30\n");
    const std::string file =
        dir.write("p.toml", pipeline(in,
                                     "{ local = \"format_time(ts, '%F %H:%M %Z', zone)\", "
                                     "back = \"parse_time(format_time(ts, '%F %T', zone), '%F %T', "
                                     "'epoch', zone) == ts\" }",
                                     dir.file("out.jsonl")));
    for (const char* executor : {"dag", "channel", "async"}) {
        auto r = run_conveyor({"run", file, "-q", "--executor", executor});
        ASSERT_EQ(r.exit_code, 0) << executor << ": " << r.err;
        EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
                  "{\"ts\":1711846799,\"zone\":\"Europe/Berlin\","
                  "\"local\":\"2024-03-31 01:59 CET\",\"back\":true}\n"
                  "{\"ts\":1711846800,\"zone\":\"Europe/Berlin\","
                  "\"local\":\"2024-03-31 03:00 CEST\",\"back\":true}\n"
                  "{\"ts\":1730613600,\"zone\":\"America/New_York\","
                  "\"local\":\"2024-11-03 01:00 EST\",\"back\":false}\n"
                  "{\"ts\":1728142200,\"zone\":\"Australia/Lord_Howe\","
                  "\"local\":\"2024-10-06 02:30 +11\",\"back\":true}\n"
                  "{\"ts\":1728142200,\"zone\":\"Asia/Seoul\","
                  "\"local\":\"2024-10-06 00:30 KST\",\"back\":true}\n"
                  "{\"ts\":1728142200,\"zone\":\"+05:30\","
                  "\"local\":\"2024-10-05 21:00 +05:30\",\"back\":true}\n")
            << executor;
    }
    // 01:00 EST on 2024-11-03 is the second 01:00 of that night: read back, the earlier (EDT)
    // is taken, an hour before ts ("back" is false above, as documented).
}

TEST(TimeZonesRun, LocalIsTheZoneOfTz) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "ts\n1728142200\n");
    const std::string file =
        dir.write("p.toml", pipeline(in, "{ local = \"format_time(ts, '', 'local')\" }",
                                     dir.file("o.jsonl")));
    test::ProcessOptions seoul;
    seoul.env["TZ"] = "Asia/Seoul";
    auto r = run_conveyor({"run", file, "-q"}, seoul);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("o.jsonl")),
              "{\"ts\":1728142200,\"local\":\"2024-10-06T00:30:00+09:00\"}\n");
}

TEST(TimeZonesRun, AnUnknownZoneInTheExpressionIsAConfigErrorAtItsPlace) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "ts\n1\n");
    const std::string file =
        dir.write("p.toml", pipeline(in, "{ local = \"format_time(ts, '%H:%M', 'Europe/Berln')\" }",
                                     dir.file("o.jsonl")));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("p.toml:13:11: error: stage 'm': columns.local: unknown time zone "
                                 "'Europe/Berln' (did you mean 'Europe/Berlin'?)\n"
                                 "    format_time(ts, '%H:%M', 'Europe/Berln')\n"
                                 "                             ^^^^^^^^^^^^^^"));
    const std::string escape = dir.write(
        "q.toml",
        pipeline(in, "{ t = \"parse_time('2024-01-01', null, 'epoch', '../../etc/passwd')\" }",
                 dir.file("o.jsonl")));
    auto e = run_conveyor({"run", escape, "-q"});
    EXPECT_EQ(e.exit_code, 78) << e.err;
    EXPECT_THAT(e.err, HasSubstr("'../../etc/passwd' is not a time zone name"));
    EXPECT_FALSE(test::file_exists(dir.file("o.jsonl")));
}

TEST(TimeZonesRun, AnUnknownZoneInAFieldIsARecordError) {
    test::TempDir dir;
    const std::string in =
        dir.write("in.csv", "ts,zone\n0,Asia/Tokyo\n0,Mars/Base\n0,/etc/passwd\n0,Europe/Paris\n");
    const std::string columns = "{ t = \"format_time(ts, '%H:%M', zone)\" }";
    const std::string stop = dir.write("stop.toml", pipeline(in, columns, dir.file("o.jsonl")));
    auto r = run_conveyor({"run", stop, "-q"});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("format_time(): unknown time zone 'Mars/Base'"));
    EXPECT_FALSE(test::file_exists(dir.file("o.jsonl")));

    const std::string go_on =
        dir.write("continue.toml", pipeline(in, columns, dir.file("o.jsonl"),
                                            "[error_handling]\nstrategy = \"continue\"\n"
                                            "dead_letter_queue = { enabled = true, path = \"" +
                                                dir.file("dlq.jsonl") + "\" }\n\n"));
    auto c = run_conveyor({"run", go_on, "-q"});
    EXPECT_EQ(c.exit_code, 3) << c.err;
    EXPECT_EQ(test::read_file(dir.file("o.jsonl")),
              "{\"ts\":0,\"zone\":\"Asia/Tokyo\",\"t\":\"09:00\"}\n"
              "{\"ts\":0,\"zone\":\"Europe/Paris\",\"t\":\"01:00\"}\n");
    const std::string dlq = test::read_file(dir.file("dlq.jsonl"));
    EXPECT_THAT(dlq, HasSubstr("unknown time zone 'Mars/Base'"));
    EXPECT_THAT(dlq, HasSubstr("'/etc/passwd' is not a time zone name"));
}

TEST(TimeZonesRun, DescribeTellsOfZones) {
    auto f = run_conveyor({"describe", "format_time"});
    ASSERT_EQ(f.exit_code, 0) << f.err;
    EXPECT_THAT(f.out, HasSubstr("'Europe/Berlin'"));
    EXPECT_THAT(f.out, HasSubstr("%Z its abbreviation"));
    auto p = run_conveyor({"describe", "parse_time"});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_THAT(p.out, HasSubstr("parse_time(s, format = ISO 8601, as = 'epoch', zone = 'UTC')"));
    EXPECT_THAT(p.out, HasSubstr("02:30 becomes 03:30"));
}

} // namespace
} // namespace conveyor

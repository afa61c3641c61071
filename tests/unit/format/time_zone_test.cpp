#include "conveyor/format/time_text.hpp"
#include "conveyor/format/time_zone.hpp"
#include "support/process.hpp"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <thread>

// The zones come from the system's tz database (Debian's tzdata, which CI installs).

namespace conveyor::timefmt {
namespace {

std::shared_ptr<const TimeZone> zone(std::string_view name) {
    std::string why;
    auto z = find_zone(name, &why);
    EXPECT_TRUE(z) << name << ": " << why;
    return z;
}

std::string why_not(std::string_view name) {
    std::string why;
    EXPECT_FALSE(find_zone(name, &why)) << name;
    return why;
}

/// Local time, offset and abbreviation as `TZ=zone date -d @t '+%Y-%m-%dT%H:%M:%S %z %Z'`.
std::string local(const TimeZone& z, std::int64_t t) {
    return format({t, 0}, "%Y-%m-%dT%H:%M:%S %z %Z", z).value_or("(no text)");
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Sets an environment variable for the life of the object, then restores it.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

struct Case {
    const char* zone;
    std::int64_t utc;
    const char* want;
};

TEST(TimeZoneTest, OffsetsAndAbbreviationsAroundChangesAreGnuDates) {
    // Each expected text is GNU date's (coreutils 9.1, tzdata 2025b):
    //   TZ=$zone date -d @$utc '+%Y-%m-%dT%H:%M:%S %z %Z'
    // the second before and the second of each change of 2024.
    const Case cases[] = {
        {"Europe/Berlin", 1711846799, "2024-03-31T01:59:59 +0100 CET"},
        {"Europe/Berlin", 1711846800, "2024-03-31T03:00:00 +0200 CEST"},
        {"Europe/Berlin", 1729990799, "2024-10-27T02:59:59 +0200 CEST"},
        {"Europe/Berlin", 1729990800, "2024-10-27T02:00:00 +0100 CET"},
        {"America/New_York", 1710053999, "2024-03-10T01:59:59 -0500 EST"},
        {"America/New_York", 1710054000, "2024-03-10T03:00:00 -0400 EDT"},
        {"America/New_York", 1730613599, "2024-11-03T01:59:59 -0400 EDT"},
        {"America/New_York", 1730613600, "2024-11-03T01:00:00 -0500 EST"},
        // Lord Howe Island moves its clocks by half an hour.
        {"Australia/Lord_Howe", 1712415599, "2024-04-07T01:59:59 +1100 +11"},
        {"Australia/Lord_Howe", 1712415600, "2024-04-07T01:30:00 +1030 +1030"},
        {"Australia/Lord_Howe", 1728142199, "2024-10-06T01:59:59 +1030 +1030"},
        {"Australia/Lord_Howe", 1728142200, "2024-10-06T02:30:00 +1100 +11"},
        {"Asia/Kolkata", 1710054000, "2024-03-10T12:30:00 +0530 IST"},
        {"Asia/Kolkata", 1730613600, "2024-11-03T11:30:00 +0530 IST"},
        // Before the zones' tables: local mean time (the offset's seconds are not written).
        {"Europe/Berlin", -2511475200, "1890-06-01T00:53:28 +0053 LMT"},
        {"Asia/Kolkata", -2208988800, "1900-01-01T05:21:10 +0521 MMT"},
    };
    for (const Case& c : cases)
        EXPECT_EQ(local(*zone(c.zone), c.utc), c.want) << c.zone << " @" << c.utc;
}

TEST(TimeZoneTest, TimesPastTheTableFollowTheFootersRule) {
    // The tables end in 2037; 2100 comes from the footer ("CET-1CEST,M3.5.0,M10.5.0/3", ...).
    // Expected texts as above, from GNU date.
    const Case cases[] = {
        {"Europe/Berlin", 4109878799, "2100-03-28T01:59:59 +0100 CET"},
        {"Europe/Berlin", 4109878800, "2100-03-28T03:00:00 +0200 CEST"},
        {"Europe/Berlin", 4128627599, "2100-10-31T02:59:59 +0200 CEST"},
        {"Europe/Berlin", 4128627600, "2100-10-31T02:00:00 +0100 CET"},
        {"America/New_York", 4108690799, "2100-03-14T01:59:59 -0500 EST"},
        {"America/New_York", 4108690800, "2100-03-14T03:00:00 -0400 EDT"},
        {"America/New_York", 4129250399, "2100-11-07T01:59:59 -0400 EDT"},
        {"America/New_York", 4129250400, "2100-11-07T01:00:00 -0500 EST"},
        {"Australia/Lord_Howe", 4103697600, "2100-01-15T23:00:00 +1100 +11"},
        {"Australia/Lord_Howe", 4110447599, "2100-04-04T01:59:59 +1100 +11"},
        {"Australia/Lord_Howe", 4110447600, "2100-04-04T01:30:00 +1030 +1030"},
        {"Australia/Lord_Howe", 4126174199, "2100-10-03T01:59:59 +1030 +1030"},
        {"Australia/Lord_Howe", 4126174200, "2100-10-03T02:30:00 +1100 +11"},
        {"Asia/Kolkata", 4118126400, "2100-07-01T17:30:00 +0530 IST"},
    };
    for (const Case& c : cases)
        EXPECT_EQ(local(*zone(c.zone), c.utc), c.want) << c.zone << " @" << c.utc;
}

TEST(TimeZoneTest, IsoTextWritesTheOffsetOfThatMoment) {
    const auto berlin = zone("Europe/Berlin");
    EXPECT_EQ(format({1719828000, 0}, "", *berlin), "2024-07-01T12:00:00+02:00");
    EXPECT_EQ(format({1733288400, 500000000}, "", *berlin), "2024-12-04T06:00:00.5+01:00");
    EXPECT_EQ(format({1733288400, 0}, "", *zone("Asia/Kolkata")), "2024-12-04T10:30:00+05:30");
    EXPECT_EQ(format({1733288400, 0}, "", *zone("Europe/London")), "2024-12-04T05:00:00Z");
    // A fixed offset has no abbreviation: %Z writes it as before.
    EXPECT_EQ(format({0, 0}, "%Z %z", *zone("+02:00")), "+02:00 +0200");
    EXPECT_EQ(format({0, 0}, "%Z", *zone("UTC")), "UTC");
}

TEST(TimeZoneTest, LocalTimesInGapsAndOverlaps) {
    // Expected instants from GNU date with the offset spelled out, e.g.
    //   date -d '2024-10-27 02:30 +0200' +%s
    const auto berlin = zone("Europe/Berlin");
    const auto at = [](const TimeZone& z, std::string_view text) {
        std::string why;
        auto t = parse_in_zone(text, "%Y-%m-%d %H:%M", z, &why);
        EXPECT_TRUE(t) << text << ": " << why;
        return t ? t->seconds : -1;
    };
    EXPECT_EQ(at(*berlin, "2024-07-01 12:00"), 1719828000); // +0200
    // 02:30 on 2024-03-31 does not exist (02:00 -> 03:00): read at +01:00, that is 03:30 CEST.
    EXPECT_EQ(at(*berlin, "2024-03-31 02:30"), 1711848600);
    EXPECT_EQ(berlin->to_utc(1711852200).kind, LocalResolution::Kind::Skipped);
    EXPECT_EQ(local(*berlin, 1711848600), "2024-03-31T03:30:00 +0200 CEST");
    // 02:30 on 2024-10-27 happens twice: the earlier (+02:00), not 1729992600 (+01:00).
    EXPECT_EQ(at(*berlin, "2024-10-27 02:30"), 1729989000);
    EXPECT_EQ(berlin->to_utc(1729996200).kind, LocalResolution::Kind::Ambiguous);
    EXPECT_EQ(berlin->to_utc(1719835200).kind, LocalResolution::Kind::Unique);

    const auto new_york = zone("America/New_York");
    EXPECT_EQ(at(*new_york, "2024-06-15 09:00"), 1718456400);
    EXPECT_EQ(at(*new_york, "2024-03-10 02:30"), 1710055800); // -0500: 03:30 EDT
    EXPECT_EQ(at(*new_york, "2024-11-03 01:30"), 1730611800); // -0400, the earlier
    const auto lord_howe = zone("Australia/Lord_Howe");
    EXPECT_EQ(at(*lord_howe, "2024-10-06 02:15"), 1728143100); // gap 02:00-02:30: +1030
    EXPECT_EQ(at(*lord_howe, "2024-04-07 01:45"), 1712414700); // 01:30-02:00 twice: +1100
    // Past the table, through the footer's rule.
    EXPECT_EQ(at(*berlin, "2100-03-28 02:30"), 4109880600);
    EXPECT_EQ(at(*berlin, "2100-10-31 02:30"), 4128625800);
    // An offset in the text wins over the zone; epoch seconds are no local time.
    std::string why;
    EXPECT_EQ(parse_in_zone("2024-07-01T12:00:00Z", "", *berlin, &why)->seconds, 1719835200);
    EXPECT_EQ(parse_in_zone("2024-07-01 12:00 -0400", "%Y-%m-%d %H:%M %z", *berlin)->seconds,
              1719849600);
    EXPECT_EQ(parse_in_zone("1719828000", "%s", *berlin)->seconds, 1719828000);
    EXPECT_EQ(parse_in_zone("2024-07-01 12:00", "", *berlin)->seconds, 1719828000); // ISO
    EXPECT_EQ(parse_in_zone("2024-12-04", "", *zone("Asia/Kolkata"))->seconds,
              1733250600); // midnight IST: date -d '2024-12-04 00:00 +0530' +%s
}

TEST(TimeZoneTest, NamesAreFoundOnceAndShared) {
    const auto a = zone("Europe/Berlin");
    std::vector<std::shared_ptr<const TimeZone>> seen(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i)
        threads.emplace_back([&seen, i] { seen[i] = find_zone("Europe/Berlin"); });
    for (auto& t : threads)
        t.join();
    for (const auto& z : seen)
        EXPECT_EQ(z.get(), a.get());
    EXPECT_EQ(a->name(), "Europe/Berlin");
    EXPECT_TRUE(zone("UTC")->is_fixed());
    EXPECT_EQ(zone("-05:30")->at(0).offset, -19800);
    EXPECT_FALSE(a->is_fixed());
    // Links are names too.
    EXPECT_EQ(local(*zone("US/Eastern"), 1730613600), "2024-11-03T01:00:00 -0500 EST");
}

TEST(TimeZoneTest, UnknownNamesSayWhatIsClose) {
    EXPECT_EQ(why_not("Europe/Berln"),
              "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)");
    EXPECT_EQ(why_not("america/new_york"),
              "unknown time zone 'america/new_york' (did you mean 'America/New_York'?)");
    EXPECT_EQ(why_not("Mars/Olympus_Mons"), "unknown time zone 'Mars/Olympus_Mons'");
    EXPECT_EQ(why_not("Europe"), // a directory
              "unknown time zone 'Europe' (did you mean 'Europe/Amsterdam'?)");
    // The leap-second zones count a different second.
    EXPECT_NE(why_not("right/Europe/Berlin").find("leap seconds"), std::string::npos);
}

TEST(TimeZoneTest, NamesCannotLeaveTheZoneDirectory) {
    for (const char* name :
         {"../../etc/passwd", "/etc/passwd", "Europe/../../../etc/passwd", "Europe/./Berlin",
          "Europe//Berlin", "Europe/Berlin/", "", "Europe/Berlin\n", "Europe\\Berlin", "~/zone"}) {
        const std::string why = why_not(name);
        EXPECT_NE(why.find("is not a time zone name"), std::string::npos) << name << ": " << why;
    }
}

TEST(TimeZoneTest, TzdirChoosesTheDirectory) {
    test::TempDir dir;
    dir.write("Test/Berlin", file_bytes("/usr/share/zoneinfo/Europe/Berlin"));
    dir.write("Test/notes.txt", "not a zone");
    {
        ScopedEnv env("TZDIR", dir.path().c_str());
        EXPECT_EQ(zone_directory(), dir.path());
        EXPECT_EQ(local(*zone("Test/Berlin"), 1711846800), "2024-03-31T03:00:00 +0200 CEST");
        EXPECT_EQ(zone_names(), std::vector<std::string>{"Test/Berlin"});
        EXPECT_EQ(why_not("Europe/Berlin"), "unknown time zone 'Europe/Berlin'");
        EXPECT_EQ(why_not("Test/Berln"),
                  "unknown time zone 'Test/Berln' (did you mean 'Test/Berlin'?)");
        EXPECT_NE(why_not("Test/notes.txt").find("is not usable: not TZif data"),
                  std::string::npos);
    }
    {
        ScopedEnv env("TZDIR", (dir.path() + "/none").c_str());
        EXPECT_EQ(why_not("Europe/Paris"),
                  "unknown time zone 'Europe/Paris': there is no time zone data in " + dir.path() +
                      "/none (install tzdata, or set TZDIR)");
    }
    EXPECT_EQ(zone_directory(), "/usr/share/zoneinfo");
}

TEST(TimeZoneTest, LocalIsTheProcesssZone) {
    {
        ScopedEnv env("TZ", "Asia/Kolkata");
        EXPECT_EQ(zone("local")->at(0).offset, 19800);
    }
    {
        ScopedEnv env("TZ", ":America/New_York");
        EXPECT_EQ(local(*zone("local"), 1710054000), "2024-03-10T03:00:00 -0400 EDT");
    }
    {
        ScopedEnv env("TZ", "/usr/share/zoneinfo/Australia/Lord_Howe");
        EXPECT_EQ(zone("local")->at(1712415600).offset, 37800);
    }
    {
        ScopedEnv env("TZ", "<+0330>-3:30<+0430>,J79/24,J263/24"); // a POSIX rule, no file
        EXPECT_EQ(local(*zone("local"), 0), "1970-01-01T03:30:00 +0330 +0330");
        EXPECT_EQ(local(*zone("local"), 1719835200), "2024-07-01T16:30:00 +0430 +0430");
    }
    {
        ScopedEnv env("TZ", "");
        EXPECT_EQ(zone("local")->at(1719835200).offset, 0);
    }
    {
        ScopedEnv env("TZ", "Nowhere/Land");
        EXPECT_EQ(why_not("local"),
                  "the TZ environment variable ('Nowhere/Land') names no time zone and is no "
                  "POSIX TZ rule");
    }
}

TEST(TimeZoneTest, LocalTimesBetweenChangesADayApart) {
    // Daylight saving time from day 100 (April 10th) 00:00 to day 101 00:00: the offsets a day
    // before and a day after a reading on April 10th are both +00:00, and to_utc tried only
    // those, so every reading of that day was "skipped" and read an hour late.
    const auto z = TimeZone::from_posix("short", "XXX0YYY,J100/0,J101/0");
    ASSERT_TRUE(z);
    // 1970-04-10T12:00 local is 11:00 UTC (+01:00).
    EXPECT_EQ(z->at(8593200).offset, 3600);
    const LocalResolution noon = z->to_utc(8596800);
    EXPECT_EQ(noon.kind, LocalResolution::Kind::Unique);
    EXPECT_EQ(noon.utc, 8593200);
    EXPECT_EQ(parse_in_zone("1970-04-10 12:00", "%Y-%m-%d %H:%M", *z)->seconds, 8593200);
    // 00:30 is skipped (00:00 -> 01:00): read at +00:00, that is 01:30 +01:00.
    const LocalResolution gap = z->to_utc(8553600 + 1800);
    EXPECT_EQ(gap.kind, LocalResolution::Kind::Skipped);
    EXPECT_EQ(gap.utc, 8555400);
    // 23:30 happens twice (back from 24:00 to 23:00): the earlier, at +01:00.
    const LocalResolution twice = z->to_utc(8638200);
    EXPECT_EQ(twice.kind, LocalResolution::Kind::Ambiguous);
    EXPECT_EQ(twice.utc, 8634600);
    EXPECT_EQ(z->to_utc(8638200 + 3600).kind, LocalResolution::Kind::Unique);
}

TEST(TimeZoneTest, PosixRulesAtTheEndsOfInt64) {
    // The year of an instant near the ends of int64 overflowed (undefined behaviour, which the
    // sanitizer build stops at); far out the offset is that of the limit.
    const auto z = TimeZone::from_posix("cet", "CET-1CEST,M3.5.0,M10.5.0/3");
    ASSERT_TRUE(z);
    for (const std::int64_t t : {INT64_MAX, INT64_MIN, INT64_MAX - 3600, INT64_MIN + 3600}) {
        const std::int32_t o = z->at(t).offset;
        EXPECT_TRUE(o == 3600 || o == 7200) << t;
        EXPECT_EQ(o, z->at(t < 0 ? -(std::int64_t{1} << 50) : std::int64_t{1} << 50).offset);
        (void)z->to_utc(t);
    }
    EXPECT_FALSE(format({INT64_MAX, 0}, "%Y", *z).has_value());
    EXPECT_FALSE(format({INT64_MIN, 0}, "", *z).has_value());
}

TEST(TimeZoneTest, PosixRules) {
    // Expected texts from GNU date with the same TZ value, e.g.
    //   TZ='EST5EDT,M3.2.0,M11.1.0' date -d @1710054000 '+%Y-%m-%dT%H:%M:%S %z %Z'
    const auto us = TimeZone::from_posix("us", "EST5EDT,M3.2.0,M11.1.0");
    ASSERT_TRUE(us);
    EXPECT_EQ(local(*us, 1710053999), "2024-03-10T01:59:59 -0500 EST");
    EXPECT_EQ(local(*us, 1710054000), "2024-03-10T03:00:00 -0400 EDT");
    EXPECT_EQ(local(*us, 1730613600), "2024-11-03T01:00:00 -0500 EST");
    const auto us_default = TimeZone::from_posix("us", "EST5EDT"); // no dates: the US rule
    ASSERT_TRUE(us_default);
    EXPECT_EQ(local(*us_default, 1710054000), "2024-03-10T03:00:00 -0400 EDT");
    // Southern hemisphere: daylight saving time spans the new year.
    const auto sydney = TimeZone::from_posix("syd", "AEST-10AEDT,M10.1.0,M4.1.0/3");
    ASSERT_TRUE(sydney);
    EXPECT_EQ(local(*sydney, 1704067200), "2024-01-01T11:00:00 +1100 AEDT");
    EXPECT_EQ(local(*sydney, 1719835200), "2024-07-01T22:00:00 +1000 AEST");
    // Rule times outside 0..24h (RFC 8536): Greenland's "M3.5.0/-1".
    const auto nuuk = TimeZone::from_posix("nuuk", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    ASSERT_TRUE(nuuk);
    EXPECT_EQ(local(*nuuk, 1711846799), "2024-03-30T22:59:59 -0200 -02");
    EXPECT_EQ(local(*nuuk, 1711846800), "2024-03-31T00:00:00 -0100 -01");
    std::string why;
    for (const char* bad : {"", "E5", "EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.2.0", "<EST5",
                            "EST5EDT,M3.2.0,M11.1.0 x", "EST25"}) {
        EXPECT_FALSE(TimeZone::from_posix("bad", bad, &why)) << bad;
        EXPECT_NE(why.find("is not a POSIX TZ rule"), std::string::npos) << why;
    }
}

/// A TZif file of `version` ('\0' or '2') whose 32- and 64-bit blocks have the given
/// transitions (all to type 1) and types (offset, isdst, abbreviation), with footer `rule`.
std::string tzif(char version, const std::vector<std::int64_t>& transitions,
                 const std::vector<std::pair<std::int32_t, std::string>>& types,
                 std::string_view rule, std::uint32_t leaps = 0) {
    const auto be = [](std::string& out, std::uint64_t v, int bytes) {
        for (int i = bytes - 1; i >= 0; --i)
            out += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    std::string chars;
    std::vector<std::size_t> at;
    for (const auto& t : types) {
        at.push_back(chars.size());
        chars += t.second;
        chars += '\0';
    }
    const auto block = [&](std::string& out, int time_size) {
        out += "TZif";
        out += version;
        out.append(15, '\0');
        for (std::uint64_t count : {std::uint64_t{0}, std::uint64_t{0}, std::uint64_t{leaps},
                                    std::uint64_t{transitions.size()}, std::uint64_t{types.size()},
                                    std::uint64_t{chars.size()}})
            be(out, count, 4);
        for (std::int64_t t : transitions)
            be(out, static_cast<std::uint64_t>(t), time_size);
        for (std::size_t i = 0; i < transitions.size(); ++i)
            out += '\1';
        for (std::size_t i = 0; i < types.size(); ++i) {
            be(out, static_cast<std::uint32_t>(types[i].first), 4);
            out += static_cast<char>(i == 0 ? 0 : 1);
            out += static_cast<char>(at[i]);
        }
        out += chars;
        for (std::uint32_t i = 0; i < leaps; ++i) { // occurrence, correction
            be(out, 0, time_size);
            be(out, 0, 4);
        }
    };
    std::string out;
    block(out, 4);
    if (version != 0) {
        block(out, 8);
        out += '\n';
        out += rule;
        out += '\n';
    }
    return out;
}

TEST(TimeZoneTest, TzifVersionsAndFooters) {
    const std::vector<std::pair<std::int32_t, std::string>> types = {{3600, "AAA"}, {7200, "BBB"}};
    // Version 1: 32-bit times only; after the last transition its type stays.
    const auto v1 = TimeZone::from_tzif("v1", tzif('\0', {1000}, types, ""));
    ASSERT_TRUE(v1);
    EXPECT_EQ(v1->at(999).abbreviation, "AAA");
    EXPECT_EQ(v1->at(1000).abbreviation, "BBB");
    EXPECT_EQ(v1->at(4'000'000'000).offset, 7200);
    // Version 2: the 64-bit block is read (a time past 2038), then the footer's rule.
    const auto v2 =
        TimeZone::from_tzif("v2", tzif('2', {-5'000'000'000, 3'000'000'000}, types, "<-03>3"));
    ASSERT_TRUE(v2);
    EXPECT_EQ(v2->at(-5'000'000'001).abbreviation, "AAA");
    EXPECT_EQ(v2->at(0).abbreviation, "BBB");
    EXPECT_EQ(v2->at(3'000'000'000).offset, -3 * 3600);
    EXPECT_EQ(v2->at(3'000'000'000).abbreviation, "-03");
    // No transitions at all: the rule says everything.
    const auto rule_only = TimeZone::from_tzif("r", tzif('2', {}, {{0, "UTC"}}, "EST5EDT"));
    ASSERT_TRUE(rule_only);
    EXPECT_EQ(local(*rule_only, 1710054000), "2024-03-10T03:00:00 -0400 EDT");
    // The real file read as version 1 (its first block alone) agrees with it inside 1901..2037.
    std::string fat = file_bytes("/usr/share/zoneinfo/Europe/Berlin");
    const auto full = TimeZone::from_tzif("Europe/Berlin", fat);
    ASSERT_TRUE(full);
    fat[4] = '\0';
    const auto first_block = TimeZone::from_tzif("Europe/Berlin", fat);
    ASSERT_TRUE(first_block);
    for (std::int64_t t : {-1'000'000'000LL, 0LL, 1711846800LL, 1729990799LL, 2'000'000'000LL})
        EXPECT_EQ(local(*first_block, t), local(*full, t)) << t;
}

TEST(TimeZoneTest, BrokenTzifIsRefused) {
    const std::vector<std::pair<std::int32_t, std::string>> types = {{0, "AAA"}, {3600, "BBB"}};
    const std::string good = tzif('2', {1000}, types, "AAA0");
    ASSERT_TRUE(TimeZone::from_tzif("good", good));
    std::string why;
    const auto refused = [&](const std::string& data) {
        return !TimeZone::from_tzif("bad", data, &why);
    };
    EXPECT_TRUE(refused("not tzif"));
    EXPECT_EQ(why, "not TZif data");
    EXPECT_TRUE(refused(good.substr(0, 10)));
    EXPECT_EQ(why, "not TZif data");
    for (std::size_t cut : {std::size_t{60}, good.size() - 30, good.size() - 3}) {
        EXPECT_TRUE(refused(good.substr(0, cut))) << cut;
        EXPECT_NE(why.find("cut short"), std::string::npos) << cut << ": " << why;
    }
    EXPECT_TRUE(refused(tzif('2', {2000, 1000}, types, "")));
    EXPECT_EQ(why, "TZif transitions out of order");
    EXPECT_TRUE(refused(tzif('2', {1000}, {{0, "AAA"}, {30 * 3600, "BBB"}}, "")));
    EXPECT_EQ(why, "TZif local time type out of range");
    EXPECT_TRUE(refused(tzif('2', {1000}, types, "", 1)));
    EXPECT_NE(why.find("leap seconds"), std::string::npos);
    EXPECT_TRUE(refused(tzif('2', {1000}, types, "AAA0BBB,M3")));
    EXPECT_NE(why.find("is not a POSIX TZ rule"), std::string::npos);
    std::string bad_type = good;
    bad_type[good.find("TZif", 4) + 44 + 8] = '\7'; // the 64-bit block's transition type
    EXPECT_TRUE(refused(bad_type));
    EXPECT_EQ(why, "TZif transition to a type that is not there");
}

} // namespace
} // namespace conveyor::timefmt

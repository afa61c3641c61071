// TimeZone: fixed offsets and zones read from TZif data (RFC 8536), UTC -> local through the
// table of transitions and the footer's rule after it, local -> UTC by trying the offsets in
// force around the reading. Finding zones by name is time_zone_find.cpp.

#include "conveyor/format/time_zone.hpp"

#include "time_zone_rule.hpp"

#include <algorithm>

namespace conveyor::timefmt {

namespace {

/// Offsets beyond a day and two hours are no zone's (RFC 8536 allows any but -2^31).
constexpr std::int32_t kMaxOffset = 26 * 3600;

bool fail(std::string* why, std::string message) {
    if (why) *why = std::move(message);
    return false;
}

/// The counts of a TZif header (RFC 8536 3.1).
struct Header {
    char version = 0; ///< 0, '2', '3', '4'
    std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;

    /// The size of the data block that follows, with `time_size`-byte times.
    [[nodiscard]] std::size_t block_size(std::size_t time_size) const noexcept {
        return std::size_t{timecnt} * time_size + timecnt + std::size_t{typecnt} * 6 + charcnt +
               std::size_t{leapcnt} * (time_size + 4) + isstdcnt + isutcnt;
    }
};

constexpr std::size_t kHeaderSize = 44;

std::uint32_t be32(const unsigned char* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}
std::uint64_t be64(const unsigned char* p) noexcept {
    return (std::uint64_t{be32(p)} << 32) | be32(p + 4);
}

/// Reads the header at `at` of a block whose times have `time_size` bytes, and checks that the
/// block is all there.
bool read_header(std::string_view data, std::size_t at, std::size_t time_size, Header& h,
                 std::string* why) {
    if (data.size() < at + kHeaderSize || data.substr(at, 4) != "TZif")
        return fail(why, "not TZif data");
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + at);
    h.version = static_cast<char>(p[4]);
    h.isutcnt = be32(p + 20);
    h.isstdcnt = be32(p + 24);
    h.leapcnt = be32(p + 28);
    h.timecnt = be32(p + 32);
    h.typecnt = be32(p + 36);
    h.charcnt = be32(p + 40);
    if (h.typecnt == 0 || h.typecnt > 256 || h.charcnt == 0 || h.timecnt > 1'000'000 ||
        h.charcnt > 100'000 || h.leapcnt > 100'000 || (h.isutcnt != 0 && h.isutcnt != h.typecnt) ||
        (h.isstdcnt != 0 && h.isstdcnt != h.typecnt))
        return fail(why, "inconsistent TZif header");
    if (h.leapcnt != 0)
        return fail(why, "the zone counts leap seconds (a \"right/\" zone), which time text does "
                         "not; use the zone of the same name without \"right/\"");
    if (data.size() - at - kHeaderSize < h.block_size(time_size))
        return fail(why, "TZif data cut short");
    return true;
}

} // namespace

struct TzifReader {
    static std::shared_ptr<const TimeZone> read(std::string name, std::string_view data,
                                                std::string* why) {
        Header h;
        if (!read_header(data, 0, 4, h, why)) return nullptr;
        std::size_t at = kHeaderSize;
        std::size_t time_size = 4;
        if (h.version != 0) { // skip the 32-bit block: the 64-bit one follows with its header
            at += h.block_size(4);
            if (!read_header(data, at, 8, h, why)) return nullptr;
            at += kHeaderSize;
            time_size = 8;
        }
        std::shared_ptr<TimeZone> zone(new TimeZone());
        zone->name_ = std::move(name);
        if (!read_block(*zone, data, at, h, time_size, why)) return nullptr;
        at += h.block_size(time_size);
        if (h.version != 0 && !read_footer(*zone, data.substr(at), why)) return nullptr;
        zone->list_offsets();
        return zone;
    }

private:
    static bool read_block(TimeZone& zone, std::string_view data, std::size_t at, const Header& h,
                           std::size_t time_size, std::string* why) {
        const auto* p = reinterpret_cast<const unsigned char*>(data.data() + at);
        zone.transitions_.reserve(h.timecnt);
        for (std::uint32_t i = 0; i < h.timecnt; ++i, p += time_size) {
            const std::int64_t t = time_size == 8 ? static_cast<std::int64_t>(be64(p))
                                                  : static_cast<std::int32_t>(be32(p));
            if (!zone.transitions_.empty() && t <= zone.transitions_.back())
                return fail(why, "TZif transitions out of order");
            zone.transitions_.push_back(t);
        }
        for (std::uint32_t i = 0; i < h.timecnt; ++i, ++p) {
            if (*p >= h.typecnt) return fail(why, "TZif transition to a type that is not there");
            zone.transition_types_.push_back(*p);
        }
        const auto* chars = reinterpret_cast<const char*>(p + std::size_t{h.typecnt} * 6);
        const std::string_view abbreviations(chars, h.charcnt);
        for (std::uint32_t i = 0; i < h.typecnt; ++i, p += 6) {
            TimeZone::Type t;
            t.offset = static_cast<std::int32_t>(be32(p));
            t.dst = p[4] != 0;
            const std::size_t from = p[5];
            const std::size_t nul = abbreviations.find('\0', from);
            if (t.offset < -kMaxOffset || t.offset > kMaxOffset || p[4] > 1 ||
                from >= abbreviations.size() || nul == std::string_view::npos)
                return fail(why, "TZif local time type out of range");
            t.abbreviation = std::string(abbreviations.substr(from, nul - from));
            zone.types_.push_back(std::move(t));
        }
        return true;
    }

    /// "\n<TZ rule>\n" (the rule may be empty: nothing is said of later times).
    static bool read_footer(TimeZone& zone, std::string_view footer, std::string* why) {
        if (footer.size() < 2 || footer[0] != '\n')
            return fail(why, "TZif footer missing or cut short");
        const std::size_t end = footer.find('\n', 1);
        if (end == std::string_view::npos) return fail(why, "TZif footer cut short");
        const std::string_view text = footer.substr(1, end - 1);
        if (text.empty()) return true;
        auto rule = PosixRule::parse(text, why);
        if (!rule) return false;
        zone.rule_ = std::move(rule);
        return true;
    }
};

TimeZone::~TimeZone() = default;

std::shared_ptr<const TimeZone> TimeZone::fixed(std::int32_t offset, std::string name) {
    std::shared_ptr<TimeZone> zone(new TimeZone());
    zone->name_ = std::move(name);
    zone->types_.push_back({offset, false, {}});
    zone->list_offsets();
    return zone;
}

std::shared_ptr<const TimeZone> TimeZone::from_tzif(std::string name, std::string_view data,
                                                    std::string* why) {
    return TzifReader::read(std::move(name), data, why);
}

std::shared_ptr<const TimeZone> TimeZone::from_posix(std::string name, std::string_view rule,
                                                     std::string* why) {
    auto r = PosixRule::parse(rule, why);
    if (!r) return nullptr;
    std::shared_ptr<TimeZone> zone(new TimeZone());
    zone->name_ = std::move(name);
    zone->types_.push_back({r->std_offset, false, r->std_abbreviation});
    zone->rule_ = std::move(r);
    zone->list_offsets();
    return zone;
}

void TimeZone::list_offsets() {
    for (const Type& t : types_)
        offsets_.push_back(t.offset);
    if (rule_) {
        offsets_.push_back(rule_->std_offset);
        if (rule_->has_dst) offsets_.push_back(rule_->dst_offset);
    }
    std::sort(offsets_.begin(), offsets_.end());
    offsets_.erase(std::unique(offsets_.begin(), offsets_.end()), offsets_.end());
}

bool TimeZone::is_fixed() const noexcept {
    return transitions_.empty() && !rule_ && types_.size() == 1 && types_[0].abbreviation.empty();
}

ZoneOffset TimeZone::at(std::int64_t utc_seconds) const noexcept {
    // Before the first transition: type 0 (RFC 8536 3.2); after the last: the footer's rule.
    if (transitions_.empty()) return rule_ ? rule_->at(utc_seconds) : of(types_[0]);
    if (utc_seconds < transitions_.front()) return of(types_[0]);
    if (utc_seconds >= transitions_.back() && rule_) return rule_->at(utc_seconds);
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
    const auto i = static_cast<std::size_t>(it - transitions_.begin()) - 1;
    return of(types_[transition_types_[i]]);
}

LocalResolution TimeZone::to_utc(std::int64_t local_seconds) const noexcept {
    // An offset o fits when the instant local - o has offset o: none fits in a gap, two or
    // more in an overlap. Every offset the zone has is tried (a handful in a real zone), not
    // just those a day before and after the reading: changes may be closer together than
    // that (a POSIX rule such as "XXX0YYY,J100/0,J101/0" has a day of daylight saving time).
    constexpr std::int64_t kDay = 86400;
    const std::int64_t local =
        std::clamp<std::int64_t>(local_seconds, INT64_MIN / 2, INT64_MAX / 2);
    std::size_t fitting = 0;
    std::int64_t earliest = 0;
    // Ascending offsets: the first that fits gives the latest instant, the last the earliest.
    for (const std::int32_t o : offsets_) {
        if (at(local - o).offset != o) continue;
        ++fitting;
        earliest = local - o;
    }
    if (fitting == 1) return {earliest, LocalResolution::Kind::Unique};
    if (fitting > 1) return {earliest, LocalResolution::Kind::Ambiguous};
    // In a gap: the reading taken at the offset before the change.
    return {local - at(local - kDay).offset, LocalResolution::Kind::Skipped};
}

} // namespace conveyor::timefmt

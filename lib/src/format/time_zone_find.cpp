// Finding zones by name: fixed offsets, "local", and IANA names read from the zoneinfo
// directory, each loaded once into a process-wide cache of immutable zones (like the C
// library's own tz state, but read-only once built, so threads share zones by pointer).

#include "conveyor/core/suggest.hpp"
#include "conveyor/format/time_text.hpp"
#include "conveyor/format/time_zone.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>

namespace conveyor::timefmt {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDefaultDirectory = "/usr/share/zoneinfo";
/// TZif files are a few kilobytes; anything much larger is not one.
constexpr std::size_t kMaxZoneFile = 1 << 20;
/// Names that failed are remembered (with their message) up to this many.
constexpr std::size_t kMaxFailures = 256;

/// Why a file could not be read.
enum class ReadError : std::uint8_t { None, Missing, Other };

ReadError read_file(const std::string& path, std::string& out, std::string& why) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        why = std::strerror(errno);
        return errno == ENOENT || errno == ENOTDIR ? ReadError::Missing : ReadError::Other;
    }
    struct stat st {};
    ReadError result = ReadError::None;
    if (::fstat(fd, &st) != 0) {
        why = std::strerror(errno);
        result = ReadError::Other;
    } else if (!S_ISREG(st.st_mode)) { // "Europe" is a directory, not a zone
        result = ReadError::Missing;
    } else if (static_cast<std::size_t>(st.st_size) > kMaxZoneFile) {
        why = "larger than any time zone file";
        result = ReadError::Other;
    } else {
        out.resize(static_cast<std::size_t>(st.st_size));
        std::size_t got = 0;
        while (got < out.size()) {
            const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                why = n < 0 ? std::strerror(errno) : "the file shrank while read";
                result = ReadError::Other;
                break;
            }
            got += static_cast<std::size_t>(n);
        }
    }
    ::close(fd);
    return result;
}

/// An IANA name: relative, parts of letters, digits and "_-+." that are not "." or "..", so it
/// cannot leave the zoneinfo directory.
bool is_zone_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 255) return false;
    std::size_t part_start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '/') {
            const std::string_view part = name.substr(part_start, i - part_start);
            if (part.empty() || part == "." || part == "..") return false;
            part_start = i + 1;
            continue;
        }
        const char c = name[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+' || c == '.';
        if (!ok) return false;
    }
    return true;
}

struct ZoneCache {
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<const TimeZone>> zones;
    std::unordered_map<std::string, std::string> failures;
    /// The zone names of each directory, for "did you mean" (read once: records may name
    /// many zones that are not there).
    std::unordered_map<std::string, std::shared_ptr<const std::vector<std::string>>> names;
};

ZoneCache& cache() {
    static ZoneCache c;
    return c;
}

/// Looks `key` up, or builds it with `load` (outside the lock: it reads files) and keeps what
/// it gave, the zone or the message.
template <class Load>
std::shared_ptr<const TimeZone> cached(const std::string& key, std::string* why, Load load) {
    ZoneCache& c = cache();
    {
        std::lock_guard lock(c.mutex);
        if (auto it = c.zones.find(key); it != c.zones.end()) return it->second;
        if (auto it = c.failures.find(key); it != c.failures.end()) {
            if (why) *why = it->second;
            return nullptr;
        }
    }
    std::string message;
    std::shared_ptr<const TimeZone> zone = load(message);
    std::lock_guard lock(c.mutex);
    if (zone) return c.zones.emplace(key, std::move(zone)).first->second;
    if (c.failures.size() >= kMaxFailures) c.failures.clear();
    c.failures.emplace(key, message);
    if (why) *why = std::move(message);
    return nullptr;
}

std::vector<std::string> names_in(const std::string& dir);

std::shared_ptr<const std::vector<std::string>> known_names(const std::string& dir) {
    ZoneCache& c = cache();
    {
        std::lock_guard lock(c.mutex);
        if (auto it = c.names.find(dir); it != c.names.end()) return it->second;
    }
    auto names = std::make_shared<const std::vector<std::string>>(names_in(dir));
    std::lock_guard lock(c.mutex);
    return c.names.emplace(dir, std::move(names)).first->second;
}

/// Reads the TZif file at `path` as zone `name`; `missing` says whether it was not there.
std::shared_ptr<const TimeZone> load_file(const std::string& name, const std::string& path,
                                          std::string& message, bool& missing) {
    std::string data;
    std::string why;
    const ReadError e = read_file(path, data, why);
    missing = e == ReadError::Missing;
    if (e == ReadError::Other) {
        message = "cannot read time zone file " + path + ": " + why;
        return nullptr;
    }
    if (missing) return nullptr;
    auto zone = TimeZone::from_tzif(name, data, &why);
    if (!zone) message = "time zone file " + path + " is not usable: " + why;
    return zone;
}

std::shared_ptr<const TimeZone> load_named(std::string_view name, std::string* why) {
    const std::string dir = zone_directory();
    return cached(dir + '\n' + std::string(name), why, [&](std::string& message) {
        bool missing = false;
        auto zone = load_file(std::string(name), dir + "/" + std::string(name), message, missing);
        if (missing) {
            std::error_code ec;
            if (!fs::is_directory(dir, ec))
                message = "unknown time zone '" + std::string(name) +
                          "': there is no time zone data in " + dir +
                          " (install tzdata, or set TZDIR)";
            else
                message = "unknown time zone '" + std::string(name) + "'" +
                          did_you_mean(name, *known_names(dir));
        }
        return zone;
    });
}

/// The process's zone as TZ (nullptr: not set) says: a zone name, ":name", an absolute file
/// or a POSIX rule; empty is UTC. Without TZ, /etc/localtime, else UTC.
std::shared_ptr<const TimeZone> load_local_zone(const char* tz, std::string& message) {
    bool missing = false;
    if (!tz) {
        auto zone = load_file("local", "/etc/localtime", message, missing);
        return missing ? TimeZone::fixed(0, "UTC") : zone;
    }
    std::string_view v = tz;
    if (v.starts_with(':')) v.remove_prefix(1);
    if (v.empty()) return TimeZone::fixed(0, "UTC");
    if (v.starts_with('/')) { // the environment is the operator's: any file will do
        auto zone = load_file(std::string(v), std::string(v), message, missing);
        if (missing) message = "TZ names the file " + std::string(v) + ", which is not there";
        return zone;
    }
    if (is_zone_name(v)) {
        std::string ignored;
        if (auto zone = load_named(v, &ignored)) return zone;
    }
    auto zone = TimeZone::from_posix(std::string(v), v);
    if (!zone)
        message = "the TZ environment variable ('" + std::string(tz) +
                  "') names no time zone and is no POSIX TZ rule";
    return zone;
}

std::shared_ptr<const TimeZone> load_local(std::string* why) {
    const char* tz = std::getenv("TZ");
    const std::string key = tz ? "\nTZ=" + std::string(tz) : std::string("\nno TZ");
    return cached(key, why, [&](std::string& message) { return load_local_zone(tz, message); });
}

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> names;
    const fs::path root = dir;
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const fs::directory_entry& e = *it;
        const std::string rel = e.path().lexically_relative(root).generic_string();
        std::error_code type_ec;
        if (e.is_directory(type_ec)) {
            if (rel == "posix" || rel == "right" || e.is_symlink(type_ec))
                it.disable_recursion_pending();
            continue;
        }
        if (!e.is_regular_file(type_ec) || !is_zone_name(rel)) continue;
        const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        char magic[4];
        const bool tzif = ::read(fd, magic, 4) == 4 && std::string_view(magic, 4) == "TZif";
        ::close(fd);
        if (tzif) names.push_back(rel);
    }
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace

std::string zone_directory() {
    const char* dir = std::getenv("TZDIR");
    if (dir && *dir) return dir;
    return std::string(kDefaultDirectory);
}

std::vector<std::string> zone_names() {
    return names_in(zone_directory());
}

std::shared_ptr<const TimeZone> find_zone(std::string_view name, std::string* why) {
    if (auto offset = parse_offset(name)) {
        return cached("\nfixed " + std::string(name), why,
                      [&](std::string&) { return TimeZone::fixed(*offset, std::string(name)); });
    }
    if (name == "local") return load_local(why);
    if (!is_zone_name(name)) {
        if (why)
            *why = "'" + std::string(name) +
                   "' is not a time zone name (an IANA name such as Europe/Berlin, UTC, local, "
                   "or an offset such as +02:00)";
        return nullptr;
    }
    return load_named(name, why);
}

} // namespace conveyor::timefmt

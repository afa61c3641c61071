#include "conveyor/io/shard_parts.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <openssl/evp.h>
#include <set>

namespace fs = std::filesystem;

namespace conveyor {

namespace {

/// (directory, NAME, EXT with its dot or empty) of `target`.
struct Split {
    fs::path dir;
    std::string name;
    std::string ext;
};

Split split(const std::string& target) {
    const fs::path p(target);
    const std::string file = p.filename().string();
    const std::size_t dot = file.find('.', 1); // a leading dot is part of the name
    Split s;
    s.dir = p.parent_path();
    s.name = dot == std::string::npos ? file : file.substr(0, dot);
    s.ext = dot == std::string::npos ? "" : file.substr(dot);
    return s;
}

std::string part_stem(const Split& s, ShardId id) {
    return fmt::format("{}.part-{:05}-of-{:05}", s.name, id.index, id.count);
}

std::string in_dir(const Split& s, const std::string& file) {
    return s.dir.empty() ? file : (s.dir / file).string();
}

/// A part file name of `s` (committed or an attempt's, with its manifest or not): the shard
/// count it names, or nullopt.
std::optional<std::uint32_t> part_count(const Split& s, const std::string& file) {
    const std::string prefix = s.name + ".part-";
    if (!file.starts_with(prefix)) return std::nullopt;
    // NNNNN-of-MMMMM
    const std::string rest = file.substr(prefix.size());
    if (rest.size() < 14 || rest.substr(5, 4) != "-of-") return std::nullopt;
    std::uint32_t n = 0;
    const char* b = rest.data() + 9;
    if (std::from_chars(b, b + 5, n).ec != std::errc{}) return std::nullopt;
    const std::string tail = rest.substr(14);
    if (!tail.starts_with(s.ext) && !tail.starts_with(".attempt-")) return std::nullopt;
    return n;
}

} // namespace

std::string part_path(const std::string& target, ShardId id) {
    const Split s = split(target);
    return in_dir(s, part_stem(s, id) + s.ext);
}

std::string attempt_part_path(const std::string& target, ShardId id, std::string_view attempt) {
    const Split s = split(target);
    return in_dir(s, fmt::format("{}.attempt-{}{}", part_stem(s, id), attempt, s.ext));
}

std::string partials_path(const std::string& target) {
    const Split s = split(target);
    return in_dir(s, "." + s.name + ".conveyor-partials" + s.ext);
}

std::string manifest_path_of(const std::string& part) {
    return part + ".manifest";
}

std::string manifest_text(const PartManifest& m) {
    return fmt::format("conveyor-part 1\nshard {}/{}\nattempt {}\nrecords {}\nbytes {}\n"
                       "sha256 {}\n",
                       m.shard.index, m.shard.count, m.attempt, m.records, m.bytes, m.sha256);
}

Result<PartManifest> parse_manifest(std::string_view text, const std::string& where) {
    PartManifest m;
    std::set<std::string> seen;
    auto bad = [&where](const std::string& why) {
        return Error(ErrorKind::Data, "not a part manifest: " + why, where);
    };
    auto number = [](std::string_view v, auto& out) {
        return std::from_chars(v.data(), v.data() + v.size(), out).ec == std::errc{};
    };
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        const std::size_t sp = line.find(' ');
        if (sp == std::string_view::npos) return bad("line '" + std::string(line) + "'");
        const std::string key(line.substr(0, sp));
        const std::string_view value = line.substr(sp + 1);
        seen.insert(key);
        bool ok = true;
        if (key == "conveyor-part") {
            ok = value == "1";
        } else if (key == "shard") {
            const std::size_t slash = value.find('/');
            ok = slash != std::string_view::npos && number(value.substr(0, slash), m.shard.index) &&
                 number(value.substr(slash + 1), m.shard.count);
        } else if (key == "attempt") {
            m.attempt = value;
        } else if (key == "records") {
            ok = number(value, m.records);
        } else if (key == "bytes") {
            ok = number(value, m.bytes);
        } else if (key == "sha256") {
            m.sha256 = value;
            ok = value.size() == 64;
        }
        if (!ok) return bad("line '" + std::string(line) + "'");
    }
    for (const char* k : {"conveyor-part", "shard", "records", "bytes", "sha256"})
        if (!seen.contains(k)) return bad(fmt::format("no '{}' line", k));
    return m;
}

Result<PartManifest> read_manifest(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(ErrorKind::NoInput, "cannot open the manifest", path);
    const std::string text{std::istreambuf_iterator<char>(in), {}};
    return parse_manifest(text, path);
}

Result<FileDigest> digest_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        return fail(ErrorKind::NoInput, "cannot open: " + std::string(std::strerror(errno)), path);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::vector<char> buf(std::size_t{1} << 20);
    FileDigest d;
    for (;;) {
        const std::size_t n = std::fread(buf.data(), 1, buf.size(), f);
        if (n == 0) break;
        EVP_DigestUpdate(ctx, buf.data(), n);
        d.bytes += n;
    }
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    if (failed) return fail(ErrorKind::NoInput, "read error", path);
    for (unsigned int i = 0; i < len; ++i)
        d.sha256 += fmt::format("{:02x}", out[i]);
    return d;
}

std::vector<std::uint32_t> committed_shard_counts(const std::string& target) {
    const Split s = split(target);
    std::set<std::uint32_t> counts;
    std::error_code ec;
    for (const fs::directory_entry& e :
         fs::directory_iterator(s.dir.empty() ? fs::path(".") : s.dir, ec)) {
        const std::string file = e.path().filename().string();
        if (!file.ends_with(s.ext + ".manifest") || file.find(".attempt-") != std::string::npos)
            continue;
        if (const std::optional<std::uint32_t> n = part_count(s, file)) counts.insert(*n);
    }
    return {counts.begin(), counts.end()};
}

std::size_t remove_parts(const std::string& target) {
    const Split s = split(target);
    std::vector<fs::path> doomed;
    std::error_code ec;
    for (const fs::directory_entry& e :
         fs::directory_iterator(s.dir.empty() ? fs::path(".") : s.dir, ec))
        if (part_count(s, e.path().filename().string())) doomed.push_back(e.path());
    std::size_t removed = 0;
    for (const fs::path& p : doomed)
        if (fs::remove(p, ec)) ++removed;
    return removed;
}

} // namespace conveyor

#include "conveyor/stage/checkpoint_text.hpp"

#include "conveyor/io/input_file.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

namespace conveyor {

Error CheckpointText::bad(std::string_view why) const {
    return Error(ErrorKind::Config,
                 fmt::format("the saved position \"{}\" is not {}: {}",
                             std::string_view(text_).substr(0, 200), what_, why));
}

Error CheckpointText::refuse(std::string_view position, std::string_view why,
                             const std::string& file) {
    return Error(ErrorKind::Config,
                 fmt::format("cannot resume from the saved position ({}): {}; run again without "
                             "--resume to read the file from its start",
                             position, why),
                 file);
}

Status CheckpointText::verify_file(InputFile& file, std::uint64_t offset, std::uint64_t check,
                                   std::string_view position) {
    const std::uint64_t size = file.size().value_or(0);
    if (offset > size)
        return refuse(
            position,
            fmt::format("the file has only {} bytes, fewer than the {} already read", size, offset),
            file.display_name());
    Result<std::uint64_t> now = file.checksum_before(offset);
    if (!now) return std::move(now).error();
    if (*now != check)
        return refuse(position,
                      fmt::format("the bytes before byte {} are not what the interrupted run read: "
                                  "the file has changed",
                                  offset),
                      file.display_name());
    return {};
}

Error CheckpointText::not_resumable(bool followed, const std::string& path, std::string_view stage,
                                    Compression compressed) {
    if (compressed != Compression::None)
        return Error(ErrorKind::Config,
                     "cannot resume: the input is " + std::string(to_string(compressed)) +
                         "-compressed, and a compressed file cannot be read again from a saved "
                         "position (`conveyor run --fresh` reads it from the start)",
                     path, std::string(stage));
    return Error(ErrorKind::Config,
                 followed
                     ? "cannot resume: a followed file (follow = true) is not read from a saved "
                       "position"
                     : "cannot resume: the input is not a regular file, so it cannot be read "
                       "again from a saved position",
                 path, std::string(stage));
}

Result<CheckpointText> CheckpointText::parse(std::string_view text, std::string_view tag,
                                             std::initializer_list<std::string_view> keys,
                                             std::string_view what) {
    CheckpointText t;
    t.text_ = std::string(text);
    t.what_ = std::string(what);
    std::size_t i = 0;
    bool tagged = false;
    while (i < text.size()) {
        if (text[i] == ' ') {
            ++i;
            continue;
        }
        std::size_t e = text.find(' ', i);
        if (e == std::string_view::npos) e = text.size();
        const std::string_view token = text.substr(i, e - i);
        i = e;
        if (!tagged) {
            if (token != tag) return t.bad(fmt::format("it does not start with '{}'", tag));
            tagged = true;
            continue;
        }
        const std::size_t eq = token.find('=');
        if (eq == std::string_view::npos) return t.bad(fmt::format("'{}' is not key=value", token));
        const std::string_view key = token.substr(0, eq);
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
            return t.bad(fmt::format("unknown key '{}'", key));
        for (const auto& [k, v] : t.fields_)
            if (k == key) return t.bad(fmt::format("'{}' appears twice", key));
        t.fields_.emplace_back(std::string(key), std::string(token.substr(eq + 1)));
    }
    if (!tagged) return t.bad("it is empty");
    for (std::string_view key : keys)
        if (t.get(key).data() == nullptr) return t.bad(fmt::format("'{}' is missing", key));
    return t;
}

std::string_view CheckpointText::get(std::string_view key) const {
    for (const auto& [k, v] : fields_)
        if (k == key) return v;
    return {};
}

Result<std::uint64_t> CheckpointText::number(std::string_view key, int base) const {
    const std::string_view value = get(key);
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n, base);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size())
        return bad(fmt::format("'{}' is not a valid {}", value, key));
    return n;
}

} // namespace conveyor

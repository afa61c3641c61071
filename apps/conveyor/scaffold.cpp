// `conveyor new NAME`: a commented starter pipeline. The option comments come from the
// functions' declarations (the same OptionSpecs that validate and describe them) and those of
// [global] and [error_handling] from their option tables, so the starter file cannot drift from
// what conveyor accepts.

#include "commands.hpp"
#include "conveyor/config/section_options.hpp"
#include "conveyor/core/error.hpp"
#include "conveyor/registry/registry.hpp"
#include "session.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <unistd.h>

namespace conveyor::cli {

namespace {

constexpr std::size_t kWidth = 96;

std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

/// `s` as one word of a shell command line: quoted when it holds anything but letters, digits
/// and `-_./+,:=@%`.
std::string shell_word(std::string_view s) {
    const bool plain =
        !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789-_./+,:=@%") == std::string_view::npos;
    if (plain) return std::string(s);
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// `text` as `# ` comment lines of at most kWidth columns.
std::string comment(std::string_view text, std::string_view indent = "") {
    std::string out, line;
    auto flush = [&] {
        out += std::string(indent) + "#" + (line.empty() ? "" : " " + line) + "\n";
        line.clear();
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find(' ', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view word = text.substr(pos, end - pos);
        if (!line.empty() && indent.size() + 2 + line.size() + 1 + word.size() > kWidth) flush();
        if (!line.empty()) line += ' ';
        line += word;
        pos = end + 1;
    }
    if (!line.empty()) flush();
    return out;
}

/// The value shown for an option that has no default: its example, or a value of its type that
/// its bounds allow (a line uncommented as it stands must not be refused).
std::string placeholder(const OptionSpec& o) {
    if (!o.example.empty()) return o.example;
    const double low = o.min ? *o.min + (o.min_exclusive ? 1 : 0) : 0;
    const double least = o.max ? std::min(std::max(low, 0.0), *o.max) : std::max(low, 0.0);
    switch (o.type) {
    case OptionType::Bool:
        return "false";
    case OptionType::Int:
        return fmt::format("{}", static_cast<std::int64_t>(std::ceil(least)));
    case OptionType::Float: {
        std::string text = fmt::format("{}", least);
        if (text.find_first_of(".e") == std::string::npos) text += ".0";
        return text;
    }
    case OptionType::StringList:
        return "[]";
    case OptionType::StringMap:
    case OptionType::Table:
        return "{}";
    case OptionType::String:
    case OptionType::Any:
        return o.choices.empty() ? "\"\"" : toml_string(o.choices.front());
    }
    return "\"\"";
}

/// A fixed section's key as comment lines: what it does, then `# key = default`.
std::string commented_key(const OptionSpec& o) {
    std::string about = o.description;
    if (!o.choices.empty()) {
        about += " One of:";
        for (const std::string& c : o.choices)
            about += " " + c;
        about += ".";
    }
    if (!o.default_note.empty()) about += " Default: " + o.default_note + ".";
    const std::string value =
        o.default_value.is_null() ? placeholder(o) : o.default_value.to_string();
    return comment(about) + "# " + o.name + " = " + value + "\n";
}

struct StarterStage {
    std::string id;
    std::string function;
    std::vector<std::string> inputs;
    std::string description;
    /// Options set in the starter (TOML values); every other option is listed commented out.
    std::map<std::string, std::string> set;
};

std::string stage_text(const Registry& registry, const StarterStage& s) {
    std::string out = "[[stages]]\n";
    out += "id = " + toml_string(s.id) + "\n";
    out += "function = " + toml_string(s.function) + "\n";
    if (!s.inputs.empty()) {
        out += "inputs = [";
        for (std::size_t i = 0; i < s.inputs.size(); ++i)
            out += (i ? ", " : "") + toml_string(s.inputs[i]);
        out += "]\n";
    }
    out += "description = " + toml_string(s.description) + "\n";
    const FunctionDescriptor* f = registry.find(s.function);
    out += "[stages.config]\n";
    if (!f) { // not compiled in: keep what we know
        for (const auto& [k, v] : s.set)
            out += k + " = " + v + "\n";
        return out + "\n";
    }
    for (const OptionSpec& o : f->options) {
        const auto it = s.set.find(o.name);
        std::string about = o.description;
        if (!about.empty() && about.back() != '.') about += '.';
        if (!o.choices.empty()) {
            about += " One of:";
            for (const std::string& c : o.choices)
                about += " " + c;
            about += ".";
        }
        if (o.required) about += " (required)";
        out += comment(fmt::format("{} ({}): {}", o.name, to_string(o.type), about));
        if (it != s.set.end()) {
            out += o.name + " = " + it->second + "\n";
        } else {
            const std::string value =
                o.default_value.is_null() ? placeholder(o) : o.default_value.to_string();
            out += (o.required ? "" : "# ") + o.name + " = " + value + "\n";
        }
    }
    return out + "\n";
}

} // namespace

int cmd_new(const std::string& name) {
    const Registry& registry = builtin_registry();
    std::string path = name;
    if (!path.ends_with(".toml")) path += ".toml";
    std::string stem = path.substr(0, path.size() - 5);
    if (const auto slash = stem.rfind('/'); slash != std::string::npos)
        stem = stem.substr(slash + 1);
    if (stem.empty()) {
        std::fprintf(stderr, "conveyor: new: '%s' has no name before .toml\n", name.c_str());
        return exit_codes::kUsage;
    }

    std::string t;
    t += "# " + stem + ".toml: a conveyor pipeline (started with `conveyor new`).\n#\n";
    const std::string word = shell_word(path);
    t += "#   conveyor run " + word +
         "        run it (add --stats for a summary, --tap STAGE to peek)\n";
    t += "#   conveyor validate " + word + "   check it without running anything\n";
    t += "#   conveyor explain " + word + "    see how it will run; `conveyor graph` draws it\n";
    t += "#   conveyor list / conveyor describe FUNCTION   the functions and their options\n";
    t += "#   conveyor schema > conveyor.schema.json      a JSON Schema for your editor\n\n";
    t += "[pipeline]\n";
    t += "name = " + toml_string(stem) + "\n";
    t += "version = \"0.1.0\"\n";
    t += "description = \"Read a CSV file, keep the large orders, write them as JSON\"\n\n";
    t += "[global]\n";
    t += comment("Every key is optional; the values shown are the defaults (conveyor describe "
                 "global lists them all).");
    for (const std::string_view key :
         {"executor", "channel_buffer_size", "batch_size", "workers", "concurrency", "memory_limit",
          "timeout_seconds", "log_level"})
        t += commented_key(*config::global_options().find(key));
    t += "\n[global.variables]\n";
    t += comment("${name} in any string value; ${ENV:-default} reads the environment.");
    t += "data_dir = \"${DATA_DIR:-.}\"\n\n";
    t += "[error_handling]\n";
    t += commented_key(*config::error_handling_options().find("strategy")) + "\n";

    t += stage_text(
        registry,
        {"load", "csv.read", {}, "Read the orders", {{"path", "\"${data_dir}/input.csv\""}}});
    t += stage_text(registry,
                    {"large",
                     "filter.apply",
                     {"load"},
                     "Keep orders of 100 or more",
                     {{"column", "\"amount\""}, {"operator", "\">=\""}, {"value", "100"}}});
    t += stage_text(registry, {"save",
                               "json.write",
                               {"large"},
                               "Write them as a JSON array",
                               {{"path", "\"${data_dir}/output.json\""}}});
    while (t.ends_with("\n\n"))
        t.pop_back();

    // O_EXCL: never overwrite, not even a file created a moment ago by someone else.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        const int err = errno;
        if (err == EEXIST)
            std::fprintf(stderr, "conveyor: new: %s already exists; not overwriting it\n",
                         path.c_str());
        else
            std::fprintf(stderr, "conveyor: new: cannot create %s: %s\n", path.c_str(),
                         std::strerror(err));
        return exit_codes::kCantCreate;
    }
    std::string_view rest = t;
    while (!rest.empty()) {
        const ssize_t n = ::write(fd, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(path.c_str());
            std::fprintf(stderr, "conveyor: new: cannot write %s: %s\n", path.c_str(),
                         std::strerror(err));
            return exit_codes::kCantCreate;
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(path.c_str());
        std::fprintf(stderr, "conveyor: new: cannot write %s: %s\n", path.c_str(),
                     std::strerror(err));
        return exit_codes::kCantCreate;
    }
    const std::string shell_path = shell_word(path);
    std::printf("wrote %s: it reads input.csv (a header with an amount column) and writes "
                "output.json, in $DATA_DIR or the current directory; try: conveyor validate %s\n",
                path.c_str(), shell_path.c_str());
    return exit_codes::kOk;
}

} // namespace conveyor::cli

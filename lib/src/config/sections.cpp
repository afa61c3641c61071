#include "sections.hpp"

#include "conveyor/config/limits.hpp"
#include "conveyor/config/section_options.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/registry/registry.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace conveyor::config {

namespace {

const toml::table* as_section(LoadContext& ctx, const toml::node& node, std::string_view name) {
    const toml::table* t = node.as_table();
    if (!t)
        ctx.error(ctx.at(node), {}, std::string(name) + " must be a table, not " + describe(node));
    return t;
}

void read_plugins(LoadContext& ctx, const toml::node& node, const Registry& registry,
                  GlobalSpec& global) {
    const toml::array* arr = node.as_array();
    if (!arr) {
        std::string msg =
            "[global] plugins must be an array of plugin names, not " + describe(node);
        if (node.is_string()) msg += " (write plugins = [" + quote(node.as_string()->get()) + "])";
        ctx.error(ctx.at(node), {}, std::move(msg));
        return;
    }
    std::vector<std::string> known;
    for (const PluginInfo& p : registry.plugins())
        known.push_back(p.name);
    std::string known_text;
    for (const std::string& k : known)
        known_text += (known_text.empty() ? "" : ", ") + k;

    std::vector<std::string> names;
    bool ok = true;
    for (const toml::node& item : *arr) {
        const std::string* name = read_string(ctx, item, "each entry of [global] plugins");
        if (!name) {
            ok = false;
            continue;
        }
        if (!registry.find_plugin(*name)) {
            std::string msg = "unknown plugin '" + *name + "' in [global] plugins";
            const std::string hint = did_you_mean(*name, known);
            if (*name == "mongodb") // seed 000's examples name it; say it is not built yet
                msg += ": conveyor has no MongoDB plugin yet, see README's Roadmap (available "
                       "plugins: " +
                       known_text + ")";
            else
                msg += hint.empty() ? " (available plugins: " + known_text + ")" : hint;
            ctx.error(ctx.at(item), {}, std::move(msg));
            ok = false;
            continue;
        }
        names.push_back(*name);
    }
    if (ok) global.plugins = std::move(names);
}

/// A size in bytes: an integer, or a string with a unit ("512MB", "2GiB").
std::optional<std::uint64_t> read_byte_size(LoadContext& ctx, const toml::node& node,
                                            const std::string& what, const OptionSpec& o) {
    const auto max = static_cast<std::uint64_t>(o.max.value_or(kMaxBufferedBytes));
    if (node.is_integer()) {
        const std::int64_t v = node.as_integer()->get();
        if (v <= 0 || static_cast<std::uint64_t>(v) > max) {
            ctx.error(ctx.at(node), {},
                      what + " must be a positive number of bytes up to 1PiB, got " +
                          std::to_string(v));
            return std::nullopt;
        }
        return static_cast<std::uint64_t>(v);
    }
    if (node.is_string()) {
        if (ctx.is_poisoned(node)) return std::nullopt;
        if (auto bytes = parse_byte_size(node.as_string()->get()); bytes && *bytes <= max)
            return bytes;
    }
    ctx.error(ctx.at(node), {},
              what + " must be a positive number of bytes, either an integer or a string with " +
                  "a unit such as \"512MB\" or \"2GiB\" (up to 1PiB), not " + describe(node));
    return std::nullopt;
}

/// A number: seconds (from 0 or above 0, up to a year) or one within the declared bounds.
std::optional<double> read_number(LoadContext& ctx, const toml::node& node, const std::string& what,
                                  const OptionSpec& o, std::string_view stage) {
    if (o.unit == OptionUnit::Seconds)
        return read_seconds(ctx, node, what, !o.min_exclusive, stage);
    const std::optional<double> d = ctx.number_of(node);
    if (!d) {
        ctx.error(ctx.at(node), stage, what + " must be a number, not " + describe(node));
        return std::nullopt;
    }
    if (!std::isfinite(*d) || (o.min && (*d < *o.min || (o.min_exclusive && *d == *o.min))) ||
        (o.max && *d > *o.max)) {
        ctx.error(ctx.at(node), stage,
                  what + " must be a number" +
                      (o.min ? (o.min_exclusive ? " above " : " from ") + number_text(*o.min)
                             : std::string()) +
                      (o.max ? " up to " + number_text(*o.max) : std::string()) + ", got " +
                      number_text(*d));
        return std::nullopt;
    }
    return d;
}

/// One key's value, checked against its declaration, with the messages the sections have
/// always given ("[global] workers must be between 0 and 4096, got -1"). nullopt when it
/// was reported. Keys of other types (plugins, variables, sub-tables) have their own readers.
std::optional<OptionValue> read_value(LoadContext& ctx, const toml::node& v,
                                      const std::string& what, const OptionSpec& o,
                                      std::string_view stage) {
    switch (o.type) {
    case OptionType::Bool:
        if (auto b = read_bool(ctx, v, what, stage)) return OptionValue(*b);
        return std::nullopt;
    case OptionType::Int: {
        if (o.unit == OptionUnit::Bytes) {
            if (auto n = read_byte_size(ctx, v, what, o))
                return OptionValue(static_cast<std::int64_t>(*n));
            return std::nullopt;
        }
        const auto min = static_cast<std::int64_t>(
            o.min.value_or(static_cast<double>(std::numeric_limits<std::int64_t>::min())));
        const auto max =
            o.max ? static_cast<std::int64_t>(*o.max) : std::numeric_limits<std::int64_t>::max();
        if (auto n = read_int(ctx, v, what, min, max, stage)) return OptionValue(*n);
        return std::nullopt;
    }
    case OptionType::Float:
        if (auto d = read_number(ctx, v, what, o, stage)) return OptionValue(*d);
        return std::nullopt;
    case OptionType::String: {
        if (!o.choices.empty()) {
            if (auto s = read_choice(ctx, v, what, o.choices, stage)) return OptionValue(*s);
            return std::nullopt;
        }
        const std::string* s = read_string(ctx, v, what, stage);
        if (!s) return std::nullopt;
        if (s->size() < o.min_length) {
            ctx.error(ctx.at(v), stage, what + " must not be empty");
            return std::nullopt;
        }
        return OptionValue(*s);
    }
    default:
        ctx.error(ctx.at(v), stage, what + " cannot be read here (an internal error)");
        return std::nullopt;
    }
}

void read_dead_letter_queue(LoadContext& ctx, const toml::node& node, ErrorHandlingSpec& spec) {
    const toml::table* dlq = as_section(ctx, node, "[error_handling] dead_letter_queue");
    if (!dlq) return;
    const OptionTable<ErrorHandlingSpec>& table = dead_letter_options();
    static const std::vector<std::string> keys = [&] {
        std::vector<std::string> out;
        for (const OptionSpec& o : table.specs())
            out.push_back(o.name);
        return out;
    }();
    const toml::node* path_node = nullptr;
    bool enabled_given = false;
    for (const Entry& d : entries_in_file_order(*dlq)) {
        const std::string_view key = d.key->str();
        const OptionSpec* o = table.find(key);
        if (!o) {
            report_unknown_key(ctx, d, "[error_handling] dead_letter_queue", keys);
            continue;
        }
        if (key == "enabled") enabled_given = true;
        if (key == "path") path_node = d.value;
        if (auto value = read_value(ctx, *d.value, "dead_letter_queue." + std::string(key), *o, {}))
            table.assign(spec, key, *value);
    }
    if (spec.dead_letter_enabled && spec.dead_letter_path.empty() &&
        !(path_node && ctx.is_poisoned(*path_node)))
        ctx.error(path_node ? ctx.at(*path_node) : ctx.at(*dlq), {},
                  path_node ? "dead_letter_queue.path must not be empty"
                            : "dead_letter_queue is enabled but has no 'path' (the file that "
                              "receives failed records)");
    if (!enabled_given && path_node)
        ctx.warning(ctx.at(*dlq), {},
                    "dead_letter_queue has a path but is not enabled (add enabled = true to use "
                    "it)");
}

/// Reads each key of section table `t` into `spec` through `table`, in file order; the keys
/// in `own` are left to `read_own` (which returns false for keys it does not read either).
template <class Spec, class ReadOwn, class Assigned = void (*)(const Entry&)>
void read_keys(
    LoadContext& ctx, const toml::table& t, const std::string& section,
    const OptionTable<Spec>& table, const std::vector<std::string>& keys, Spec& spec,
    std::string_view stage, ReadOwn&& read_own, Assigned&& assigned = [](const Entry&) {}) {
    for (const Entry& e : entries_in_file_order(t)) {
        const std::string_view key = e.key->str();
        if (read_own(e)) continue;
        const OptionSpec* o = table.find(key);
        if (!o) {
            report_unknown_key(ctx, e, section, keys, stage);
            continue;
        }
        if (auto value = read_value(ctx, *e.value, section + " " + std::string(key), *o, stage)) {
            table.assign(spec, key, *value);
            assigned(e);
        }
    }
}

} // namespace

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
    auto trim = [](std::string_view s) {
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
            s.remove_prefix(1);
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
            s.remove_suffix(1);
        return s;
    };
    text = trim(text);
    std::size_t digits = 0;
    while (digits < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
        ++digits;
    if (digits == 0) return std::nullopt;
    double number = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, number);
    if (ec != std::errc() || ptr != text.data() + digits) return std::nullopt;

    std::string unit;
    for (char c : trim(text.substr(digits)))
        unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    struct Unit {
        std::string_view name;
        double factor;
    };
    static constexpr Unit kUnits[] = {
        {"", 1},
        {"b", 1},
        {"k", 1e3},
        {"kb", 1e3},
        {"m", 1e6},
        {"mb", 1e6},
        {"g", 1e9},
        {"gb", 1e9},
        {"t", 1e12},
        {"tb", 1e12},
        {"kib", 1024.0},
        {"mib", 1048576.0},
        {"gib", 1073741824.0},
        {"tib", 1099511627776.0},
    };
    for (const Unit& u : kUnits) {
        if (u.name != unit) continue;
        const double bytes = std::floor(number * u.factor);
        if (!(bytes >= 1) || bytes > static_cast<double>(kMaxBufferedBytes)) return std::nullopt;
        return static_cast<std::uint64_t>(bytes);
    }
    return std::nullopt;
}

void read_pipeline_section(LoadContext& ctx, const toml::node& node, PipelineSpec& spec) {
    const toml::table* t = as_section(ctx, node, "[pipeline]");
    if (!t) return;
    read_keys(ctx, *t, "[pipeline]", pipeline_options(), pipeline_keys(), spec, {},
              [](const Entry&) { return false; });
}

void read_global_section(LoadContext& ctx, const toml::node& node, const Registry& registry,
                         GlobalSpec& global) {
    const toml::table* t = as_section(ctx, node, "[global]");
    if (!t) return;
    read_keys(ctx, *t, "[global]", global_options(), global_keys(), global, {},
              [&](const Entry& e) {
                  const std::string_view key = e.key->str();
                  if (key == "plugins") read_plugins(ctx, *e.value, registry, global);
                  // `variables` was read (and expanded) before everything else.
                  return key == "plugins" || key == "variables";
              });
}

void read_error_handling_section(LoadContext& ctx, const toml::node& node, ErrorHandlingSpec& spec,
                                 const std::string& stage_id) {
    const bool per_stage = !stage_id.empty();
    const std::string section = per_stage ? "[stages.error_handling]" : "[error_handling]";
    const toml::table* t = as_section(ctx, node, section);
    if (!t) return;
    const toml::node* max_delay_node = nullptr;
    read_keys(
        ctx, *t, section, error_handling_options(), error_handling_keys(), spec, stage_id,
        [&](const Entry& e) {
            if (e.key->str() != "dead_letter_queue") return false;
            if (per_stage)
                ctx.error(ctx.at(*e.value), stage_id,
                          "the dead-letter queue is set for the whole run in "
                          "[error_handling], not per stage");
            else
                read_dead_letter_queue(ctx, *e.value, spec);
            return true;
        },
        [&](const Entry& e) {
            if (e.key->str() == "max_retry_delay_seconds") max_delay_node = e.value;
        });
    // Without an explicit cap, a long first delay raises the cap rather than being cut.
    if (!max_delay_node && spec.max_retry_delay_seconds < spec.retry_delay_seconds)
        spec.max_retry_delay_seconds = spec.retry_delay_seconds;
    if (max_delay_node && spec.max_retry_delay_seconds < spec.retry_delay_seconds)
        ctx.error(ctx.at(*max_delay_node), stage_id,
                  section + " max_retry_delay_seconds (" +
                      number_text(spec.max_retry_delay_seconds) +
                      ") must not be less than retry_delay_seconds (" +
                      number_text(spec.retry_delay_seconds) + ")");
}

void read_buffer_section(LoadContext& ctx, const toml::node& node, BufferSpec& spec,
                         const std::string& stage_id) {
    const toml::table* t = as_section(ctx, node, "[stages.buffer]");
    if (!t) return;
    const toml::node* when_full = nullptr;
    read_keys(
        ctx, *t, "[stages.buffer]", buffer_options(), buffer_keys(), spec, stage_id,
        [](const Entry&) { return false; },
        [&](const Entry& e) {
            if (e.key->str() == "when_full") when_full = e.value;
        });
    if (when_full && spec.type == BufferSpec::Type::Disk &&
        spec.when_full != BufferSpec::WhenFull::Block)
        ctx.error(ctx.at(*when_full), stage_id,
                  "[stages.buffer] when_full applies to type = \"memory\": a disk buffer "
                  "never drops records (it is bounded by the disk)");
}

OptionValue global_value(const GlobalSpec& global, std::string_view key) {
    return global_options().read(global, key);
}

} // namespace conveyor::config

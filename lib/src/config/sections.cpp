#include "sections.hpp"

#include "conveyor/config/limits.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/registry/registry.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace conveyor::config {

namespace {

const std::vector<std::string> kDeadLetterKeys = {"enabled", "path"};

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
void read_byte_size(LoadContext& ctx, const toml::node& node, const std::string& key,
                    std::uint64_t& target) {
    const std::string what = "[global] " + key;
    if (node.is_integer()) {
        const std::int64_t v = node.as_integer()->get();
        if (v <= 0 || static_cast<std::uint64_t>(v) > kMaxBufferedBytes) {
            ctx.error(ctx.at(node), {},
                      what + " must be a positive number of bytes up to 1PiB, got " +
                          std::to_string(v));
            return;
        }
        target = static_cast<std::uint64_t>(v);
        return;
    }
    if (node.is_string()) {
        if (ctx.is_poisoned(node)) return;
        if (auto bytes = parse_byte_size(node.as_string()->get())) {
            target = *bytes;
            return;
        }
    }
    ctx.error(ctx.at(node), {},
              what + " must be a positive number of bytes, either an integer or a string with " +
                  "a unit such as \"512MB\" or \"2GiB\" (up to 1PiB), not " + describe(node));
}

} // namespace

const std::vector<std::string>& pipeline_keys() {
    static const std::vector<std::string> keys = {"name", "version", "description"};
    return keys;
}

const std::vector<std::string>& global_keys() {
    static const std::vector<std::string> keys = {"executor",
                                                  "channel_buffer_size",
                                                  "concurrency",
                                                  "log_level",
                                                  "plugins",
                                                  "execution_mode",
                                                  "timeout_seconds",
                                                  "variables",
                                                  "workers",
                                                  "batch_size",
                                                  "max_buffered_bytes",
                                                  "memory_limit",
                                                  "shutdown_timeout_seconds",
                                                  "state_dir",
                                                  "lock",
                                                  "checkpoint_interval"};
    return keys;
}

const std::vector<std::string>& error_handling_keys() {
    static const std::vector<std::string> keys = {
        "strategy",     "max_retries",      "retry_delay_seconds", "max_retry_delay_seconds",
        "on_exhausted", "dead_letter_queue"};
    return keys;
}

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
    for (const Entry& e : entries_in_file_order(*t)) {
        const std::string_view key = e.key->str();
        const std::string what = "[pipeline] " + std::string(key);
        if (key == "name") {
            if (const std::string* s = read_string(ctx, *e.value, what)) {
                if (s->empty())
                    ctx.error(ctx.at(*e.value), {}, "[pipeline] name must not be empty");
                else
                    spec.name = *s;
            }
        } else if (key == "version") {
            if (const std::string* s = read_string(ctx, *e.value, what)) spec.version = *s;
        } else if (key == "description") {
            if (const std::string* s = read_string(ctx, *e.value, what)) spec.description = *s;
        } else {
            report_unknown_key(ctx, e, "[pipeline]", pipeline_keys());
        }
    }
}

void read_global_section(LoadContext& ctx, const toml::node& node, const Registry& registry,
                         GlobalSpec& global) {
    const toml::table* t = as_section(ctx, node, "[global]");
    if (!t) return;
    for (const Entry& e : entries_in_file_order(*t)) {
        const std::string_view key = e.key->str();
        const toml::node& v = *e.value;
        const std::string what = "[global] " + std::string(key);
        if (key == "executor") {
            if (auto s = read_choice(ctx, v, what, executor_names()))
                global.executor = parse_executor(*s).value_or(global.executor);
        } else if (key == "channel_buffer_size") {
            if (auto n = read_int(ctx, v, what, 1, kMaxChannelBuffer))
                global.channel_buffer_size = static_cast<std::size_t>(*n);
        } else if (key == "concurrency") {
            if (auto n = read_int(ctx, v, what, 1, kMaxConcurrency))
                global.concurrency = static_cast<std::size_t>(*n);
        } else if (key == "log_level") {
            if (auto s = read_choice(ctx, v, what, log_level_names())) global.log_level = *s;
        } else if (key == "plugins") {
            read_plugins(ctx, v, registry, global);
        } else if (key == "execution_mode") {
            if (auto s = read_choice(ctx, v, what, execution_mode_names()))
                global.execution_mode = parse_execution_mode(*s).value_or(global.execution_mode);
        } else if (key == "timeout_seconds") {
            if (auto d = read_seconds(ctx, v, what, false)) global.timeout_seconds = *d;
        } else if (key == "shutdown_timeout_seconds") {
            if (auto d = read_seconds(ctx, v, what, false)) global.shutdown_timeout_seconds = *d;
        } else if (key == "workers") {
            if (auto n = read_int(ctx, v, what, 0, kMaxWorkers))
                global.workers = static_cast<std::size_t>(*n);
        } else if (key == "batch_size") {
            if (auto n = read_int(ctx, v, what, 1, kMaxBatchSize))
                global.batch_size = static_cast<std::size_t>(*n);
        } else if (key == "max_buffered_bytes") {
            read_byte_size(ctx, v, "max_buffered_bytes", global.max_buffered_bytes);
        } else if (key == "memory_limit") {
            read_byte_size(ctx, v, "memory_limit", global.memory_limit);
        } else if (key == "state_dir") {
            if (const std::string* s = read_string(ctx, v, what)) {
                if (s->empty())
                    ctx.error(ctx.at(v), {}, "[global] state_dir must not be empty");
                else
                    global.state_dir = *s;
            }
        } else if (key == "lock") {
            if (auto b = read_bool(ctx, v, what)) global.lock = *b;
        } else if (key == "checkpoint_interval") {
            if (auto n = read_int(ctx, v, what, 0, kMaxCheckpointInterval))
                global.checkpoint_interval = static_cast<std::uint64_t>(*n);
        } else if (key == "variables") {
            // Read (and expanded) before everything else.
        } else {
            report_unknown_key(ctx, e, "[global]", global_keys());
        }
    }
}

void read_error_handling_section(LoadContext& ctx, const toml::node& node, ErrorHandlingSpec& spec,
                                 const std::string& stage_id) {
    const bool per_stage = !stage_id.empty();
    const std::string section = per_stage ? "[stages.error_handling]" : "[error_handling]";
    const toml::table* t = as_section(ctx, node, section);
    if (!t) return;
    const toml::node* max_delay_node = nullptr;
    for (const Entry& e : entries_in_file_order(*t)) {
        const std::string_view key = e.key->str();
        const toml::node& v = *e.value;
        const std::string what = section + " " + std::string(key);
        if (per_stage && key == "dead_letter_queue") {
            ctx.error(ctx.at(v), stage_id,
                      "the dead-letter queue is set for the whole run in [error_handling], not "
                      "per stage");
            continue;
        }
        if (key == "strategy") {
            if (auto s = read_choice(ctx, v, what, strategy_names(), stage_id))
                spec.strategy = parse_strategy(*s).value_or(spec.strategy);
        } else if (key == "max_retries") {
            if (auto n = read_int(ctx, v, what, 0, kMaxRetries, stage_id))
                spec.max_retries = static_cast<std::uint32_t>(*n);
        } else if (key == "on_exhausted") {
            if (auto s = read_choice(ctx, v, what, on_exhausted_names(), stage_id))
                spec.on_exhausted = parse_strategy(*s).value_or(spec.on_exhausted);
        } else if (key == "retry_delay_seconds") {
            if (auto d = read_seconds(ctx, v, what, true, stage_id)) spec.retry_delay_seconds = *d;
        } else if (key == "max_retry_delay_seconds") {
            if (auto d = read_seconds(ctx, v, what, true, stage_id)) {
                spec.max_retry_delay_seconds = *d;
                max_delay_node = &v;
            }
        } else if (key == "dead_letter_queue") {
            const toml::table* dlq = as_section(ctx, v, "[error_handling] dead_letter_queue");
            if (!dlq) continue;
            const toml::node* path_node = nullptr;
            bool enabled_given = false;
            for (const Entry& d : entries_in_file_order(*dlq)) {
                const std::string_view dkey = d.key->str();
                if (dkey == "enabled") {
                    enabled_given = true;
                    if (auto b = read_bool(ctx, *d.value, "dead_letter_queue.enabled"))
                        spec.dead_letter_enabled = *b;
                } else if (dkey == "path") {
                    path_node = d.value;
                    if (const std::string* s = read_string(ctx, *d.value, "dead_letter_queue.path"))
                        spec.dead_letter_path = *s;
                } else {
                    report_unknown_key(ctx, d, "[error_handling] dead_letter_queue",
                                       kDeadLetterKeys);
                }
            }
            if (spec.dead_letter_enabled && spec.dead_letter_path.empty() &&
                !(path_node && ctx.is_poisoned(*path_node)))
                ctx.error(path_node ? ctx.at(*path_node) : ctx.at(*dlq), {},
                          path_node ? "dead_letter_queue.path must not be empty"
                                    : "dead_letter_queue is enabled but has no 'path' (the "
                                      "file that receives failed records)");
            if (!enabled_given && path_node)
                ctx.warning(ctx.at(*dlq), {},
                            "dead_letter_queue has a path but is not enabled (add enabled = "
                            "true to use it)");
        } else {
            report_unknown_key(ctx, e, section, error_handling_keys(), stage_id);
        }
    }
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

OptionValue global_value(const GlobalSpec& global, std::string_view key) {
    if (key == "concurrency") return OptionValue(static_cast<std::int64_t>(global.concurrency));
    return OptionValue();
}

} // namespace conveyor::config

#include "overrides.hpp"

#include "conveyor/core/suggest.hpp"

#include <string_view>

namespace conveyor::config {

namespace {

const std::vector<std::string> kSections = {"global", "error_handling", "pipeline", "stages"};

std::vector<std::string> split_dots(std::string_view key) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t dot = key.find('.', start);
        parts.emplace_back(key.substr(start, dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return parts;
}

/// Sets `target[key]` to VALUE: a TOML value (its nodes located at "--set ARG"), or a string
/// when it is none (or when `as_string`). A number or boolean keeps the text it was written
/// as, for a key that takes a string (`--set stages.out.path=2024`).
void put_value(LoadContext& ctx, toml::table& target, const std::string& key,
               const std::string& arg, std::string_view value, bool as_string) {
    const std::string source = "--set " + arg;
    ctx.command_line_text.erase(target.get(key)); // a value an earlier --set gave it goes
    if (!as_string) {
        toml::parse_result r = toml::parse("v = " + std::string(value), source);
        // Exactly one value: `4\nfoo = 1` is text, not 4 with the rest dropped.
        toml::node* v = r && r.table().size() == 1 ? r.table().get("v") : nullptr;
        if (v && !v->is_date() && !v->is_time() && !v->is_date_time()) {
            const bool scalar = v->is_number() || v->is_boolean();
            auto [it, inserted] = target.insert_or_assign(key, std::move(*v));
            if (scalar) ctx.command_line_text[&it->second] = std::string(value);
            return;
        }
    }
    toml::parse_result s = toml::parse("v = \"\"", source);
    toml::node* text = s.table().get("v");
    text->as_string()->get() = std::string(value);
    target.insert_or_assign(key, std::move(*text));
}

/// `parent[key]` as a table, created (located at "--set ARG") when it is not there; null when
/// it is something else.
toml::table* child_table(toml::table& parent, const std::string& key, const std::string& arg) {
    toml::node* n = parent.get(key);
    if (!n) {
        toml::parse_result r = toml::parse("[v]", "--set " + arg);
        parent.insert(key, std::move(*r.table().get("v")));
        n = parent.get(key);
    }
    return n->as_table();
}

/// The stage table whose id is parts[1], or parts[1..k] joined by dots (an id with dots in it,
/// the longest that names a stage and leaves a key); null when none does. `id_parts` is set to
/// how many parts the id took; `ids` receives every stage id.
toml::table* find_stage(toml::table& root, const std::vector<std::string>& parts,
                        std::size_t& id_parts, std::vector<std::string>& ids) {
    toml::array* stages = root.get("stages") ? root.get("stages")->as_array() : nullptr;
    toml::table* found = nullptr;
    if (!stages) return nullptr;
    for (toml::node& n : *stages) {
        toml::table* t = n.as_table();
        const toml::node* id = t ? t->get("id") : nullptr;
        if (!id || !id->is_string()) continue;
        const std::string& name = id->as_string()->get();
        ids.push_back(name);
        std::string joined;
        for (std::size_t k = 1; k + 1 < parts.size(); ++k) {
            joined += (k > 1 ? "." : "") + parts[k];
            if (joined == name && k > id_parts) {
                found = t;
                id_parts = k;
            }
        }
    }
    return found;
}

/// The table of stage `stage` that `parts` (from `first`, after the stage id) lead to: the stage
/// itself for its own keys, its error_handling or buffer, else (and always when the argument
/// said `config.`) its config and tables inside it. The key to set is parts.back().
toml::table* stage_target(toml::table& stage, const std::vector<std::string>& parts,
                          std::size_t first, bool in_config, const std::string& arg) {
    const std::string& k = parts[first];
    const std::size_t last = parts.size() - 1;
    if (!in_config && first == last && (k == "function" || k == "inputs" || k == "description"))
        return &stage;
    toml::table* target = nullptr;
    std::size_t i = first;
    if (!in_config && (k == "error_handling" || k == "buffer") && first < last) {
        target = child_table(stage, k, arg);
        ++i;
    } else {
        target = child_table(stage, "config", arg);
    }
    for (; target && i < last; ++i)
        target = child_table(*target, parts[i], arg);
    return target;
}

/// For stages.ID.KEY...: the table the key goes in (null when the path leads to something that
/// is no table); false after reporting a mistake in the argument.
bool stage_table(LoadContext& ctx, toml::table& root, const std::vector<std::string>& parts,
                 const std::string& arg, toml::table*& target) {
    const SourceLocation where{"--set " + arg, 0, 0};
    if (parts.size() < 3) {
        ctx.error(where, {}, "--set stages.ID.KEY=VALUE names a stage and a key");
        return false;
    }
    std::vector<std::string> ids;
    std::size_t id_parts = 0;
    toml::table* stage = find_stage(root, parts, id_parts, ids);
    if (!stage) {
        std::string hint = did_you_mean(parts[1], ids);
        if (hint.empty() && !ids.empty() && ids.size() <= 12) { // as for an unknown input
            hint = " (the stages are";
            for (std::size_t i = 0; i < ids.size(); ++i)
                hint += (i ? ", " : " ") + ids[i];
            hint += ")";
        }
        ctx.error(where, {}, "--set: no stage has id '" + parts[1] + "'" + hint);
        return false;
    }
    std::size_t first = 1 + id_parts;
    // stages.ID.config.KEY, as the file writes [stages.config], is stages.ID.KEY.
    const bool in_config = parts[first] == "config" && first + 1 < parts.size();
    if (in_config) ++first;
    const std::string& k = parts[first];
    const bool last = first + 1 == parts.size();
    if (!in_config &&
        (k == "id" || ((k == "config" || k == "error_handling" || k == "buffer") && last))) {
        ctx.error(where, {},
                  k == "id" ? std::string("--set cannot change a stage's id (other stages' "
                                          "inputs name it)")
                            : "--set stages.ID." + k + ".KEY=VALUE names a key of the " +
                                  "stage's [stages." + k + "]");
        return false;
    }
    target = stage_target(*stage, parts, first, in_config, arg);
    return true;
}

/// One --set ARG (or an error naming it).
void apply_one(LoadContext& ctx, toml::table& root, const std::string& arg) {
    const SourceLocation where{"--set " + arg, 0, 0};
    const std::size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
        ctx.error(where, {},
                  "--set takes KEY=VALUE (e.g. --set global.workers=4 or --set "
                  "stages.load.path=x.csv)");
        return;
    }
    const std::vector<std::string> parts = split_dots(std::string_view(arg).substr(0, eq));
    const std::string_view value = std::string_view(arg).substr(eq + 1);
    for (const std::string& p : parts)
        if (p.empty()) {
            ctx.error(where, {}, "--set: an empty part in '" + arg.substr(0, eq) + "'");
            return;
        }
    toml::table* target = nullptr;
    const std::string& section = parts[0];
    if (section == "global" || section == "error_handling" || section == "pipeline") {
        if (parts.size() < 2) {
            ctx.error(where, {},
                      "--set " + section + ".KEY=VALUE names a key after '" + section + ".'");
            return;
        }
        // A table inside the section: global.variables.NAME, error_handling.dead_letter_queue.KEY
        target = child_table(root, section, arg);
        for (std::size_t i = 1; target && i + 1 < parts.size(); ++i)
            target = child_table(*target, parts[i], arg);
    } else if (section == "stages") {
        if (!stage_table(ctx, root, parts, arg, target)) return;
    } else {
        ctx.error(where, {},
                  "--set: '" + section +
                      "' is not a section; use global., error_handling., pipeline. or "
                      "stages.ID." +
                      did_you_mean(section, kSections));
        return;
    }
    if (!target) {
        ctx.error(where, {}, "--set: '" + arg.substr(0, eq) + "' is not a table in the file");
        return;
    }
    // A variable is text whatever it looks like (`--set global.variables.year=2024`).
    const bool variable = section == "global" && parts.size() == 3 && parts[1] == "variables";
    put_value(ctx, *target, parts.back(), arg, value, variable);
}

} // namespace

void apply_overrides(LoadContext& ctx, toml::table& root,
                     const std::vector<std::string>& overrides) {
    for (const std::string& arg : overrides)
        apply_one(ctx, root, arg);
}

} // namespace conveyor::config

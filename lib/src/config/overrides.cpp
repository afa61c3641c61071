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
/// when it is none.
void put_value(toml::table& target, const std::string& key, const std::string& arg,
               std::string_view value) {
    const std::string source = "--set " + arg;
    toml::parse_result r = toml::parse("v = " + std::string(value), source);
    toml::node* v = r ? r.table().get("v") : nullptr;
    if (v && !v->is_date() && !v->is_time() && !v->is_date_time()) {
        target.insert_or_assign(key, std::move(*v));
        return;
    }
    toml::parse_result s = toml::parse("v = \"\"", source);
    toml::node* text = s.table().get("v");
    text->as_string()->get() = std::string(value);
    target.insert_or_assign(key, std::move(*text));
}

toml::table* child_table(toml::table& parent, const std::string& key) {
    toml::node* n = parent.get(key);
    if (!n) {
        parent.insert(key, toml::table{});
        n = parent.get(key);
    }
    return n->as_table();
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
        if (parts.size() != 2 &&
            !(section == "global" && parts.size() == 3 && parts[1] == "variables")) {
            ctx.error(where, {},
                      "--set " + section + ".KEY=VALUE takes one key after '" + section + ".'");
            return;
        }
        target = child_table(root, section);
        if (target && parts.size() == 3) target = child_table(*target, parts[1]);
    } else if (section == "stages") {
        if (parts.size() < 3) {
            ctx.error(where, {}, "--set stages.ID.KEY=VALUE names a stage and a key");
            return;
        }
        toml::array* stages = root.get("stages") ? root.get("stages")->as_array() : nullptr;
        toml::table* stage = nullptr;
        std::vector<std::string> ids;
        if (stages)
            for (toml::node& n : *stages)
                if (toml::table* t = n.as_table())
                    if (const toml::node* id = t->get("id"); id && id->is_string()) {
                        ids.push_back(id->as_string()->get());
                        if (ids.back() == parts[1]) stage = t;
                    }
        if (!stage) {
            ctx.error(where, {},
                      "--set: no stage has id '" + parts[1] + "'" + did_you_mean(parts[1], ids));
            return;
        }
        const std::string& k = parts[2];
        if (parts.size() == 3 && (k == "function" || k == "inputs" || k == "description")) {
            target = stage;
        } else if (k == "error_handling" && parts.size() == 4) {
            target = child_table(*stage, "error_handling");
        } else if (parts.size() == 3) {
            target = child_table(*stage, "config");
        } else {
            ctx.error(where, {},
                      "--set stages.ID.KEY=VALUE takes one key (or error_handling.KEY) after the "
                      "stage id");
            return;
        }
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
    put_value(*target, parts.back(), arg, value);
}

} // namespace

void apply_overrides(LoadContext& ctx, toml::table& root,
                     const std::vector<std::string>& overrides) {
    for (const std::string& arg : overrides)
        apply_one(ctx, root, arg);
}

} // namespace conveyor::config

#include "variables.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace conveyor::config {

namespace {

void expand_string(LoadContext& ctx, toml::node& node, const VariableLookup& lookup,
                   std::string_view stage) {
    std::string& text = node.as_string()->get();
    if (!needs_expansion(text)) return;
    // Exactly one ${...}: the value takes the type its option wants.
    if (is_single_reference(text)) ctx.substituted.emplace(&node, text);
    std::vector<std::string> empty;
    Result<std::string> r = expand_variables(text, lookup, &empty);
    if (!r) {
        if (ctx.is_poisoned(node)) return; // a variable it uses failed, and said why
        ctx.error(ctx.at(node), stage, r.error().message);
        ctx.poisoned.insert(&node);
        return;
    }
    // `OUTDIR=` in a cron line makes "${OUTDIR}/out.csv" the file /out.csv: say so, naming the
    // text as written (the expanded one may hold another variable's secret). A variable that
    // failed reads as empty too, but its error was reported first.
    if (!empty.empty() && !ctx.diags.has_errors())
        ctx.warning(ctx.at(node), stage,
                    "variable '" + empty.front() + "' is set but empty (used in " + quote(text) +
                        "; write ${" + empty.front() +
                        ":-} if empty is meant, or give a default: ${" + empty.front() +
                        ":-value})");
    text = std::move(*r);
}

void expand_tree(LoadContext& ctx, toml::node& node, const VariableLookup& lookup,
                 const toml::node* skip, std::string_view stage) {
    if (&node == skip) return;
    if (node.is_string()) {
        expand_string(ctx, node, lookup, stage);
    } else if (toml::table* t = node.as_table()) {
        for (auto&& [k, v] : *t)
            expand_tree(ctx, v, lookup, skip, stage);
    } else if (toml::array* a = node.as_array()) {
        for (toml::node& v : *a)
            expand_tree(ctx, v, lookup, skip, stage);
    }
}

} // namespace

void expand_pipeline_variables(LoadContext& ctx, toml::table& root, GlobalSpec& global,
                               const VariableLookup& getenv) {
    toml::node* vars_node = nullptr;
    if (toml::table* g = root["global"].as_table()) vars_node = g->get("variables");

    // [global.variables] values may use each other, in any order, and the environment.
    std::set<std::string, std::less<>> failed_variables;
    if (vars_node) {
        toml::table* vars = vars_node->as_table();
        if (!vars) {
            ctx.error(ctx.at(*vars_node), {},
                      "[global] variables must be a table of strings, not " + describe(*vars_node));
        } else {
            std::map<std::string, toml::node*, std::less<>> defined;
            std::vector<std::string> order;
            for (const Entry& e : entries_in_file_order(*vars)) {
                const std::string name(e.key->str());
                toml::node& value = *vars->get(name);
                if (!value.is_string()) {
                    std::string msg = "variable '" + name +
                                      "' in [global.variables] must be a string, not " +
                                      describe(value);
                    if (value.is_number() || value.is_boolean()) msg += " (quote it)";
                    ctx.error(ctx.at(value), {}, std::move(msg));
                    continue;
                }
                if (!is_variable_name(name))
                    ctx.warning(ctx.at(*e.key, value), {},
                                "variable '" + name +
                                    "' can never be used: names in ${...} "
                                    "are letters, digits and '_', not starting with a digit");
                defined.emplace(name, &value);
                order.push_back(name);
            }
            // Depth-first: a variable is expanded once the ones it uses are. `path` holds those
            // being expanded; a name met again on it closes a cycle.
            std::vector<std::string> path;
            std::function<bool(const std::string&)> resolve;
            const VariableLookup lookup_var =
                [&](std::string_view name) -> std::optional<std::string> {
                const auto it = defined.find(name);
                if (it == defined.end()) return getenv(name);
                // One that failed was reported where it failed: its users go on quietly
                // (the load fails anyway).
                if (!resolve(it->first)) return std::string();
                const auto got = global.variables.find(it->first);
                if (got == global.variables.end()) return std::nullopt;
                return got->second;
            };
            resolve = [&](const std::string& name) -> bool {
                if (failed_variables.count(name)) return false;
                if (global.variables.count(name)) return true;
                toml::node& value = *defined.at(name);
                if (const auto from = std::find(path.begin(), path.end(), name);
                    from != path.end()) {
                    std::string cycle;
                    for (auto it = from; it != path.end(); ++it)
                        cycle += *it + " -> ";
                    cycle += name;
                    ctx.error(ctx.at(value), {},
                              "[global.variables] refer to each other in a cycle: " + cycle);
                    return false;
                }
                path.push_back(name);
                if (!ctx.is_poisoned(value)) expand_string(ctx, value, lookup_var, {});
                path.pop_back();
                if (ctx.is_poisoned(value)) {
                    failed_variables.insert(name);
                    return false;
                }
                global.variables[name] = value.as_string()->get();
                return true;
            };
            for (const std::string& name : order)
                resolve(name);
        }
    }

    const VariableLookup lookup = [&getenv, &global, &failed_variables](std::string_view name) {
        if (auto it = global.variables.find(std::string(name)); it != global.variables.end())
            return std::optional<std::string>(it->second);
        if (failed_variables.count(name)) return std::optional<std::string>(std::string());
        return getenv(name);
    };
    for (auto&& [key, value] : root) {
        toml::array* stages = key == "stages" ? value.as_array() : nullptr;
        if (!stages) {
            expand_tree(ctx, value, lookup, vars_node, {});
            continue;
        }
        // Inside a stage, messages name it: expand its id first (once), then the rest.
        for (toml::node& item : *stages) {
            toml::table* t = item.as_table();
            if (!t) {
                expand_tree(ctx, item, lookup, nullptr, {});
                continue;
            }
            std::string id;
            if (toml::node* id_node = t->get("id"); id_node && id_node->is_string()) {
                expand_string(ctx, *id_node, lookup, {});
                if (!ctx.is_poisoned(*id_node)) id = id_node->as_string()->get();
            }
            for (auto&& [k, v] : *t)
                if (k != "id") expand_tree(ctx, v, lookup, nullptr, id);
        }
    }
}

} // namespace conveyor::config

#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <cassert>

namespace conveyor {

std::string_view to_string(StageRole role) noexcept {
    switch (role) {
    case StageRole::Source:
        return "source";
    case StageRole::Transform:
        return "transform";
    case StageRole::Sink:
        return "sink";
    }
    return "stage";
}

const OptionSpec* FunctionDescriptor::find_option(std::string_view option) const {
    for (const OptionSpec& o : options)
        if (o.name == option) return &o;
    return nullptr;
}

void Registry::begin_plugin(std::string name, bool optional) {
    current_plugin_ = name;
    if (!find_plugin(name)) plugins_.push_back(PluginInfo{std::move(name), optional, {}});
}

void Registry::end_plugin() {
    current_plugin_.clear();
}

void Registry::add(FunctionDescriptor fn) {
    assert(!find(fn.name) && "function registered twice");
    fn.plugin = current_plugin_;
    if (!current_plugin_.empty()) {
        for (PluginInfo& p : plugins_)
            if (p.name == current_plugin_) p.functions.push_back(fn.name);
    }
    functions_.push_back(std::make_unique<FunctionDescriptor>(std::move(fn)));
}

const FunctionDescriptor* Registry::find(std::string_view name) const {
    for (const auto& f : functions_)
        if (f->name == name) return f.get();
    return nullptr;
}

std::vector<const FunctionDescriptor*> Registry::functions() const {
    std::vector<const FunctionDescriptor*> out;
    out.reserve(functions_.size());
    for (const auto& f : functions_)
        out.push_back(f.get());
    std::sort(out.begin(), out.end(),
              [](const auto* a, const auto* b) { return a->name < b->name; });
    return out;
}

const PluginInfo* Registry::find_plugin(std::string_view name) const {
    for (const PluginInfo& p : plugins_)
        if (p.name == name) return &p;
    return nullptr;
}

} // namespace conveyor

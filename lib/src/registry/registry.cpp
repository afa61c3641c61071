#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <cassert>
#include <mutex>

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

struct Registry::Entry {
    std::string name;
    std::string plugin;
    DescriptorMaker make = nullptr;
    mutable std::once_flag once;
    mutable std::unique_ptr<FunctionDescriptor> descriptor;
};

Registry::Registry() = default;
Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;

void Registry::begin_plugin(std::string name, bool optional) {
    current_plugin_ = name;
    if (!find_plugin(name)) plugins_.push_back(PluginInfo{std::move(name), optional, {}});
}

void Registry::end_plugin() {
    current_plugin_.clear();
}

Registry::Entry& Registry::add_entry(std::string name) {
    assert(std::none_of(entries_.begin(), entries_.end(),
                        [&](const auto& e) { return e->name == name; }) &&
           "function registered twice");
    if (!current_plugin_.empty()) {
        for (PluginInfo& p : plugins_)
            if (p.name == current_plugin_) p.functions.push_back(name);
    }
    auto e = std::make_unique<Entry>();
    e->name = std::move(name);
    e->plugin = current_plugin_;
    entries_.push_back(std::move(e));
    return *entries_.back();
}

void Registry::add(std::string name, DescriptorMaker make) {
    assert(make != nullptr);
    add_entry(std::move(name)).make = make;
}

void Registry::add(FunctionDescriptor fn) {
    Entry& e = add_entry(fn.name);
    fn.plugin = e.plugin;
    e.descriptor = std::make_unique<FunctionDescriptor>(std::move(fn));
}

const FunctionDescriptor& Registry::built(const Entry& e) const {
    if (e.make) {
        std::call_once(e.once, [&e] {
            auto d = std::make_unique<FunctionDescriptor>(e.make());
            assert(d->name == e.name && "registered under another name than its descriptor's");
            d->plugin = e.plugin;
            e.descriptor = std::move(d);
        });
    }
    return *e.descriptor;
}

const FunctionDescriptor* Registry::find(std::string_view name) const {
    for (const auto& e : entries_)
        if (e->name == name) return &built(*e);
    return nullptr;
}

std::vector<const FunctionDescriptor*> Registry::functions() const {
    std::vector<const FunctionDescriptor*> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_)
        out.push_back(&built(*e));
    std::sort(out.begin(), out.end(),
              [](const auto* a, const auto* b) { return a->name < b->name; });
    return out;
}

std::vector<std::string_view> Registry::names() const {
    std::vector<std::string_view> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_)
        out.emplace_back(e->name);
    std::sort(out.begin(), out.end());
    return out;
}

const PluginInfo* Registry::find_plugin(std::string_view name) const {
    for (const PluginInfo& p : plugins_)
        if (p.name == name) return &p;
    return nullptr;
}

} // namespace conveyor

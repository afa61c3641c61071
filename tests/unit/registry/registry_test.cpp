#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/registry/registry.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace conveyor {
namespace {

FunctionDescriptor fn(std::string name, StageRole role = StageRole::Transform) {
    FunctionDescriptor f;
    f.name = std::move(name);
    f.role = role;
    return f;
}

std::vector<std::string> names(const std::vector<const FunctionDescriptor*>& fns) {
    std::vector<std::string> out;
    for (const FunctionDescriptor* f : fns)
        out.push_back(f->name);
    return out;
}

TEST(RegistryTest, FindsFunctionsAndListsThemSorted) {
    Registry r;
    r.begin_plugin("json", false);
    r.add(fn("json.write", StageRole::Sink));
    r.add(fn("json.read", StageRole::Source));
    r.end_plugin();
    r.add(fn("core.noop"));

    ASSERT_NE(r.find("json.read"), nullptr);
    EXPECT_EQ(r.find("json.read")->role, StageRole::Source);
    EXPECT_EQ(r.find("json.read")->plugin, "json");
    EXPECT_EQ(r.find("core.noop")->plugin, ""); // added outside any plugin
    EXPECT_EQ(r.find("json.parse"), nullptr);
    EXPECT_EQ(names(r.functions()),
              (std::vector<std::string>{"core.noop", "json.read", "json.write"}));
}

TEST(RegistryTest, PluginsRecordOptionalityAndTheirFunctions) {
    Registry r;
    r.begin_plugin("csv", false);
    r.add(fn("csv.read", StageRole::Source));
    r.begin_plugin("http", true);
    r.add(fn("http.fetch"));
    r.end_plugin();
    // Re-opening a plugin adds to it instead of creating a second one.
    r.begin_plugin("csv", false);
    r.add(fn("csv.write", StageRole::Sink));
    r.end_plugin();

    ASSERT_EQ(r.plugins().size(), 2u);
    const PluginInfo* csv = r.find_plugin("csv");
    ASSERT_NE(csv, nullptr);
    EXPECT_FALSE(csv->optional);
    EXPECT_EQ(csv->functions, (std::vector<std::string>{"csv.read", "csv.write"}));
    const PluginInfo* http = r.find_plugin("http");
    ASSERT_NE(http, nullptr);
    EXPECT_TRUE(http->optional);
    EXPECT_EQ(http->functions, std::vector<std::string>{"http.fetch"});
    EXPECT_EQ(r.find_plugin("mongodb"), nullptr);
}

int g_built = 0; // how many times lazy_descriptor ran

FunctionDescriptor lazy_descriptor() {
    ++g_built;
    return fn("lazy.apply");
}

TEST(RegistryTest, BuildsADescriptorTheFirstTimeItsFunctionIsLookedUpOnly) {
    g_built = 0;
    Registry r;
    r.begin_plugin("lazy", true);
    r.add("lazy.apply", lazy_descriptor);
    r.end_plugin();
    r.add(fn("core.noop"));
    // Names, plugins and misses do not build it.
    EXPECT_EQ(r.names(), (std::vector<std::string_view>{"core.noop", "lazy.apply"}));
    EXPECT_EQ(r.find_plugin("lazy")->functions, std::vector<std::string>{"lazy.apply"});
    EXPECT_EQ(r.find("lazy.applied"), nullptr);
    EXPECT_EQ(g_built, 0);

    const FunctionDescriptor* f = r.find("lazy.apply");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->name, "lazy.apply");
    EXPECT_EQ(f->plugin, "lazy");
    EXPECT_EQ(r.find("lazy.apply"), f); // built once, the same descriptor after
    EXPECT_EQ(names(r.functions()), (std::vector<std::string>{"core.noop", "lazy.apply"}));
    EXPECT_EQ(g_built, 1);

    Registry moved = std::move(r);
    EXPECT_EQ(moved.find("lazy.apply"), f);
    EXPECT_EQ(g_built, 1);
}

TEST(RegistryTest, EveryBuiltinFunctionIsRegisteredUnderItsDescriptorsName) {
    Registry r;
    register_builtin_plugins(r);
    const std::vector<std::string_view> listed = r.names();
    ASSERT_GE(listed.size(), 30u);
    for (std::string_view name : listed) {
        const FunctionDescriptor* f = r.find(name);
        ASSERT_NE(f, nullptr) << name;
        EXPECT_EQ(f->name, name);
        EXPECT_FALSE(f->plugin.empty()) << name;
        EXPECT_TRUE(static_cast<bool>(f->factory)) << name;
        EXPECT_FALSE(f->summary.empty()) << name;
    }
    EXPECT_EQ(r.functions().size(), listed.size());
}

TEST(RegistryTest, DescriptorFindsOptionsByName) {
    FunctionDescriptor f = fn("csv.read", StageRole::Source);
    OptionSpec path;
    path.name = "path";
    path.required = true;
    OptionSpec header;
    header.name = "has_header";
    header.type = OptionType::Bool;
    header.aliases = {"has_headers"};
    f.options = {path, header};
    ASSERT_NE(f.find_option("path"), nullptr);
    EXPECT_TRUE(f.find_option("path")->required);
    EXPECT_EQ(f.find_option("has_header")->type, OptionType::Bool);
    EXPECT_EQ(f.find_option("has_headers"), nullptr); // aliases are resolved by the loader
}

TEST(RegistryTest, DescriptorDefaults) {
    const FunctionDescriptor f;
    EXPECT_EQ(f.role, StageRole::Transform);
    EXPECT_EQ(f.min_inputs, 1u);
    EXPECT_EQ(f.max_inputs, 1u);
    EXPECT_FALSE(f.needs_whole_input);
    EXPECT_EQ(to_string(StageRole::Source), "source");
    EXPECT_EQ(to_string(StageRole::Sink), "sink");
}

TEST(BuildContextTest, ErrorsPointAtTheOptionAndMarkFailure) {
    Options options;
    options.set_default_location(SourceLocation{"p.toml", 7, 1});
    options.set("operator", OptionValue("in"), SourceLocation{"p.toml", 8, 12}, true);
    GlobalSpec global;
    Diagnostics diags;
    BuildContext ctx("filter", options, global, diags);
    EXPECT_EQ(ctx.stage_id(), "filter");
    EXPECT_EQ(&ctx.options(), &options);
    EXPECT_EQ(&ctx.global(), &global);

    ctx.warning("operator", "'in' is slow on long lists");
    EXPECT_FALSE(ctx.failed());
    EXPECT_FALSE(diags.has_errors());

    ctx.error("operator", "operator 'in' needs a list value");
    ctx.error("value", "value is missing");
    EXPECT_TRUE(ctx.failed());
    EXPECT_TRUE(diags.has_errors());
    EXPECT_EQ(diags.to_string(),
              "p.toml:8:12: warning: stage 'filter': 'in' is slow on long lists\n"
              "p.toml:8:12: error: stage 'filter': operator 'in' needs a list value\n"
              "p.toml:7:1: error: stage 'filter': value is missing\n");
}

} // namespace
} // namespace conveyor

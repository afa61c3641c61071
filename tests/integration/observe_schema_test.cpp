// `conveyor schema`: the JSON Schema validates every example pipeline (and every seed fixture
// conveyor itself accepts, and the `conveyor new` starter) and rejects broken ones. The
// validator below implements exactly the keywords the generator uses and fails on any other,
// so a schema that grows a keyword it cannot check does not pass silently.

// toml++ as the core library compiles it (lib/src/config/toml_impl.cpp).
#define TOML_HEADER_ONLY 0
#define TOML_EXCEPTIONS 0
#include "conveyor/config/section_options.hpp"
#include "conveyor/core/arena.hpp"
#include "conveyor/format/json_parser.hpp"
#include "support/paths.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <regex>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace conveyor {
namespace {

namespace fs = std::filesystem;
using test::run_conveyor;

class Validator {
public:
    explicit Validator(const Value& root) : root_(root) {}

    /// Every problem found, "path: what".
    std::vector<std::string> validate(const toml::node& doc) {
        errors_.clear();
        check(root_, doc, "$");
        return errors_;
    }

private:
    static std::string_view str(const Value& v) { return v.as_string(); }

    const Value& resolve(std::string_view ref) {
        const std::string_view prefix = "#/definitions/";
        if (ref.substr(0, prefix.size()) != prefix) {
            errors_.push_back("unsupported $ref " + std::string(ref));
            return root_;
        }
        const Value* defs = root_.find("definitions");
        const Value* target = defs ? defs->find(ref.substr(prefix.size())) : nullptr;
        if (!target) {
            errors_.push_back("dangling $ref " + std::string(ref));
            return root_;
        }
        return *target;
    }

    static bool is_type(const toml::node& n, std::string_view type) {
        if (type == "string") return n.is_string();
        if (type == "integer") return n.is_integer();
        if (type == "number") return n.is_number();
        if (type == "boolean") return n.is_boolean();
        if (type == "array") return n.is_array();
        if (type == "object") return n.is_table();
        return false;
    }

    static bool equal(const Value& v, const toml::node& n) {
        switch (v.kind()) {
        case Kind::String:
            return n.is_string() && n.as_string()->get() == v.as_string();
        case Kind::Int:
            return n.is_integer() && n.as_integer()->get() == v.as_int();
        case Kind::Bool:
            return n.is_boolean() && n.as_boolean()->get() == v.as_bool();
        default:
            return false;
        }
    }

    static double number(const toml::node& n) {
        return n.is_integer() ? static_cast<double>(n.as_integer()->get())
                              : n.as_floating_point()->get();
    }

    /// True when `doc` satisfies `schema`; problems are appended unless `quiet`.
    bool check(const Value& schema, const toml::node& doc, const std::string& path,
               bool quiet = false) {
        bool ok = true;
        auto fail = [&](const std::string& what) {
            ok = false;
            if (!quiet) errors_.push_back(path + ": " + what);
        };
        for (const Member& kw : schema.as_object()) {
            const std::string_view k = kw.key;
            const Value& v = kw.value;
            if (k == "$schema" || k == "title" || k == "description" || k == "default" ||
                k == "definitions" || k == "then") {
                continue; // annotations; `then` is applied with `if`
            } else if (k == "$ref") {
                ok = check(resolve(str(v)), doc, path, quiet) && ok;
            } else if (k == "type") {
                bool any = false;
                if (v.kind() == Kind::String)
                    any = is_type(doc, str(v));
                else
                    for (const Value& t : v.as_array())
                        any = any || is_type(doc, str(t));
                if (!any) fail("wrong type");
            } else if (k == "enum") {
                bool any = false;
                for (const Value& e : v.as_array())
                    any = any || equal(e, doc);
                if (!any) fail("not one of the allowed values");
            } else if (k == "const") {
                if (!equal(v, doc)) fail("not the constant");
            } else if (k == "pattern") {
                if (doc.is_string() &&
                    !std::regex_search(doc.as_string()->get(), std::regex(std::string(str(v)))))
                    fail("does not match " + std::string(str(v)));
            } else if (k == "minLength") {
                if (doc.is_string() &&
                    doc.as_string()->get().size() < static_cast<std::size_t>(v.as_int()))
                    fail("too short");
            } else if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum") {
                if (!doc.is_number()) continue;
                const double x = number(doc), bound = v.as_double();
                if ((k == "minimum" && x < bound) || (k == "maximum" && x > bound) ||
                    (k == "exclusiveMinimum" && x <= bound))
                    fail(std::string(k) + " violated");
            } else if (k == "minItems" || k == "maxItems") {
                if (!doc.is_array()) continue;
                const auto n = static_cast<std::int64_t>(doc.as_array()->size());
                if ((k == "minItems" && n < v.as_int()) || (k == "maxItems" && n > v.as_int()))
                    fail(std::string(k) + " violated");
            } else if (k == "items") {
                if (const toml::array* a = doc.as_array())
                    for (std::size_t i = 0; i < a->size(); ++i)
                        ok =
                            check(v, *a->get(i), path + "[" + std::to_string(i) + "]", quiet) && ok;
            } else if (k == "required") {
                if (const toml::table* t = doc.as_table())
                    for (const Value& name : v.as_array())
                        if (!t->contains(str(name)))
                            fail("missing '" + std::string(str(name)) + "'");
            } else if (k == "properties") {
                if (const toml::table* t = doc.as_table())
                    for (const Member& p : v.as_object())
                        if (const toml::node* child = t->get(p.key))
                            ok = check(p.value, *child, path + "." + std::string(p.key), quiet) &&
                                 ok;
            } else if (k == "additionalProperties") {
                const toml::table* t = doc.as_table();
                if (!t) continue;
                const Value* props = schema.find("properties");
                for (auto&& [key, child] : *t) {
                    if (props && props->find(key.str())) continue;
                    if (v.kind() == Kind::Bool) {
                        if (!v.as_bool()) fail("unknown key '" + std::string(key.str()) + "'");
                    } else {
                        ok = check(v, child, path + "." + std::string(key.str()), quiet) && ok;
                    }
                }
            } else if (k == "anyOf") {
                bool any = false;
                for (const Value& alt : v.as_array())
                    any = any || check(alt, doc, path, true);
                if (!any) fail("matches none of the alternatives");
            } else if (k == "allOf") {
                for (const Value& part : v.as_array())
                    ok = check(part, doc, path, quiet) && ok;
            } else if (k == "if") {
                if (check(v, doc, path, true))
                    if (const Value* then = schema.find("then"))
                        ok = check(*then, doc, path, quiet) && ok;
            } else {
                fail("the test validator does not know keyword '" + std::string(k) + "'");
            }
        }
        return ok;
    }

    const Value& root_;
    std::vector<std::string> errors_;
};

class ObserveSchema : public ::testing::Test {
protected:
    void SetUp() override {
        auto r = run_conveyor({"schema"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        text_ = r.out;
        Result<Value> v = parser_.parse(text_, arena_);
        ASSERT_TRUE(v) << v.error().to_string();
        schema_ = *v;
    }
    std::vector<std::string> problems(const std::string& toml_text) {
        toml::parse_result doc = toml::parse(toml_text);
        EXPECT_TRUE(doc) << toml_text;
        if (!doc) return {"unparsable"};
        return Validator(schema_).validate(doc.table());
    }
    std::vector<std::string> problems_in_file(const std::string& path) {
        return problems(test::read_file(path));
    }
    /// Property names of a fixed section in the schema.
    std::set<std::string> section_keys(std::string_view section) {
        std::set<std::string> keys;
        for (const Member& m :
             schema_.find("properties")->find(section)->find("properties")->as_object())
            keys.emplace(m.key);
        return keys;
    }

    std::string text_;
    Arena arena_;
    json::Parser parser_;
    Value schema_;
};

TEST_F(ObserveSchema, EveryExamplePipelineValidates) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(test::source_dir() + "/pipelines/examples")) {
        if (e.path().extension() != ".toml") continue;
        ++n;
        EXPECT_EQ(problems_in_file(e.path().string()), std::vector<std::string>{}) << e.path();
    }
    EXPECT_GE(n, 6u);
}

TEST_F(ObserveSchema, SeedFixtureSectionsConveyorAcceptsValidate) {
    // The seed fixtures (the format document's examples) exercise [global], [error_handling] and
    // dead_letter_queue settings the examples do not; most are fragments or use functions not
    // built in. Their fixed sections are taken alone, with one valid stage: whenever conveyor
    // accepts the result, the schema must accept it too.
    std::size_t accepted = 0;
    for (const auto& e : fs::directory_iterator(test::fixture("config/seed000"))) {
        toml::parse_result doc = toml::parse_file(e.path().string());
        if (!doc) continue;
        toml::table sections;
        for (const char* name : {"pipeline", "global", "error_handling"})
            if (const toml::node* n = doc.table().get(name)) sections.insert(name, *n);
        if (sections.empty()) continue;
        std::ostringstream text;
        text << sections << "\n\n[[stages]]\nid = \"load\"\nfunction = \"csv.read\"\n"
             << "[stages.config]\npath = \"x.csv\"\n";
        test::TempDir dir;
        const std::string file = dir.write("p.toml", text.str());
        test::ProcessOptions o;
        o.unset_env = {"CONVEYOR_LOG"};
        if (run_conveyor({"validate", file}, o).exit_code != 0) continue;
        ++accepted;
        EXPECT_EQ(problems(text.str()), std::vector<std::string>{}) << e.path() << "\n"
                                                                    << text.str();
    }
    EXPECT_GE(accepted, 8u);
}

TEST_F(ObserveSchema, TheNewStarterValidates) {
    test::TempDir dir;
    test::ProcessOptions o;
    o.cwd = dir.path();
    ASSERT_EQ(run_conveyor({"new", "starter"}, o).exit_code, 0);
    EXPECT_EQ(problems_in_file(dir.file("starter.toml")), std::vector<std::string>{});
}

TEST_F(ObserveSchema, BrokenPipelinesAreRejected) {
    const std::string stage =
        "[[stages]]\nid = \"load\"\nfunction = \"csv.read\"\n[stages.config]\npath = \"x.csv\"\n";
    EXPECT_EQ(problems(stage), std::vector<std::string>{}) << "the base case is valid";
    const std::vector<std::pair<std::string, std::string>> broken = {
        {"[globl]\nexecutor = \"dag\"\n" + stage, "unknown key 'globl'"},
        {"[global]\nexecutor = \"chanel\"\n" + stage, "$.global.executor"},
        {"[global]\nchannel_buffer_size = \"100\"\n" + stage,
         "$.global.channel_buffer_size: wrong type"},
        {"[global]\nchannel_buffer_size = 0\n" + stage, "minimum violated"},
        {"[global]\nexecuter = \"dag\"\n" + stage, "unknown key 'executer'"},
        {"[error_handling]\nstrategy = \"ignore\"\n" + stage, "$.error_handling.strategy"},
        {"[error_handling.dead_letter_queue]\nenabled = \"yes\"\n" + stage,
         "dead_letter_queue.enabled"},
        {"[[stages]]\nid = \"load\"\nfunction = \"csv.reed\"\n", "$.stages[0].function"},
        {"[[stages]]\nid = \"load\"\nfunction = \"csv.read\"\n", "missing 'config'"},
        {"[[stages]]\nid = \"load\"\nfunction = \"csv.read\"\n[stages.config]\nheaders = true\n",
         "missing 'path'"},
        {stage + "delimitr = \";\"\n", "unknown key 'delimitr'"},
        {stage + "on_ragged = \"ignore\"\n", "$.stages[0].config.on_ragged"},
        {stage + "headers = \"true\"\n", "$.stages[0].config.headers: wrong type"},
        {"[[stages]]\nid = \"load\"\nfunction = \"csv.read\"\ninputs = "
         "[\"x\"]\n[stages.config]\npath = \"x\"\n",
         "maxItems violated"},
        {stage + "[[stages]]\nid = \"f\"\nfunction = \"filter.apply\"\n[stages.config]\ncolumn = "
                 "\"a\"\noperator = \"==\"\n",
         "missing 'inputs'"},
        {"[[stages]]\nfunction = \"csv.read\"\n[stages.config]\npath = \"x\"\n", "missing 'id'"},
        {"[pipeline]\nname = \"x\"\n", "missing 'stages'"},
    };
    for (const auto& [text, want] : broken) {
        const auto p = problems(text);
        std::string all;
        for (const std::string& s : p)
            all += s + "\n";
        EXPECT_THAT(all, ::testing::HasSubstr(want)) << text;
    }
}

TEST_F(ObserveSchema, VariablesAreAcceptedWhereTheyCanStand) {
    EXPECT_EQ(
        problems(
            "[global]\nexecutor = \"${EXECUTOR:-dag}\"\n[[stages]]\nid = \"l\"\n"
            "function = \"json.read\"\n[stages.config]\npath = \"${IN}\"\nformat = \"${FMT}\"\n"),
        std::vector<std::string>{});
}

TEST_F(ObserveSchema, FixedSectionsListTheKeysTheLoaderReads) {
    // The loader's own key lists (lib/src/config/sections.cpp): the schema must not drift.
    auto as_set = [](const std::vector<std::string>& v) {
        return std::set<std::string>(v.begin(), v.end());
    };
    EXPECT_EQ(section_keys("global"), as_set(config::global_keys()));
    EXPECT_EQ(section_keys("pipeline"), as_set(config::pipeline_keys()));
    EXPECT_EQ(section_keys("error_handling"), as_set(config::error_handling_keys()));
}

TEST_F(ObserveSchema, EveryFunctionHasItsConfigSchemaFromItsDeclaredOptions) {
    const Value* defs = schema_.find("definitions");
    ASSERT_TRUE(defs);
    auto list = run_conveyor({"list"});
    std::size_t n = 0;
    std::istringstream in(list.out);
    for (std::string line; std::getline(in, line);) {
        const std::string name = line.substr(0, line.find(' '));
        const Value* def = defs->find("config:" + name);
        ASSERT_TRUE(def) << name;
        ++n;
        // Each option `conveyor describe` lists is a property.
        auto d = run_conveyor({"describe", name});
        std::smatch m;
        std::string rest = d.out;
        const std::regex opt(R"(\n  ([a-z_]+) \()");
        while (std::regex_search(rest, m, opt)) {
            EXPECT_TRUE(def->find("properties")->find(m[1].str())) << name << "." << m[1];
            rest = m.suffix();
        }
    }
    EXPECT_GE(n, 8u);
}

} // namespace
} // namespace conveyor

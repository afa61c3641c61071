#include "conveyor/net/template.hpp"
#include "conveyor/net/url.hpp"

#include <gtest/gtest.h>
#include <vector>

namespace conveyor::net {
namespace {

Template parse_ok(std::string_view text) {
    auto t = Template::parse(text);
    EXPECT_TRUE(t) << text << ": " << (t ? "" : t.error().message);
    return t ? std::move(t).value() : Template{};
}

std::string parse_error(std::string_view text) {
    auto t = Template::parse(text);
    EXPECT_FALSE(t) << text;
    return t ? std::string{} : t.error().message;
}

struct Record {
    SchemaRef schema;
    std::vector<Value> row;
};

/// {id: 42, name: "a b/../c?x=1", user: {name: "Ann \"A\"", tags: ["x","y"]}, ok: true,
///  score: 1.50 (text), none: null, "dotted.key": "D"}
Record sample() {
    static const Value tags[] = {Value::string("x"), Value::string("y")};
    static const Member user[] = {{"name", Value::string("Ann \"A\"\n")},
                                  {"tags", Value::array(tags, 2)}};
    Record r;
    r.schema = make_schema({"id", "name", "user", "ok", "score", "none", "dotted.key"});
    r.row = {Value::integer(42),   Value::string("a b/../c?x=1"), Value::object(user, 2),
             Value::boolean(true), Value::number_text("1.50"),    Value::null(),
             Value::string("D")};
    return r;
}

Result<std::string> render(const Template& t, Escape e, const Record& r) {
    BoundTemplate b(t, *r.schema);
    std::string out;
    if (Status s = b.render(r.row, e, out); !s) return std::move(s).error();
    return out;
}

TEST(Template, ParsesPlaceholdersWithAndWithoutSpaces) {
    Template t = parse_ok("https://x/{{ id }}/{{id}}/{{  user.name\t}}?q=1");
    EXPECT_EQ(t.names(), (std::vector<std::string>{"id", "user.name"}));
    EXPECT_EQ(t.literal_prefix(), "https://x/");
    EXPECT_TRUE(t.has_placeholders());
    EXPECT_FALSE(parse_ok("plain text").has_placeholders());
    EXPECT_FALSE(parse_ok("").has_placeholders());
    EXPECT_EQ(parse_ok("lone }} braces { }").parts().size(), 1u);
}

TEST(Template, ReportsMalformedTemplatesWithTheirPosition) {
    EXPECT_EQ(parse_error("http://x/{{ id"), "\"{{\" has no closing \"}}\" (at byte 9)");
    EXPECT_NE(parse_error("a{{ }}b").find("empty placeholder"), std::string::npos);
    EXPECT_NE(parse_error("a{{}}b").find("(at byte 1)"), std::string::npos);
    EXPECT_NE(parse_error("{{#each records}}x{{/each}}").find("block helpers"), std::string::npos);
    EXPECT_NE(parse_error("{{ a b }}").find("cannot contain spaces"), std::string::npos);
    EXPECT_NE(parse_error("{{ a..b }}").find("empty part"), std::string::npos);
    EXPECT_NE(parse_error("{{{ raw }}}").find("not supported"), std::string::npos);
}

TEST(Template, DotSegmentValuesAreEncodedSoTheyCannotMoveAlongThePath) {
    const Template t = parse_ok("http://h/users/{{ id }}/profile?q={{ id }}");
    const std::pair<std::string, std::string> cases[] = {
        {"..", "http://h/users/%2E%2E/profile?q=.."},
        {".", "http://h/users/%2E/profile?q=."},
        {"...", "http://h/users/.../profile?q=..."},
        {"a..", "http://h/users/a../profile?q=a.."},
        {"../admin", "http://h/users/..%2Fadmin/profile?q=..%2Fadmin"},
        {"a/b", "http://h/users/a%2Fb/profile?q=a%2Fb"},
        {"a?b=1", "http://h/users/a%3Fb%3D1/profile?q=a%3Fb%3D1"},
        {"x#frag", "http://h/users/x%23frag/profile?q=x%23frag"},
        {"100%", "http://h/users/100%25/profile?q=100%25"},
        {"%2E%2E", "http://h/users/%252E%252E/profile?q=%252E%252E"},
        {"a&admin=1", "http://h/users/a%26admin%3D1/profile?q=a%26admin%3D1"},
    };
    for (const auto& [value, want] : cases) {
        Record r{make_schema({"id"}), {Value::string(value)}};
        auto out = render(t, Escape::Url, r);
        ASSERT_TRUE(out) << out.error().message;
        EXPECT_EQ(*out, want) << value;
    }
}

TEST(Template, DotSegmentsMadeOfValueAndTemplateTextAreEncodedButTheTemplatesOwnAreKept) {
    Record r{make_schema({"a", "b"}), {Value::string("."), Value::string(".")}};
    auto joined = render(parse_ok("http://h/x/{{a}}{{b}}/y"), Escape::Url, r);
    ASSERT_TRUE(joined);
    EXPECT_EQ(*joined, "http://h/x/%2E%2E/y");
    auto with_literal = render(parse_ok("http://h/x/.{{a}}/y"), Escape::Url, r);
    ASSERT_TRUE(with_literal);
    EXPECT_EQ(*with_literal, "http://h/x/%2E%2E/y");
    auto last = render(parse_ok("http://h/x/{{a}}"), Escape::Url, r);
    ASSERT_TRUE(last);
    EXPECT_EQ(*last, "http://h/x/%2E");
    // The template's own dot segments are the user's, and a dot in the host is no segment.
    auto own = render(parse_ok("http://h{{a}}example/x/../{{b}}z"), Escape::Url, r);
    ASSERT_TRUE(own);
    EXPECT_EQ(*own, "http://h.example/x/../.z");
    // A body or header is not a URL: dots stay.
    auto json = render(parse_ok("{{a}}{{b}}"), Escape::Json, r);
    ASSERT_TRUE(json);
    EXPECT_EQ(*json, "..");
}

TEST(Template, UrlValuesArePercentEncodedSoTheyCannotChangeTheUrl) {
    Record r = sample();
    auto out = render(parse_ok("http://h/items/{{ name }}?q={{name}}&id={{ id }}"), Escape::Url, r);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out, "http://h/items/a%20b%2F..%2Fc%3Fx%3D1?q=a%20b%2F..%2Fc%3Fx%3D1&id=42");
    // The path has exactly one segment after /items/ and the query exactly two parameters.
    auto u = parse_url(*out);
    ASSERT_TRUE(u);
    const std::string path = u->target.substr(0, u->target.find('?'));
    EXPECT_EQ(std::count(path.begin(), path.end(), '/'), 2);
    EXPECT_EQ(percent_decode(path.substr(7)), "a b/../c?x=1");
}

TEST(Template, UrlRendersScalarsAsTextAndNestedFields) {
    Record r = sample();
    auto out =
        render(parse_ok("http://h/{{ok}}/{{score}}/{{user.name}}/{{user.tags.1}}"), Escape::Url, r);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out, "http://h/true/1.50/Ann%20%22A%22%0A/y");
}

TEST(Template, PlaceholdersTakeThePathSyntaxOfExpressions) {
    Record r = sample();
    auto out =
        render(parse_ok("{{ user.tags[1] }}/{{user.tags[-2]}}/{{ `dotted.key` }}"), Escape::Url, r);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out, "y/x/D");
    const std::string bad = parse_error("{{ user.tags[x] }}");
    EXPECT_NE(bad.find("expected an array index"), std::string::npos) << bad;
    EXPECT_NE(parse_error("{{ first name }}").find("in backquotes"), std::string::npos);
}

TEST(Template, DottedColumnNameWinsOverNesting) {
    Record r = sample();
    auto out = render(parse_ok("{{ dotted.key }}"), Escape::Url, r);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, "D");
}

TEST(Template, NamesMissingFromASchemaFollowTheLongestColumnPrefix) {
    Record r = sample();
    // user.age: member of column user (not looked into); dotted.key: the dotted column itself.
    Template t =
        parse_ok("{{ countr }}/{{ user.age }}/{{ dotted.key }}/{{ usr.name }}/{{ countr }}");
    EXPECT_EQ(t.names_missing_from(*r.schema), (std::vector<std::string>{"countr", "usr.name"}));
    EXPECT_TRUE(parse_ok("{{ id }}-{{ ok }}").names_missing_from(*r.schema).empty());
}

TEST(Template, MissingOrNullFieldIsAnErrorNotAnEmptyString) {
    Record r = sample();
    auto missing = render(parse_ok("http://h/{{ nope }}"), Escape::Url, r);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, "field 'nope' is missing from the record");
    auto nested = render(parse_ok("{{ user.age }}"), Escape::Json, r);
    ASSERT_FALSE(nested);
    EXPECT_EQ(nested.error().message, "field 'user.age' is missing from the record");
    auto null_in_url = render(parse_ok("http://h/{{ none }}"), Escape::Url, r);
    ASSERT_FALSE(null_in_url);
    EXPECT_NE(null_in_url.error().message.find("is null"), std::string::npos);
    Record absent = sample();
    absent.row[0] = Value::absent();
    EXPECT_FALSE(render(parse_ok("{{ id }}"), Escape::Json, absent));
}

TEST(Template, JsonBodiesEscapeStringsWithoutAddingQuotes) {
    Record r = sample();
    auto out = render(parse_ok(R"({"n":"{{ user.name }}","id":{{id}},"ok":{{ok}},"s":{{score}},)"
                               R"("none":{{none}},"user":{{user}},"tags":{{ user.tags }}})"),
                      Escape::Json, r);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out, R"({"n":"Ann \"A\"\n","id":42,"ok":true,"s":1.50,"none":null,)"
                    R"("user":{"name":"Ann \"A\"\n","tags":["x","y"]},"tags":["x","y"]})");
}

TEST(Template, HeaderValuesAreRawButLineBreaksAreRefused) {
    Record r = sample();
    auto ok = render(parse_ok("Bearer {{ name }}-{{ id }}"), Escape::Header, r);
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, "Bearer a b/../c?x=1-42");
    auto bad = render(parse_ok("{{ user.name }}"), Escape::Header, r);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("line break"), std::string::npos);
}

TEST(Template, BindingIsPerSchema) {
    Template t = parse_ok("{{ b }}");
    SchemaRef s1 = make_schema({"a", "b"});
    SchemaRef s2 = make_schema({"b"});
    BoundTemplate b1(t, *s1);
    BoundTemplate b2(t, *s2);
    std::vector<Value> r1 = {Value::integer(1), Value::integer(2)};
    std::vector<Value> r2 = {Value::integer(3)};
    std::string o1, o2;
    ASSERT_TRUE(b1.render(r1, Escape::Url, o1));
    ASSERT_TRUE(b2.render(r2, Escape::Url, o2));
    EXPECT_EQ(o1, "2");
    EXPECT_EQ(o2, "3");
}

TEST(Template, FileNameValuesCannotLeaveTheirDirectoryOrHide) {
    const SchemaRef schema = make_schema({"v"});
    const Template t = parse_ok("out/{{ v }}.csv");
    const auto name = [&](Value v) {
        std::vector<Value> row{v};
        BoundTemplate b(t, *schema);
        std::string out;
        const Status s = b.render(row, Escape::FileName, out);
        return s ? out : "error: " + s.error().message;
    };
    EXPECT_EQ(name(Value::string("FR")), "out/FR.csv");
    EXPECT_EQ(name(Value::string("a/../b")), "out/a%2F..%2Fb.csv");
    EXPECT_EQ(name(Value::string("..")), "out/%2E..csv");
    EXPECT_EQ(name(Value::string(".")), "out/%2E.csv");
    EXPECT_EQ(name(Value::string(".hidden")), "out/%2Ehidden.csv");
    EXPECT_EQ(name(Value::string("a\\b:c*d?\"e\n")), "out/a%5Cb%3Ac%2Ad%3F%22e%0A.csv");
    EXPECT_EQ(name(Value::string("50%")), "out/50%25.csv");
    EXPECT_EQ(name(Value::string("Zürich")), "out/Zürich.csv"); // UTF-8 kept
    EXPECT_EQ(name(Value::string("")), "out/__empty__.csv");
    EXPECT_EQ(name(Value::null()), "out/__null__.csv");
    EXPECT_EQ(name(Value::integer(-7)), "out/-7.csv");
    EXPECT_EQ(name(Value::string(std::string(201, 'x'))).rfind("error: field 'v' has 201 bytes", 0),
              0u);
    EXPECT_EQ(name(Value::absent()).rfind("error: field 'v' is missing", 0), 0u);
}

} // namespace
} // namespace conveyor::net

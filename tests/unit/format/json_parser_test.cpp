#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "support/paths.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <vector>

namespace conveyor::json {
namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class ParserTest : public ::testing::Test {
protected:
    Result<Value> parse(std::string_view text, ParseError* err = nullptr) {
        return parser_.parse(text, arena_, err);
    }
    Value ok(std::string_view text) {
        auto r = parse(text);
        EXPECT_TRUE(r.ok()) << text << " -> " << (r.ok() ? "" : r.error().message);
        return r.ok() ? *r : Value::absent();
    }
    ParseError bad(std::string_view text) {
        ParseError e;
        auto r = parse(text, &e);
        EXPECT_FALSE(r.ok()) << "accepted: " << text;
        if (!r.ok()) {
            EXPECT_EQ(r.error().kind, ErrorKind::Data);
            EXPECT_NE(r.error().message.find("line"), std::string::npos) << r.error().message;
        }
        return e;
    }

    Arena arena_;
    Parser parser_;
};

TEST_F(ParserTest, Scalars) {
    EXPECT_EQ(ok("null").kind(), Kind::Null);
    EXPECT_TRUE(ok(" true ").as_bool());
    EXPECT_FALSE(ok("false").as_bool());
    EXPECT_EQ(ok("42").as_int(), 42);
    EXPECT_EQ(ok("-7").as_int(), -7);
    EXPECT_EQ(ok("\"h\\u00e9\\n\"").as_string(), "h\xC3\xA9\n");
    Value d = ok("1.5");
    ASSERT_TRUE(d.has_number_text());
    EXPECT_EQ(d.number_text(), "1.5");
    EXPECT_DOUBLE_EQ(d.as_double(), 1.5);
}

TEST_F(ParserTest, IntegersAtTheInt64Limits) {
    EXPECT_EQ(ok("9223372036854775807").as_int(), INT64_MAX);
    EXPECT_EQ(ok("-9223372036854775808").as_int(), INT64_MIN);
    EXPECT_EQ(ok("123456789012345678").as_int(), 123456789012345678);
}

TEST_F(ParserTest, BigIntegersKeepTheirDigits) {
    for (std::string_view text : {"9223372036854775808", "-9223372036854775809",
                                  "12345678901234567890", "123456789012345678901234567890"}) {
        Value v = ok(text);
        ASSERT_EQ(v.kind(), Kind::Double) << text;
        ASSERT_TRUE(v.has_number_text());
        EXPECT_EQ(v.number_text(), text);
        EXPECT_EQ(to_string(v), text);
    }
}

TEST_F(ParserTest, NumberTextIsPreserved) {
    for (std::string_view text : {"1.0", "1e3", "1E+03", "-0.0", "0.1000", "2.50e-10", "-0"}) {
        Value v = ok(text);
        ASSERT_TRUE(v.has_number_text()) << text;
        EXPECT_EQ(v.number_text(), text);
    }
    Value arr = ok("[1.0 , 2.50\n, 3]");
    ASSERT_EQ(arr.kind(), Kind::Array);
    EXPECT_EQ(arr.as_array()[0].number_text(), "1.0");
    EXPECT_EQ(arr.as_array()[1].number_text(), "2.50");
    EXPECT_EQ(arr.as_array()[2].as_int(), 3);
    EXPECT_EQ(to_string(arr), "[1.0,2.50,3]");
}

TEST_F(ParserTest, NumbersBeyondADoubleKeepTheirDigitsTinyOnesToo) {
    // 1e400 was a located error that stopped the file; Miller keeps its text, and so do we
    // (arithmetic sees it as infinity), so that a JSON round trip keeps it.
    const Value huge = ok("[1e400, -1.5E+9999]");
    ASSERT_EQ(huge.kind(), Kind::Array);
    EXPECT_EQ(huge.as_array()[0].number_text(), "1e400");
    EXPECT_EQ(huge.as_array()[1].number_text(), "-1.5E+9999");
    EXPECT_TRUE(std::isinf(huge.as_array()[0].as_double()));
    EXPECT_LT(huge.as_array()[1].as_double(), 0);
    EXPECT_EQ(to_string(huge), "[1e400,-1.5E+9999]");
    EXPECT_EQ(ok("1e-400").number_text(), "1e-400");
    EXPECT_EQ(ok("0.0001e300").number_text(), "0.0001e300");
}

TEST_F(ParserTest, ObjectKeyOrderAndDuplicatesArePreserved) {
    Value v = ok(R"({"z":1,"a":2,"m":{"y":true,"b":null},"a":3})");
    ASSERT_EQ(v.kind(), Kind::Object);
    auto m = v.as_object();
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[0].key, "z");
    EXPECT_EQ(m[1].key, "a");
    EXPECT_EQ(m[2].key, "m");
    EXPECT_EQ(m[3].key, "a");
    EXPECT_EQ(m[1].value.as_int(), 2);
    EXPECT_EQ(m[3].value.as_int(), 3);
    EXPECT_EQ(m[2].value.as_object()[0].key, "y");
    EXPECT_EQ(to_string(v), R"({"z":1,"a":2,"m":{"y":true,"b":null},"a":3})");
}

TEST_F(ParserTest, EscapedKeysAreUnescaped) {
    Value v = ok(R"({"a\"b\u0041":1, "":2})");
    ASSERT_EQ(v.as_object().size(), 2u);
    EXPECT_EQ(v.as_object()[0].key, "a\"bA");
    EXPECT_EQ(v.as_object()[1].key, "");
}

TEST_F(ParserTest, ValuesSurviveTheNextParse) {
    // Strings must live in the arena, not in the parser's reused buffers.
    Value first = ok(R"({"name":"first value","list":["x","y"]})");
    for (int i = 0; i < 50; ++i)
        ok(R"({"name":"something else entirely","list":["p","q","r"]})");
    EXPECT_EQ(first.find("name")->as_string(), "first value");
    EXPECT_EQ(first.find("list")->as_array()[1].as_string(), "y");
}

TEST_F(ParserTest, KeysAndStringsWhateverTheSpacingAndEscapes) {
    // Keys of a text without backslashes are found from where their value starts (across the
    // whitespace and ':' between); with a backslash anywhere each key and string is looked at.
    const std::vector<std::string> plain = {
        R"({"a":"x","":1,"bc":{"d":[]},"e":-1.5})",
        "{ \"a\" : \"x\" ,\t\"\"\r\n:\n1, \"bc\":{  \"d\"  :[ ] },\"e\" :-1.5 }",
        R"({"a" :"x","" : 1,"bc": {"d":[]} ,"e":  -1.5  })",
    };
    for (const std::string& doc : plain) {
        Value v = ok(doc);
        ASSERT_EQ(v.kind(), Kind::Object) << doc;
        EXPECT_EQ(to_string(v), R"({"a":"x","":1,"bc":{"d":[]},"e":-1.5})") << doc;
        ASSERT_EQ(v.as_object().size(), 4u);
        EXPECT_EQ(v.as_object()[1].key, "");
    }
    Value escaped = ok(R"({"a":"x","k\"":"\\","":"","q":"\u0041"})");
    EXPECT_EQ(escaped.as_object()[1].key, "k\"");
    EXPECT_EQ(escaped.as_object()[1].value.as_string(), "\\");
    EXPECT_EQ(escaped.as_object()[2].key, "");
    EXPECT_EQ(escaped.as_object()[2].value.as_string(), "");
    EXPECT_EQ(escaped.as_object()[3].value.as_string(), "A");
    EXPECT_EQ(to_string(escaped), R"({"a":"x","k\"":"\\","":"","q":"A"})");
}

TEST_F(ParserTest, SmallAndLargeTextsKeepTheSameValues) {
    // A text of up to 16 KiB is copied into the arena whole and its values point into the copy;
    // a larger one copies value by value. Both must give the same values, independent of the
    // text, which the caller may overwrite at once.
    for (const std::size_t pad : {std::size_t{0}, std::size_t{20000}}) {
        std::string doc = R"({"s":"text","n":12.50,"k":")" + std::string(pad, 'x') +
                          R"(","big":123456789012345678901,"arr":["a","",1e2]})";
        std::string copy = doc;
        Arena arena;
        Parser parser;
        auto v = parser.parse_padded(
            std::string_view(copy.append(Parser::kPadding, ' ').data(), doc.size()), arena);
        ASSERT_TRUE(v.ok());
        std::fill(copy.begin(), copy.end(), '#');
        EXPECT_EQ(to_string(*v), doc);
        EXPECT_EQ(v->find("n")->number_text(), "12.50");
        EXPECT_EQ(v->find("arr")->as_array()[1].as_string().data(), nullptr); // as Arena::copy
    }
}

TEST_F(ParserTest, ErrorsSayWhereAndWhat) {
    ParseError e = bad("{\n  \"a\": 1,\n  \"b\" 2\n}");
    EXPECT_EQ(e.line, 3u);
    EXPECT_EQ(e.column, 7u);
    EXPECT_NE(e.message.find("expected ':'"), std::string::npos) << e.message;

    e = bad("[1, 2,]");
    EXPECT_EQ(e.line, 1u);
    EXPECT_EQ(e.column, 7u);
    EXPECT_NE(e.message.find("trailing comma"), std::string::npos) << e.message;

    e = bad("{\"a\":1} x");
    EXPECT_EQ(e.column, 9u);
    EXPECT_NE(e.message.find("after the JSON value"), std::string::npos) << e.message;

    e = bad("[\"abc");
    EXPECT_EQ(e.column, 2u);
    EXPECT_NE(e.message.find("unterminated string"), std::string::npos) << e.message;

    e = bad("[01]");
    EXPECT_NE(e.message.find("invalid number"), std::string::npos) << e.message;

    e = bad("");
    EXPECT_NE(e.message.find("empty"), std::string::npos) << e.message;

    e = bad("[\"a\tb\"]");
    EXPECT_NE(e.message.find("control character"), std::string::npos) << e.message;

    e = bad("[\"a\xFF\"]");
    EXPECT_EQ(e.column, 4u);
    EXPECT_NE(e.message.find("UTF-8"), std::string::npos) << e.message;

    e = bad("[tru]");
    EXPECT_NE(e.message.find("literal"), std::string::npos) << e.message;
}

TEST_F(ParserTest, ScalarsFollowedByJunkAreRejected) {
    // simdjson skips values nobody consumed leniently; every scalar must be consumed.
    for (std::string_view text :
         {R"([1, "c":"x"])", R"({"a":["b":1]})", R"(["a":"b"])", R"([1, "c":"\\"}])",
          R"([1, "c":"x"}])", R"({"a":["b":1}]})", R"([["b":1}]])", R"({"a":["b":"c"}],"d":1})",
          R"({"a":"b":"c"})", R"([1:2])", R"([true:1])", R"([null "x"])", R"({"a":1 "b":2})",
          R"(["a" "b"])", R"([[1]:2])", R"({"a":{}:1})", R"({"a":1:2})", R"({"a":1}:)",
          R"([1]:)"}) {
        bad(text);
    }
}

TEST_F(ParserTest, ErrorMessageCarriesLineAndColumn) {
    auto r = parse("[1,\n  x]");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.rfind("line 2, column 3: ", 0), 0u) << r.error().message;
}

TEST_F(ParserTest, DepthLimit) {
    std::string ok_doc = std::string(1024, '[') + std::string(1024, ']');
    EXPECT_TRUE(parse(ok_doc).ok());
    std::string deep = std::string(1025, '[') + std::string(1025, ']');
    ParseError e = bad(deep);
    EXPECT_NE(e.message.find("deeper"), std::string::npos) << e.message;
    EXPECT_EQ(e.column, 1025u);
    std::string very_deep(100000, '[');
    e = bad(very_deep);
    EXPECT_NE(e.message.find("deeper"), std::string::npos) << e.message;
    std::string deep_objects;
    for (int i = 0; i < 2000; ++i)
        deep_objects += "{\"a\":";
    bad(deep_objects);
}

TEST_F(ParserTest, ParserIsReusableAfterErrors) {
    bad("[1,");
    EXPECT_EQ(ok("[1]").as_array()[0].as_int(), 1);
    bad("{\"a\"}");
    EXPECT_EQ(ok(R"({"a":[{}]})").find("a")->as_array()[0].kind(), Kind::Object);
}

TEST_F(ParserTest, LargeDocumentsGrowTheBuffers) {
    std::string doc = "[";
    for (int i = 0; i < 200000; ++i) {
        if (i) doc += ',';
        doc += "{\"i\":" + std::to_string(i) + ",\"s\":\"" + std::string(i % 17, 'x') + "\"}";
    }
    doc += "]";
    Value v = ok(doc);
    ASSERT_EQ(v.as_array().size(), 200000u);
    EXPECT_EQ(v.as_array()[199999].find("i")->as_int(), 199999);
    EXPECT_EQ(to_string(v), doc);
}

TEST_F(ParserTest, RoundTripKeepsValuesAndNumberText) {
    const std::vector<std::string> docs = {
        R"({"a":1,"b":[1.0,2.5e3,-0,12345678901234567890],"c":{"d":"\u00e9\ud83d\ude00\t"},"e":null})",
        R"([true,false,null,"",{},[],[[]],{"":{"":""}}])",
        R"("\"\\\/\b\f\n\r\t\u0001")",
        R"(-9223372036854775808)",
    };
    for (const std::string& doc : docs) {
        Value v = ok(doc);
        std::string text;
        append_value(text, v);
        Value again = ok(text);
        EXPECT_TRUE(json_equal(v, again)) << doc << " -> " << text;
        std::string text2;
        append_value(text2, again);
        EXPECT_EQ(text, text2);
        std::string pretty;
        append_value_pretty(pretty, v, 2, 0);
        Value from_pretty = ok(pretty);
        EXPECT_TRUE(json_equal(v, from_pretty)) << pretty;
    }
    EXPECT_EQ(to_string(ok(R"({"b":[1.0,2.5e3,-0,12345678901234567890]})")),
              R"({"b":[1.0,2.5e3,-0,12345678901234567890]})");
}

// JSONTestSuite (https://github.com/nst/JSONTestSuite): y_ must parse, n_ must be rejected with a
// located error, i_ may go either way but must not crash or hang.
TEST(JsonTestSuite, Conformance) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(test::shared_dir()) / "corpora/JSONTestSuite/test_parsing";
    if (!fs::is_directory(dir)) GTEST_SKIP() << "corpus not found: " << dir;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".json") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    ASSERT_GT(files.size(), 300u);

    Parser parser;
    std::size_t y = 0, n = 0, i = 0;
    for (const fs::path& file : files) {
        const std::string name = file.filename().string();
        const std::string text = slurp(file);
        Arena arena;
        ParseError err;
        auto r = parser.parse(text, arena, &err);
        if (name.rfind("y_", 0) == 0) {
            ++y;
            EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
            if (r.ok()) {
                // What we accept, we write back as JSON we accept again and write the same.
                std::string out = to_string(*r);
                Arena arena2;
                auto again = parser.parse(out, arena2);
                ASSERT_TRUE(again.ok()) << name << ": rewritten as " << out;
                EXPECT_EQ(to_string(*again), out) << name;
            }
        } else if (name.rfind("n_", 0) == 0) {
            ++n;
            EXPECT_FALSE(r.ok()) << name << " was accepted";
            if (!r.ok()) {
                EXPECT_NE(r.error().message.find("line"), std::string::npos)
                    << name << ": " << r.error().message;
                EXPECT_LE(err.offset, text.size()) << name;
                EXPECT_FALSE(err.message.empty()) << name;
            }
        } else {
            ++i; // either way; reaching here means no crash
        }
    }
    EXPECT_GT(y, 90u);
    EXPECT_GT(n, 180u);
    EXPECT_GT(i, 20u);
}

} // namespace
} // namespace conveyor::json

// White-box: the fast path (simdjson On-Demand) must accept exactly what the strict validator
// used for error messages accepts. Damaged documents find the places where On-Demand is lenient.
#include "../../../lib/src/format/json_diagnose.hpp"

#include <random>

namespace conveyor::json {
namespace {

TEST(ParserDifferential, FastPathAgreesWithTheValidator) {
    std::vector<std::string> seeds = {
        R"({"a":[1,2.5,-0,1e3,"s\"q",true,false,null,{"b":{}}],"c":"\u00e9\ud83d\ude00"})",
        R"([{"k":"v"},[[]],{"x":[{"y":"z"}]},"tail"])",
        R"("just a string")",
        R"(12345678901234567890)",
        R"({"deep":[[[[{"a":[[["b"]]]}]]]]})",
    };
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(test::shared_dir()) / "corpora/JSONTestSuite/test_parsing";
    if (fs::is_directory(dir)) {
        for (const auto& entry : fs::directory_iterator(dir)) {
            const std::string name = entry.path().filename().string();
            if (name.rfind("y_", 0) == 0) seeds.push_back(slurp(entry.path()));
        }
    }
    static constexpr char kSyntax[] = "{}[],:\"\\ \n0-.eE+tfnux";
    std::mt19937 rng(2024);
    Parser parser;
    int checked = 0;
    for (const std::string& seed : seeds) {
        for (int i = 0; i < 40; ++i) {
            std::string m = seed;
            const int edits = 1 + static_cast<int>(rng() % 2);
            for (int e = 0; e < edits && !m.empty(); ++e) {
                const std::size_t at = rng() % m.size();
                switch (rng() % 3) {
                case 0:
                    m.erase(at, 1);
                    break;
                case 1:
                    m.insert(at, 1, kSyntax[rng() % (sizeof kSyntax - 1)]);
                    break;
                default:
                    m[at] = kSyntax[rng() % (sizeof kSyntax - 1)];
                    break;
                }
            }
            Arena arena;
            const Result<Value> fast = parser.parse(m, arena);
            const bool strict_ok = !detail::diagnose(m).has_value();
            EXPECT_EQ(fast.ok(), strict_ok) << "document: " << m;
            ++checked;
            if (fast.ok()) {
                // The same values when a backslash elsewhere in the text makes every key and
                // string be looked at for escapes, and when the text is too large to be
                // copied whole.
                for (const std::string& other :
                     {std::string(R"("\\")"), std::string(20000, ' ') + "1"}) {
                    Arena arena2;
                    const Result<Value> wrapped = parser.parse("[" + m + "," + other + "]", arena2);
                    ASSERT_TRUE(wrapped.ok()) << "document: " << m;
                    EXPECT_EQ(to_string(wrapped->as_array()[0]), to_string(*fast)) << m;
                }
            }
        }
    }
    EXPECT_GE(checked, 200); // 5 built-in seeds x 40, more with the corpus
}

/// parse_in_place() gives parse()'s values, and what it keeps of the text as it is (keys,
/// strings without escapes, numbers kept as text) points into the text, not into the arena.
TEST(ParserInPlace, KeepsPlainTextWhereItIsAndAgreesWithParse) {
    const std::vector<std::string> docs = {
        R"({"id":1,"name":"Ann","amount":180.64,"big":12345678901234567890,"ok":true})",
        R"({"s":"tab\tquote\"","n":null,"list":[1.5,"x",{"k":"v"}],"e":""})",
        R"({"a":{"b":{"c":"deep"}},"z":-0})",
        R"(["top","level",2.50])",
        R"("just a string")",
        R"({"k":tru})",
    };
    Parser parser;
    for (const std::string& doc : docs) {
        Arena want_arena;
        ParseError want_error;
        const Result<Value> want = parser.parse(doc, want_arena, &want_error);
        const std::string buf = doc + std::string(Parser::kPadding, '"');
        const char* const begin = buf.data();
        const char* const end = buf.data() + doc.size();
        Arena arena;
        ParseError error;
        const Result<Value> got = parser.parse_in_place({begin, doc.size()}, arena, &error);
        ASSERT_EQ(got.ok(), want.ok()) << doc;
        if (!want.ok()) {
            EXPECT_EQ(got.error().message, want.error().message);
            EXPECT_EQ(error.offset, want_error.offset);
            continue;
        }
        EXPECT_EQ(to_string(*got), to_string(*want)) << doc;
        const auto in_text = [&](std::string_view s) {
            return s.empty() || (s.data() >= begin && s.data() + s.size() <= end);
        };
        // Every key, plain string and number text is in the text; escaped strings are not.
        int checked = 0;
        std::function<void(const Value&)> walk = [&](const Value& v) {
            if (v.kind() == Kind::Object) {
                for (const Member& m : v.as_object()) {
                    EXPECT_TRUE(in_text(m.key)) << m.key;
                    ++checked;
                    walk(m.value);
                }
            } else if (v.kind() == Kind::Array) {
                for (const Value& item : v.as_array())
                    walk(item);
            } else if (v.kind() == Kind::String) {
                const std::string_view s = v.as_string();
                EXPECT_EQ(in_text(s), s.find_first_of("\t\"") == std::string_view::npos) << s;
                ++checked;
            } else if (v.has_number_text()) {
                EXPECT_TRUE(in_text(v.number_text())) << v.number_text();
                ++checked;
            }
        };
        walk(*got);
        EXPECT_GT(checked, 0) << doc;
    }
    // A flat record leaves nothing of its text in the arena, only its members.
    Arena arena;
    const std::string flat = docs[0] + std::string(Parser::kPadding, ' ');
    ASSERT_TRUE(parser.parse_in_place({flat.data(), docs[0].size()}, arena).ok());
    EXPECT_EQ(arena.used_bytes(), 5 * sizeof(Member));
}

} // namespace
} // namespace conveyor::json

namespace conveyor::json {
namespace {

/// parse_padded() reads the kPadding bytes after the text whatever they hold: the results must
/// be parse()'s for every corpus document and mutation, with padding that looks like JSON.
TEST(ParserPadded, AgreesWithParseWhateverThePaddingHolds) {
    std::vector<std::string> docs = {
        R"({"a":[1,2.5,-0,1e3,"s\"q",true,false,null,{"b":{}}],"c":"\u00e9\ud83d\ude00"})",
        "true",
        "fals",
        "nul",
        "12",
        "-",
        "1e",
        "\"abc",
        "\"abc\"",
        "{\"a\":1",
        "[1,2",
        "{}\r",
        "",
        " ",
        "{\"k\":tru}",
        "{\"k\":12}x"};
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(test::shared_dir()) / "corpora/JSONTestSuite/test_parsing";
    if (fs::is_directory(dir))
        for (const auto& entry : fs::directory_iterator(dir))
            if (entry.path().extension() == ".json") docs.push_back(slurp(entry.path()));
    std::mt19937 rng(7);
    for (std::size_t i = 0, n = docs.size(); i < n; ++i) {
        std::string m = docs[i];
        if (!m.empty()) m.erase(rng() % m.size(), 1);
        docs.push_back(std::move(m));
    }
    Parser parser;
    for (const std::string& doc : docs) {
        Arena a1;
        ParseError e1;
        const Result<Value> want = parser.parse(doc, a1, &e1);
        for (const char fill : {'\0', ' ', '1', '"', '\\', 'e', ']', '}', ',', 't', '\n'}) {
            std::string buf = doc + std::string(Parser::kPadding, fill);
            Arena a2;
            ParseError e2;
            const Result<Value> got =
                parser.parse_padded(std::string_view(buf.data(), doc.size()), a2, &e2);
            ASSERT_EQ(got.ok(), want.ok()) << "fill '" << fill << "': " << doc;
            if (want.ok()) {
                EXPECT_EQ(to_string(*got), to_string(*want)) << doc;
            } else {
                EXPECT_EQ(got.error().message, want.error().message) << doc;
                EXPECT_EQ(e2.offset, e1.offset) << doc;
            }
        }
    }
}

} // namespace
} // namespace conveyor::json

namespace conveyor::json {
namespace {

/// `v` with the kind of every value spelled out (the JSON text alone does not tell an integer
/// from a number kept as text, or an empty key's null view from another).
std::string with_kinds(const Value& v) {
    std::string out(to_string(v.kind()));
    switch (v.kind()) {
    case Kind::Object:
        out += "{";
        for (const Member& m : v.as_object())
            out += "'" + std::string(m.key) + "'=" + with_kinds(m.value) + ";";
        return out + "}";
    case Kind::Array:
        out += "[";
        for (const Value& e : v.as_array())
            out += with_kinds(e) + ";";
        return out + "]";
    case Kind::Double:
        return out + (v.has_number_text() ? "text:" : "") + to_string(v);
    default:
        return out + ":" + to_string(v);
    }
}

/// The flat-object path must read exactly what the general (simdjson) path reads, and refuse
/// exactly what it refuses with the same message: flat objects of every value shape, string
/// lengths across the 8-byte steps of its scan, UTF-8 of every length, and damaged copies.
// same_keys_as_last() lets json.read's chunks skip comparing a record's keys with the one
// before: it must never say so of keys that differ, nor after a document it did not read.
TEST(ParserPaths, SameKeysAsLastOnlyWhenTheKeysAreTheLastDocumentsInOrder) {
    const std::vector<std::pair<std::string, bool>> docs = {
        {R"({"a":1,"b":"x"})", false}, // nothing before it
        {R"({"a":2,"b":"y"})", true},
        {R"({"a":2,"c":"y"})", false},
        {R"({"b":2,"a":"y"})", false}, // the same keys in another order
        {R"({"b":3,"a":"z"})", true},
        {R"({"b":3})", false},         // fewer
        {R"({"b":3,"a":1})", false},   // more
        {R"({"b":[1],"a":1})", false}, // not read by the flat pass,
        {R"({"b":3,"a":1})", false},   // nor the document after such a miss;
        {R"({"b":3,"a":1})", false},   // the last was not read by the pass
        {R"({"b":3,"a":1})", true},
        {R"({"b":"q\"\u00e9","a":1})", true}, // escapes in strings: the pass reads them
        {R"({"\u0062":3,"a":1})", false},     // an escape in a key: simdjson reads it
        {R"({"b":3,"a":1})", false},
        {R"({"b":3,"a":1})", false},
        {R"({"b":3,"a":1})", true},
        {R"({"b":"\ud83d\ude00","a":1})", false}, // a surrogate pair: simdjson's
        {R"({"b":3,"a":1})", false},
        {R"({"b":3,"a":1})", false},
        {R"({"b":3,"a":1})", true},
        {R"({ "b" : 3, "a": 1 })", false}, // spaced: scanned, not checked against the guess
        {R"({"b":3,"a":1})", true},
        {R"({"bb":3,"a":1})", false},
        {R"({"b":3,"a":1})", false},
        {R"({"a":1,"b":3,"a":2})", false}, // a duplicate key
        {R"({"a":1,"b":3,"a":2})", true},
        {"{}", false},
        {"{}", true},
        {"[1]", false},
        {"{}", false},
        {R"({"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk":1})", false},
        {R"({"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk":2})", true},
        {R"({"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkj":2})", false},
        {R"({"k":tru})", false}, // an error
        {R"({"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkj":2})", false},
    };
    Parser parser;
    for (const auto& [doc, same] : docs) {
        Arena arena;
        const std::string padded = doc + std::string(Parser::kPadding, 'k');
        (void)parser.parse_padded(std::string_view(padded.data(), doc.size()), arena);
        EXPECT_EQ(parser.same_keys_as_last(), same) << doc;
    }
}

TEST(ParserPaths, FlatObjectsReadAsTheGeneralPathReadsThem) {
    std::vector<std::string> seeds = {
        R"({"id":1,"name":"John Hernandez","amount":180.64,"ok":true,"no":false,"z":null})",
        R"({ "a" : -0 , "b" : 1e400 , "c" : 12345678901234567890 , "d" : -9223372036854775808 })",
        R"({"e":1E+2,"f":0.5e-3,"g":-1.0,"h":0,"i":9223372036854775807})",
        "{}",
        " {\t}\r\n",
        R"({"":"","a":"","a":"dup"})",
        "{\"u\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 caf\xc3\xa9\"}",
        R"({"esc":"a\"b","k":1})",
        R"({"e":"\"\\\/\b\f\n\r\t","u":"\u0000\u007F\u0080\u07ff\u0800\uFFFF\u00E9x"})",
        R"({"pair":"\ud83d\ude00","lone":"\ud83d","low":"\ude00","bad":"\x","cut":"\u12"})",
        R"({"end":"abc\\","mid":"a\u0041b\u00e9\u4e2dc","k":"\u005c"})",
        R"({"nested":{"a":1},"list":[1,2]})",
    };
    // Keys and strings of 0 to 40 bytes: across the 8-byte words of a key's check and the
    // 16-byte blocks of a string's scan; each key a prefix of the next.
    for (std::size_t n = 0; n <= 40; ++n)
        seeds.push_back("{\"" + std::string(n, 'k') + "\":\"" + std::string(n, 'v') + "\"}");
    static constexpr char kBytes[] = "{}[],:\"\\ \n\t0-.eE+tfnul\x01\x1f\x7f\x80\xc3\xa9\xff";
    std::mt19937 rng(20261207);
    Parser flat;
    Parser general(Parser::Path::General);
    int compared = 0;
    std::size_t seeds_read_flat = 0;
    for (const std::string& seed : seeds) {
        for (int i = 0; i < 60; ++i) {
            std::string doc = seed;
            const int edits = i == 0 ? 0 : 1 + static_cast<int>(rng() % 2);
            for (int e = 0; e < edits && !doc.empty(); ++e) {
                const std::size_t at = rng() % doc.size();
                const char b = kBytes[rng() % (sizeof kBytes - 1)];
                if (rng() % 3 == 0)
                    doc.erase(at, 1);
                else if (rng() % 2 == 0)
                    doc.insert(at, 1, b);
                else
                    doc[at] = b;
            }
            Arena a1;
            Arena a2;
            ParseError e1;
            ParseError e2;
            const Result<Value> want = general.parse(doc, a1, &e1);
            // Padded with bytes that would continue a string, so that reading past the end
            // shows.
            const std::string padded = doc + std::string(Parser::kPadding, 'x');
            const Result<Value> got =
                flat.parse_padded(std::string_view(padded.data(), doc.size()), a2, &e2);
            if (i == 0) { // a parser of its own: the one above skips the pass after a miss
                Parser fresh;
                Arena a3;
                (void)fresh.parse(doc, a3);
                seeds_read_flat += fresh.flat_reads();
            }
            ASSERT_EQ(got.ok(), want.ok()) << doc;
            if (want.ok()) {
                EXPECT_EQ(with_kinds(*got), with_kinds(*want)) << doc;
            } else {
                EXPECT_EQ(got.error().message, want.error().message) << doc;
                EXPECT_EQ(e2.offset, e1.offset) << doc;
            }
            ++compared;
        }
    }
    EXPECT_EQ(compared, static_cast<int>(seeds.size()) * 60);
    EXPECT_EQ(general.flat_reads(), 0u);
    EXPECT_EQ(seeds_read_flat, seeds.size() - 2); // all but the surrogates and nested values
}

// After documents the flat pass cannot read (here a list in the last field), it is tried again
// now and then, so flat documents after them are read by it again, with the same values.
TEST(ParserPaths, FlatReadingResumesAfterARunOfNestedDocuments) {
    Parser parser;
    Parser general(Parser::Path::General);
    const auto line = [](int i, bool nested) {
        return "{\"id\":" + std::to_string(i) + ",\"s\":\"v" + std::to_string(i) + "\"" +
               (nested ? ",\"tags\":[1,2]}" : "}");
    };
    for (int i = 0; i < 1000; ++i) {
        Arena a;
        ASSERT_TRUE(parser.parse(line(i, true), a).ok());
    }
    EXPECT_EQ(parser.flat_reads(), 0u);
    for (int i = 0; i < 200; ++i) {
        Arena a1;
        Arena a2;
        const Result<Value> got = parser.parse(line(i, false), a1);
        const Result<Value> want = general.parse(line(i, false), a2);
        ASSERT_TRUE(got.ok() && want.ok());
        EXPECT_EQ(with_kinds(*got), with_kinds(*want));
    }
    // At most the longest gap (64 documents) goes to simdjson before the pass is tried again.
    EXPECT_GE(parser.flat_reads(), 200u - 64u);
}

} // namespace
} // namespace conveyor::json

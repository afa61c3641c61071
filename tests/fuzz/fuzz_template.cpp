// URL / body / header templating (lib/include/conveyor/net/template.hpp) on arbitrary input: the
// bytes before the first NUL are a template, the rest a JSON object whose members are the
// record's fields. Every parsed template is rendered against that record with all three
// escapes. Besides crashes and undefined behaviour it checks the promises that keep a value from
// changing a request's structure, on templates made of one placeholder per field:
// - Url: a value becomes RFC 3986 unreserved characters and %XX only;
// - Json: a value inside quotes makes a valid JSON document;
// - Header: a rendered value never holds CR, LF or NUL.

#include "conveyor/core/arena.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/net/template.hpp"

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using conveyor::Value;
using conveyor::net::BoundTemplate;
using conveyor::net::Escape;
using conveyor::net::Template;

void check(bool ok) {
    if (!ok) std::abort();
}

bool is_hex(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

bool url_safe(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
            c == '~')
            continue;
        if (c == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
            i += 2;
            continue;
        }
        return false;
    }
    return true;
}

void render_all(const Template& tpl, const conveyor::Schema& schema, std::span<const Value> row) {
    const BoundTemplate bound(tpl, schema);
    for (const Escape escape : {Escape::Url, Escape::Json, Escape::Header}) {
        std::string out;
        (void)bound.render(row, escape, out);
    }
}

/// Each field alone in a template, with each escape, checked for what the escape promises.
void check_escapes(const conveyor::Schema& schema, std::span<const Value> row,
                   conveyor::json::Parser& parser) {
    for (std::size_t i = 0; i < schema.size(); ++i) {
        const std::string& name = schema.name(i);
        auto tpl = Template::parse("{{ " + name + " }}");
        // Only where the template names exactly this column (a name such as "n}}e" cannot be
        // written in a template: "{{ n}}e }}" names "n", and the checks below are about row[i]).
        if (!tpl.ok() || tpl->parts().size() != 1 || tpl->parts()[0].path.size() != 1 ||
            tpl->parts()[0].path[0] != name)
            continue;
        const BoundTemplate bound(*tpl, schema);
        std::string url;
        if (bound.render(row, Escape::Url, url).ok()) check(url_safe(url));
        std::string body = "\"";
        if (bound.render(row, Escape::Json, body).ok() && row[i].kind() == conveyor::Kind::String) {
            body += '"';
            conveyor::Arena arena;
            check(parser.parse(body, arena).ok());
        }
        std::string header;
        if (bound.render(row, Escape::Header, header).ok())
            check(header.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static conveyor::json::Parser parser;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t nul = input.find('\0');
    const std::string_view text = input.substr(0, nul);
    const std::string_view record = nul == std::string_view::npos ? "{}" : input.substr(nul + 1);

    auto tpl = Template::parse(text);
    if (tpl.ok()) {
        (void)tpl->names();
        (void)tpl->literal_prefix();
        (void)tpl->has_placeholders();
    }

    conveyor::Arena arena;
    auto object = parser.parse(record, arena);
    if (!object.ok() || object->kind() != conveyor::Kind::Object) return 0;
    std::vector<std::string> names;
    std::vector<Value> row;
    for (const conveyor::Member& m : object->as_object()) {
        bool seen = false;
        for (const std::string& n : names)
            seen = seen || n == m.key;
        if (seen) continue; // a schema's names are unique
        names.emplace_back(m.key);
        row.push_back(m.value);
    }
    const conveyor::SchemaRef schema = conveyor::make_schema(names);
    if (tpl.ok()) render_all(*tpl, *schema, row);
    check_escapes(*schema, row, parser);
    return 0;
}

#include "response_journal.hpp"

#include "conveyor/core/arena.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/exec/journal.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"

namespace conveyor::plugins::http {

std::string request_key(const net::HttpRequest& r) {
    std::string k = r.method;
    k += '\n';
    k += r.url;
    for (const auto& h : r.headers) {
        k += '\n';
        k += h.name;
        k += ':';
        k += h.value;
    }
    k += "\n\n";
    k += r.body;
    return RunJournal::fingerprint(k);
}

std::string encode_response(const net::HttpResponse& r) {
    std::string out = "{\"s\":";
    json::append_int(out, r.status);
    out += ",\"r\":";
    json::append_string(out, r.reason);
    out += ",\"h\":[";
    for (std::size_t i = 0; i < r.headers.size(); ++i) {
        if (i) out += ',';
        out += '[';
        json::append_string(out, r.headers[i].name);
        out += ',';
        json::append_string(out, r.headers[i].value);
        out += ']';
    }
    out += "],\"b\":";
    json::append_string(out, r.body);
    out += '}';
    return out;
}

std::optional<net::HttpResponse> decode_response(const std::string& text) {
    json::Parser parser;
    Arena arena;
    auto v = parser.parse(text, arena);
    if (!v || v->kind() != Kind::Object) return std::nullopt;
    const Value* s = v->find("s");
    const Value* r = v->find("r");
    const Value* h = v->find("h");
    const Value* b = v->find("b");
    if (!s || s->kind() != Kind::Int || !b || b->kind() != Kind::String || !h ||
        h->kind() != Kind::Array)
        return std::nullopt;
    net::HttpResponse resp;
    resp.status = static_cast<int>(s->as_int());
    if (r && r->kind() == Kind::String) resp.reason = std::string(r->as_string());
    for (const Value& pair : h->as_array()) {
        if (pair.kind() != Kind::Array || pair.as_array().size() != 2) return std::nullopt;
        resp.headers.push_back({std::string(pair.as_array()[0].as_string()),
                                std::string(pair.as_array()[1].as_string())});
    }
    resp.body = std::string(b->as_string());
    return resp;
}

} // namespace conveyor::plugins::http

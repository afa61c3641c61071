#include "request_builder.hpp"

#include "conveyor/format/json_writer.hpp"

#include <string>

namespace conveyor::plugins::http {

namespace {

Status build_per_row(const HttpFetchConfig& cfg, const SchemaInfo& info, const Batch& batch,
                     std::size_t row0, net::HttpRequest& req) {
    const auto row = batch.row(row0);
    if (Status s = info.url.render(row, net::Escape::Url, req.url); !s)
        return fail(ErrorKind::Data, "url: " + s.error().message);
    for (std::size_t i = 0; i < info.headers.size(); ++i) {
        std::string value;
        if (Status s = info.headers[i].render(row, net::Escape::Header, value); !s)
            return fail(ErrorKind::Data,
                        "header " + cfg.headers[i].first + ": " + s.error().message);
        req.headers.push_back({cfg.headers[i].first, std::move(value)});
    }
    if (info.body) {
        if (Status s = info.body->render(row, net::Escape::Json, req.body); !s)
            return fail(ErrorKind::Data, "body: " + s.error().message);
    }
    return {};
}

/// Batch mode: url and headers are literal (checked when the pipeline is loaded); the body's
/// {{ records }} is the group as a JSON array, and without a body the group is the body.
void build_group(const HttpFetchConfig& cfg, const Batch& batch, std::size_t row0, std::size_t n,
                 net::HttpRequest& req) {
    req.url = cfg.url.text();
    for (const auto& [name, tpl] : cfg.headers)
        req.headers.push_back({name, tpl.text()});
    auto append_records = [&](std::string& out) {
        out += '[';
        for (std::size_t k = 0; k < n; ++k) {
            if (k) out += ',';
            json::append_record(out, batch.schema(), batch.row(row0 + k));
        }
        out += ']';
    };
    if (!cfg.body) {
        append_records(req.body);
        return;
    }
    for (const auto& part : cfg.body->parts()) {
        req.body += part.literal;
        if (part.is_placeholder()) append_records(req.body);
    }
}

} // namespace

Status build_request(const HttpFetchConfig& cfg, const SchemaInfo& info, const Batch& batch,
                     std::size_t row0, std::size_t n, net::HttpRequest& req) {
    req.method = cfg.method;
    if (cfg.mode == FetchMode::PerRow) {
        if (Status s = build_per_row(cfg, info, batch, row0, req); !s) return s;
    } else {
        build_group(cfg, batch, row0, n, req);
    }
    if ((cfg.body || cfg.mode == FetchMode::Batch) && !cfg.content_type_given)
        req.headers.push_back({"Content-Type", "application/json"});
    return {};
}

} // namespace conveyor::plugins::http

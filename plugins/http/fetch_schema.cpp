#include "fetch_schema.hpp"

#include <string>
#include <utility>

namespace conveyor::plugins::http {

OutputLayout output_layout(const HttpFetchConfig& cfg, const Schema& in) {
    std::vector<std::string> names = in.names();
    OutputLayout out;
    out.source_column.resize(names.size());
    for (std::size_t i = 0; i < names.size(); ++i)
        out.source_column[i] = i;
    auto place = [&](const std::string& name) {
        if (auto c = in.find(name)) {
            out.source_column[*c] = kNoColumn; // overwritten by the stage
            return *c;
        }
        names.push_back(name);
        out.source_column.push_back(kNoColumn);
        return names.size() - 1;
    };
    out.result_col = place(cfg.result_field);
    if (cfg.response_status) out.status_col = place("response_status");
    if (cfg.response_headers) out.headers_col = place("response_headers");
    out.schema = make_schema(std::move(names));
    return out;
}

std::shared_ptr<const SchemaInfo> SchemaCache::get(const SchemaRef& in) {
    if (auto it = schemas_.find(in.get()); it != schemas_.end()) return it->second;
    if (schemas_.size() >= 64) schemas_.clear();
    auto info = std::make_shared<SchemaInfo>();
    info->input = in;
    info->out = output_layout(cfg_, *in);
    info->url = net::BoundTemplate(cfg_.url, *in);
    if (cfg_.body) info->body.emplace(*cfg_.body, *in);
    for (const auto& [name, tpl] : cfg_.headers)
        info->headers.emplace_back(tpl, *in);
    schemas_.emplace(in.get(), info);
    return info;
}

} // namespace conveyor::plugins::http

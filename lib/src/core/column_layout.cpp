#include "conveyor/core/column_layout.hpp"

#include <algorithm>

namespace conveyor {

ColumnLayout layout_setting(const Schema& in, std::span<const std::string> fields) {
    ColumnLayout m;
    std::vector<std::string> names = in.names();
    for (std::size_t i = 0; i < in.size(); ++i)
        m.source.push_back(i);
    for (const std::string& f : fields) {
        if (auto at = in.find(f)) {
            m.target.push_back(*at);
            continue;
        }
        if (auto it =
                std::find(names.begin() + static_cast<std::ptrdiff_t>(in.size()), names.end(), f);
            it != names.end()) {
            m.target.push_back(static_cast<std::size_t>(it - names.begin()));
            continue;
        }
        m.target.push_back(names.size());
        names.push_back(f);
        m.source.push_back(Batch::npos);
    }
    m.same_schema = names.size() == in.size();
    m.schema = m.same_schema ? nullptr : make_schema(std::move(names));
    return m;
}

} // namespace conveyor

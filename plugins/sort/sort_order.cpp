#include "sort_order.hpp"


namespace conveyor::plugins::sort {

int SortOrder::compare(const Value* a, const Value* b) const {
    for (std::size_t k = 0; k < keys.size(); ++k) {
        const bool na = a[k].is_null();
        const bool nb = b[k].is_null();
        if (na || nb) {
            if (na && nb) continue;
            return na == nulls_last ? 1 : -1;
        }
        int c = compare_values(a[k], b[k], collation);
        if (c == 0) continue;
        return keys[k].descending ? -c : c;
    }
    return 0;
}

} // namespace conveyor::plugins::sort

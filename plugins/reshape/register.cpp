// reshape.wide_to_long and reshape.long_to_wide (Miller's `reshape -i ... -o key,value` and
// `reshape -s key,value`): the option tables and descriptors.

#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "reshape.hpp"

namespace conveyor::plugins::reshape {

namespace {

const OptionTable<WideToLongOptions>& wide_to_long_options() {
    static const auto table =
        OptionTable<WideToLongOptions>()
            .add("columns", &WideToLongOptions::columns,
                 {.description = "The fields that become records, in this order (the others "
                                 "are copied onto each). Or give id_columns.",
                  .example = "[\"jan\", \"feb\", \"mar\"]"})
            .add("id_columns", &WideToLongOptions::id_columns,
                 {.description = "Instead of columns: the fields copied onto each record; every "
                                 "other field becomes a record, in the input's field order.",
                  .example = "[\"id\"]"})
            .add("key_column", &WideToLongOptions::key_column,
                 {.description = "The field that receives the name of the field a record "
                                 "came from.",
                  .min_length = 1})
            .add("value_column", &WideToLongOptions::value_column,
                 {.description = "The field that receives its value.", .min_length = 1})
            .add("skip_nulls", &WideToLongOptions::skip_nulls,
                 {.description = "Make no record for a null value (an empty CSV field). A "
                                 "field a record does not have makes none either way."});
    return table;
}

const OptionTable<LongToWideOptions>& long_to_wide_options() {
    static const auto table =
        OptionTable<LongToWideOptions>()
            .add("key_column", &LongToWideOptions::key_column,
                 {.description = "The field whose values name the new fields (text, a number "
                                 "or a boolean, as written).",
                  .min_length = 1})
            .add("value_column", &LongToWideOptions::value_column,
                 {.description = "The field holding the values of the new fields.",
                  .min_length = 1});
    return table;
}

std::unique_ptr<Stage> build_wide_to_long(BuildContext& ctx, WideToLongOptions o) {
    if (o.columns.empty() == o.id_columns.empty())
        ctx.error(o.columns.empty() ? "columns" : "id_columns",
                  "give either 'columns' (the fields that become records) or 'id_columns' "
                  "(the fields kept on each record, every other one becoming a record)");
    if (o.key_column == o.value_column)
        ctx.error("value_column", "key_column and value_column are both '" + o.key_column +
                                      "': they need names of their own");
    for (const std::string& c : o.columns)
        if (c == o.key_column || c == o.value_column)
            ctx.error("columns", "'" + c +
                                     "' is both a field to turn into records and key_column "
                                     "or value_column");
    if (ctx.failed()) return nullptr;
    return make_wide_to_long(std::move(o));
}

std::unique_ptr<Stage> build_long_to_wide(BuildContext& ctx, LongToWideOptions o) {
    if (o.key_column == o.value_column) {
        ctx.error("value_column", "key_column and value_column are both '" + o.key_column +
                                      "': they need names of their own");
        return nullptr;
    }
    return make_long_to_wide(std::move(o));
}

FunctionDescriptor wide_to_long() {
    FunctionDescriptor fn;
    fn.name = "reshape.wide_to_long";
    fn.role = StageRole::Transform;
    fn.summary = "One record per field of a wide record: the field's name and value (melt)";
    fn.description =
        "Turns each record into one record per field of `columns` (or per field not in "
        "`id_columns`), in that order: the other fields copied, then `key_column` holding the "
        "field's name and `value_column` its value ({\"id\": 1, \"jan\": 3, \"feb\": 4} with "
        "columns = [\"jan\", \"feb\"] becomes {\"id\": 1, \"key\": \"jan\", \"value\": 3} and "
        "{\"id\": 1, \"key\": \"feb\", \"value\": 4}), as Miller's reshape -i ... -o key,value "
        "or pandas' melt. A field a record lacks makes no record; a null value makes one unless "
        "skip_nulls = true. It streams. reshape.long_to_wide is the way back.";
    fn.options = wide_to_long_options().specs();
    fn.factory = bind_options(wide_to_long_options(), build_wide_to_long);
    return fn;
}

FunctionDescriptor long_to_wide() {
    FunctionDescriptor fn;
    fn.name = "reshape.long_to_wide";
    fn.role = StageRole::Transform;
    fn.summary = "One wide record per group of key/value records (pivot; spills beyond its memory)";
    fn.description =
        "Records that have the same values in every field but `key_column` and `value_column` "
        "become one record: those fields, then one field per distinct key, named by the key's "
        "value and holding the value ({\"id\": 1, \"key\": \"jan\", \"value\": 3} and {\"id\": "
        "1, \"key\": \"feb\", \"value\": 4} become {\"id\": 1, \"jan\": 3, \"feb\": 4}), as "
        "Miller's reshape -s key,value. Every output record has every key of the input, in the "
        "order they first appeared (null where its group had none), so CSV output gets one "
        "header; records come in the order of their group's first record. A key seen twice in "
        "a group keeps the last value. A record without the key, or whose key is null, a list, "
        "an object, empty or the name of one of its other fields, is a record error (the "
        "stage's error strategy decides). Groups are held up to the stage's share of [global] "
        "memory_limit; beyond it records spill to hash partitions under state_dir/spill, each "
        "grouped on its own at the end. A run with it takes no checkpoints: --resume reads its "
        "input again.";
    fn.options = long_to_wide_options().specs();
    fn.needs_whole_input = true;
    fn.factory = bind_options(long_to_wide_options(), build_long_to_wide);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::reshape

namespace conveyor::plugins {

void register_reshape(Registry& registry) {
    registry.add("reshape.long_to_wide", reshape::long_to_wide);
    registry.add("reshape.wide_to_long", reshape::wide_to_long);
}

} // namespace conveyor::plugins

// The function library of the expression language, put together. Each function gets its
// evaluated arguments; if and coalesce are lazy (eval.cpp evaluates their arguments itself)
// and have no impl. Null in, null out, unless the function is about nulls; a value of the
// wrong kind is a record error naming the function. The functions themselves are in
// functions_text.cpp, functions_text_cut.cpp, functions_number.cpp, functions_math.cpp,
// functions_time.cpp and functions_digest.cpp; Miller's names for them are here.

#include "function_args.hpp"

#include <vector>

namespace conveyor::expr {

namespace {

std::span<const Function> lazy_functions() noexcept {
    static const Function kTable[] = {
        {{"if", "if(condition, then, else)",
          "then when the condition is true, else otherwise (null counts as false)"},
         3,
         3,
         Type::Any,
         -1,
         nullptr},
        {{"coalesce", "coalesce(a, b, ...)", "the first non-null argument"},
         1,
         kAnyArgs,
         Type::Any,
         -1,
         nullptr},
    };
    return kTable;
}

/// Every function, in the order they are listed.
const std::vector<const Function*>& all_functions() {
    static const std::vector<const Function*> all = [] {
        std::vector<const Function*> v;
        for (const std::span<const Function> part :
             {text_functions(), text_cut_functions(), number_functions(), math_functions(),
              lazy_functions(), time_functions(), digest_functions()})
            for (const Function& f : part)
                v.push_back(&f);
        return v;
    }();
    return all;
}

const std::vector<FunctionInfo>& infos() {
    static const std::vector<FunctionInfo> all = [] {
        std::vector<FunctionInfo> v;
        for (const Function* f : all_functions())
            v.push_back(f->info);
        return v;
    }();
    return all;
}

/// Only where Miller's function does what ours does, with its arguments in the same places
/// (strptime_local is not parse_time: its third argument is the zone).
constexpr FunctionAlias kAliases[] = {
    {"toupper", "upper"},
    {"tolower", "lower"},
    {"strlen", "len"},
    {"strip", "trim"},
    {"sub", "regex_replace_first"},
    {"gsub", "regex_replace"},
    {"ssub", "replace_first"},
    {"regextract", "regex_extract"},
    {"splitax", "split"},
    {"fmtnum", "format_number"},
    {"strftime", "format_time"},
    {"strftime_local", "format_time"},
    {"strptime", "parse_time"},
    {"sec2gmt", "format_time"},
    {"gmt2sec", "parse_time"},
    {"systime", "now"},
    {"strrev", "reverse"},
    {"boolean", "bool"},
};

} // namespace

const Function* find_function(std::string_view name) noexcept {
    for (const Function* f : all_functions())
        if (f->info.name == name) return f;
    for (const FunctionAlias& a : kAliases)
        if (a.alias == name) return find_function(a.name);
    return nullptr;
}

std::span<const FunctionAlias> function_aliases() noexcept {
    return kAliases;
}

std::span<const FunctionInfo> functions() noexcept {
    return infos();
}

} // namespace conveyor::expr

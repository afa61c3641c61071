#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor::net {

/// How a value is put into the text around it.
enum class Escape : std::uint8_t {
    /// Percent-encoded (RFC 3986 unreserved kept, everything else %XX): a value can never change
    /// the path or query structure of the URL. null and missing values are errors.
    Url,
    /// JSON: a string is inserted as escaped content without quotes (the template supplies
    /// them); numbers and booleans as their text, null as `null`, arrays/objects as compact JSON.
    Json,
    /// Raw text for an HTTP header value; a value containing CR, LF or NUL is an error (header
    /// injection), as is null.
    Header,
    /// One file name's worth of a path (split outputs): '/', '\\', '%', control characters and
    /// the characters shells and Windows trip on are percent-encoded (%2F ...), as is a leading
    /// '.' (so no value makes "..", "." or a hidden file); bytes of UTF-8 above ASCII are kept.
    /// null is `__null__`, the empty string `__empty__`; a value of more than 200 bytes is an
    /// error.
    FileName,
};

/// A text with `{{ name }}` placeholders (`{{name}}` too; `{{ user.name }}` reaches into nested
/// objects, `{{ items.0 }}` into arrays). Parsed once when the pipeline is loaded; immutable.
class Template {
public:
    struct Part {
        std::string literal;           ///< text before the placeholder
        std::string name;              ///< empty for the final literal-only part
        std::vector<std::string> path; ///< name split on '.'
        std::size_t offset = 0;        ///< byte offset of "{{" in the template
        [[nodiscard]] bool is_placeholder() const noexcept { return !name.empty(); }
    };

    /// Errors (ErrorKind::Config) say what is wrong and at which byte ("... (at byte 9)"):
    /// `{{` without `}}`, an empty name, a name with spaces, block helpers like `{{#each}}`.
    static Result<Template> parse(std::string_view text);

    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    [[nodiscard]] const std::vector<Part>& parts() const noexcept { return parts_; }
    [[nodiscard]] bool has_placeholders() const noexcept;
    /// The placeholder names, in order of first use.
    [[nodiscard]] std::vector<std::string> names() const;
    /// The placeholder names that no column of `schema` gives (by BoundTemplate's rule: the
    /// longest dotted prefix of the name that is a column), in order of first use.
    [[nodiscard]] std::vector<std::string> names_missing_from(const Schema& schema) const;
    /// The literal text before the first placeholder (the whole text when there is none).
    [[nodiscard]] std::string_view literal_prefix() const noexcept;

private:
    std::string text_;
    std::vector<Part> parts_;
};

/// A template's placeholders resolved against one schema (cache it per schema pointer): each
/// placeholder becomes a column plus a member path below it. `a.b` names column "a.b" when the
/// schema has one, else member "b" of column "a".
class BoundTemplate {
public:
    BoundTemplate() = default;
    BoundTemplate(const Template& tpl, const Schema& schema);

    /// Appends the rendering of `row`. A placeholder whose field is missing (or absent) is an
    /// error (ErrorKind::Data) naming the field - never an empty string. With Escape::Url the
    /// template is a whole URL: a path segment that is exactly "." or ".." and comes (partly)
    /// from a value is sent as "%2E" / "%2E%2E", so no value can move the request up or along
    /// the path; dot segments written in the template itself are kept.
    Status render(std::span<const Value> row, Escape escape, std::string& out) const;

private:
    /// render() without the URL post-processing; when `dot_values` is not null, adds the byte
    /// range of `out` of each value made only of dots.
    Status render_parts(std::span<const Value> row, Escape escape, std::string& out,
                        std::vector<std::pair<std::size_t, std::size_t>>* dot_values) const;

    struct Slot {
        std::size_t column = static_cast<std::size_t>(-1);
        std::size_t path_from = 0; ///< first element of Part::path below the column
    };
    const Template* tpl_ = nullptr;
    std::vector<Slot> slots_; ///< one per part
};

/// Appends `v` escaped for `escape`; `name` names the field in errors.
Status append_escaped(std::string& out, const Value& v, Escape escape, std::string_view name);

} // namespace conveyor::net
